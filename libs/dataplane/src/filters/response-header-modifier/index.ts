/** ResponseHeaderModifier: set, add and remove fields of the response head the client gets. */
import type { FilterModule } from '../filter.ts';
import { compileHeaderModifier } from '../header-edit.ts';

export const responseHeaderModifier: FilterModule<'ResponseHeaderModifier'> = {
  type: 'ResponseHeaderModifier',
  compile(filter) {
    return { response: compileHeaderModifier(filter.responseHeaderModifier) };
  },
};
