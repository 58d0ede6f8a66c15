/**
 * DirectResponse (`backendRefs: [{kind: DirectResponse, name: maintenance}]`): answers with the status, headers
 * and body of the DirectResponse resource of that name, without calling any upstream: maintenance pages, a
 * `410 Gone` for a retired API, a static robots.txt or health answer at the edge. The answer is built once per
 * snapshot.
 */
import { inProcessBackend } from '../in-process.ts';
import type { BackendKindModule } from '../kind.ts';

export const directResponseKind: BackendKindModule = {
  kind: 'DirectResponse',
  compile(ref, env) {
    const resource = env.state.get('DirectResponse').get(ref.name);
    if (resource === undefined) return undefined;
    const { status, contentType, body, headers } = resource.spec;
    const answer = {
      status,
      headers: {
        ...Object.fromEntries((headers ?? []).map((h) => [h.name.toLowerCase(), h.value])),
        'content-type': contentType,
      },
      body: Buffer.from(body, 'utf8'),
    };
    return { handler: inProcessBackend(`direct-response/${ref.name}`, () => answer) };
  },
};
