/** RequestHeaderModifier: set, add and remove fields of the upstream request head. */
import type { FilterModule } from '../filter.ts';
import { compileHeadListModifier } from '../header-edit.ts';

export const requestHeaderModifier: FilterModule<'RequestHeaderModifier'> = {
  type: 'RequestHeaderModifier',
  compile(filter) {
    const edit = compileHeadListModifier(filter.requestHeaderModifier);
    return { forward: (fwd) => edit(fwd.headers) };
  },
};
