/**
 * The built-in Echo backend (`backendRefs: [{kind: Echo, name: echo}]`): answers 200 JSON
 * `{method, path, query, headers}` with the exact request head the proxy would send upstream (after the forwarding
 * fields and the rule's filters). For demos and for "what would my backend receive".
 */
import type { ClusterRequest, Headers } from '@portico/upstream';
import { inProcessBackend } from '../in-process.ts';
import type { BackendKindModule } from '../kind.ts';

export interface EchoReply {
  method: string;
  path: string;
  query: Record<string, string | string[]>;
  headers: Record<string, string | string[]>;
}

/** The request as the backend would see it: path and query apart, repeated fields as arrays. */
export function echoReply(req: ClusterRequest): EchoReply {
  const q = req.path.indexOf('?');
  const query: Record<string, string | string[]> = {};
  if (q !== -1)
    for (const [k, v] of new URLSearchParams(req.path.slice(q + 1))) {
      const prev = query[k];
      query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
  const headers: Record<string, string | string[]> = {};
  const add = (name: string, value: string) => {
    const prev = headers[name];
    headers[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  };
  if (Array.isArray(req.headers))
    for (let i = 0; i < req.headers.length; i += 2) add(req.headers[i]!.toLowerCase(), req.headers[i + 1]!);
  else
    for (const [name, value] of Object.entries(req.headers as Headers))
      for (const v of Array.isArray(value) ? value : [value]) add(name.toLowerCase(), v);
  return { method: req.method, path: q === -1 ? req.path : req.path.slice(0, q), query, headers };
}

const echo = inProcessBackend('echo', (req) => ({
  status: 200,
  headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  body: Buffer.from(JSON.stringify(echoReply(req))),
}));

/** Stateless: one handler shared by every rule and snapshot. */
export const echoKind: BackendKindModule = {
  kind: 'Echo',
  compile: () => ({ handler: echo }),
};
