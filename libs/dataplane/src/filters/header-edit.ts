/** Header edits of the header-modifier filters, compiled once per snapshot. */
import { type HeaderModifier, PROXY_OWNED_REQUEST_HEADERS } from '@portico/config';
import type { HeaderMap } from '../forwarding.ts';

export type HeaderEdit = (headers: HeaderMap) => void;
export type HeadListEdit = (list: string[]) => void;

/**
 * The same edit on a flat [name, value, ...] list (the upstream request head). Fields the proxy owns (Via,
 * X-Forwarded-*, framing) are left alone: config validation refuses them, and this keeps it so whatever the input.
 */
export function compileHeadListModifier(mod: HeaderModifier): HeadListEdit {
  const own = (name: string) => !PROXY_OWNED_REQUEST_HEADERS.has(name);
  const set = (mod.set ?? []).map((h) => [h.name.toLowerCase(), h.value] as const).filter(([n]) => own(n));
  const add = (mod.add ?? []).map((h) => [h.name.toLowerCase(), h.value] as const).filter(([n]) => own(n));
  const drop = new Set([...(mod.remove ?? []).map((n) => n.toLowerCase()).filter(own), ...set.map(([n]) => n)]);
  return (list) => {
    let w = 0;
    for (let r = 0; r < list.length; r += 2) {
      if (drop.has(list[r]!.toLowerCase())) continue;
      list[w++] = list[r]!;
      list[w++] = list[r + 1]!;
    }
    list.length = w;
    for (const [name, value] of set) list.push(name, value);
    for (const [name, value] of add) {
      const at = list.findIndex((n, i) => i % 2 === 0 && n.toLowerCase() === name);
      if (at === -1) list.push(name, value);
      else list[at + 1] = `${list[at + 1]},${value}`;
    }
  };
}

/** set replaces, add appends (comma-joined, as the Gateway API examples show), remove deletes; names are case-insensitive. */
export function compileHeaderModifier(mod: HeaderModifier): HeaderEdit {
  const set = (mod.set ?? []).map((h) => [h.name.toLowerCase(), h.value] as const);
  const add = (mod.add ?? []).map((h) => [h.name.toLowerCase(), h.value] as const);
  const remove = (mod.remove ?? []).map((n) => n.toLowerCase());
  return (headers) => {
    for (const [name, value] of set) headers[name] = value;
    for (const [name, value] of add) {
      const existing = headers[name];
      headers[name] =
        existing === undefined ? value : `${Array.isArray(existing) ? existing.join(',') : existing},${value}`;
    }
    for (const name of remove) delete headers[name];
  };
}
