/**
 * The built-in Echo backend (`backendRefs: [{kind: Echo, name: echo}]`): answers 200 JSON
 * `{method, path, query, headers}` with the exact request head the proxy would send upstream (after the forwarding
 * fields and the rule's filters). For demos and for "what would my backend receive". In-process: it has the same
 * dispatch() as an UpstreamCluster, so the request path does not know the difference. The body is read and
 * thrown away chunk by chunk (memory stays flat); its size is bounded by the proxy's body limit, as for any backend.
 */
import { isPorticoError } from '@portico/errors';
import {
  type CallHandle,
  type ClusterRequest,
  type Headers,
  type ResponseSink,
  UpstreamAbortedError,
  UpstreamError,
} from '@portico/upstream';

const WHERE = { cluster: 'echo' };

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

function discard(): void {}

class EchoCall implements CallHandle {
  readonly #req: ClusterRequest;
  readonly #sink: ResponseSink;
  #done = false;
  #paused = false;

  constructor(req: ClusterRequest, sink: ResponseSink) {
    this.#req = req;
    this.#sink = sink;
  }

  start(): void {
    const body = this.#req.body;
    // Answer on a later tick either way: the caller keeps the handle dispatch() returns before any callback.
    if (body === null) {
      setImmediate(() => this.#answer());
      return;
    }
    // Read to the end and dropped: answering before the client finished sending would cost it the connection.
    body.on('data', discard);
    body.once('end', () => this.#answer());
    body.once('error', (err) => {
      if (this.#done) return;
      // A body the proxy refused (too large) keeps its code and status; anything else is the client's fault.
      this.#fail(
        isPorticoError(err)
          ? new UpstreamError(err.code, err.status, err.message, WHERE, { cause: err })
          : new UpstreamError('PORTICO_ERR_PROXY_BAD_REQUEST', 400, 'the request body broke off', WHERE, {
              cause: err,
            }),
      );
    });
    body.resume();
  }

  #answer(): void {
    if (this.#done) return;
    const json = Buffer.from(JSON.stringify(echoReply(this.#req)));
    const go = this.#sink.onResponseStart(
      200,
      { 'content-type': 'application/json', 'content-length': String(json.length), 'cache-control': 'no-store' },
      this,
    );
    if (go === false || this.#done) return;
    this.#paused = !this.#sink.onResponseData(json);
    if (!this.#paused) this.#end();
  }

  #end(): void {
    if (this.#done) return;
    this.#done = true;
    this.#sink.onResponseEnd({});
  }

  #fail(err: UpstreamError): void {
    this.#done = true;
    this.#sink.onResponseError(err);
  }

  abort(): void {
    if (this.#done) return;
    this.#req.body?.destroy();
    this.#fail(new UpstreamAbortedError(WHERE));
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#end();
  }
}

/** The one Echo backend: stateless, shared by every rule and snapshot. */
export const echoBackend = {
  dispatch(req: ClusterRequest, sink: ResponseSink): CallHandle {
    const call = new EchoCall(req, sink);
    call.start();
    return call;
  },
};
