/**
 * Backends that answer inside the proxy (Echo, DirectResponse): the same dispatch() and sink callbacks as an
 * UpstreamCluster, so the pipeline does not know the difference. The request body is read to the end and thrown
 * away chunk by chunk (memory stays flat; its size is bounded by the proxy's body limit); answering before the
 * client finished sending would cost it the connection.
 */
import { isPorticoError } from '@portico/errors';
import {
  type CallHandle,
  type ClusterRequest,
  type ResponseSink,
  UpstreamAbortedError,
  UpstreamError,
} from '@portico/upstream';
import type { BackendHandler } from './kind.ts';

function discard(): void {}

/** The answer of an in-process backend, made once the request body has been read. */
export interface InProcessAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

class InProcessCall implements CallHandle {
  readonly #req: ClusterRequest;
  readonly #sink: ResponseSink;
  readonly #answerOf: (req: ClusterRequest) => InProcessAnswer;
  readonly #where: { cluster: string };
  #done = false;
  #paused = false;

  constructor(
    req: ClusterRequest,
    sink: ResponseSink,
    where: { cluster: string },
    answerOf: (req: ClusterRequest) => InProcessAnswer,
  ) {
    this.#req = req;
    this.#sink = sink;
    this.#where = where;
    this.#answerOf = answerOf;
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
          ? new UpstreamError(err.code, err.status, err.message, this.#where, { cause: err })
          : new UpstreamError('PORTICO_ERR_PROXY_BAD_REQUEST', 400, 'the request body broke off', this.#where, {
              cause: err,
            }),
      );
    });
    body.resume();
  }

  #answer(): void {
    if (this.#done) return;
    const { status, headers, body } = this.#answerOf(this.#req);
    const go = this.#sink.onResponseStart(status, { ...headers, 'content-length': String(body.length) }, this);
    if (go === false || this.#done) return;
    this.#paused = body.length > 0 && !this.#sink.onResponseData(body);
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
    this.#fail(new UpstreamAbortedError(this.#where));
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#end();
  }
}

/** A backend answering `answerOf(request)` in-process; `name` is what errors and logs call it. */
export function inProcessBackend(name: string, answerOf: (req: ClusterRequest) => InProcessAnswer): BackendHandler {
  const where = { cluster: name };
  return {
    dispatch(req: ClusterRequest, sink: ResponseSink): CallHandle {
      const call = new InProcessCall(req, sink, where, answerOf);
      call.start();
      return call;
    },
  };
}
