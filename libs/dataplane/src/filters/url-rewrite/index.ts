/** URLRewrite: the upstream request's path (full or matched prefix) and Host; X-Forwarded-Host keeps the client's. */
import type { FilterModule } from '../filter.ts';
import { rewritePath } from './rewrite-path.ts';

export const urlRewrite: FilterModule<'URLRewrite'> = {
  type: 'URLRewrite',
  compile(filter) {
    const { hostname, path } = filter.urlRewrite;
    return {
      forward(fwd, ex) {
        if (path !== undefined) fwd.path = rewritePath(fwd.path, path, ex.resolved.match.matchedPrefix);
        if (hostname !== undefined) setField(fwd.headers, 'host', hostname);
      },
    };
  },
};

/** Replaces the value of a field the proxy wrote once (lower-case name) in a flat [name, value, ...] head. */
function setField(list: string[], name: string, value: string): void {
  for (let i = list.length - 2; i >= 0; i -= 2) {
    if (list[i] === name) {
      list[i + 1] = value;
      return;
    }
  }
  list.push(name, value);
}
