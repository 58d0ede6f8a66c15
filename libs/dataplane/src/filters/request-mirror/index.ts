/**
 * RequestMirror: sends a copy of the upstream request (as the filters before this one left it) to another
 * Service, for `percent` of requests, and throws its answer away. The client only ever sees the primary's answer.
 */
import { PassThrough, pipeline, type Readable, Transform } from 'node:stream';
import type { ResponseSink } from '@portico/upstream';
import type { FilterModule } from '../filter.ts';

export const requestMirror: FilterModule<'RequestMirror'> = {
  type: 'RequestMirror',
  compile(filter, env) {
    const { backendRef, percent } = filter.requestMirror;
    const cluster = env.cluster(backendRef);
    // A mirror to a Service that does not exist mirrors nothing; the primary is not affected.
    if (cluster === undefined) return {};
    return {
      forward(fwd, ex) {
        if (percent < 100 && Math.random() * 100 >= percent) return;
        let copy: PassThrough | null = null;
        if (fwd.body !== null) {
          copy = new PassThrough();
          fwd.body = teeBody(fwd.body, copy);
        }
        const path = fwd.query === '' ? fwd.path : `${fwd.path}?${fwd.query}`;
        cluster.dispatch(
          { method: fwd.method, path, headers: fwd.headers.slice(), body: copy, clientKey: ex.client },
          discardSink,
        );
      },
    };
  },
};

/** A mirror may fall this far behind the primary before its copy is dropped (it must never slow the primary). */
const MIRROR_MAX_BUFFER = 1024 * 1024;

/**
 * The primary reads the body through a pass-through stream that writes each chunk to the mirror's copy as well.
 * Backpressure comes from the primary only; a mirror that lags too far is cut off (its request fails, not ours).
 */
function teeBody(body: Readable, copy: PassThrough): Readable {
  const tee = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (!copy.destroyed) {
        if (copy.writableLength > MIRROR_MAX_BUFFER) copy.destroy(new Error('mirror fell behind; copy dropped'));
        else copy.write(chunk);
      }
      callback(null, chunk);
    },
    flush(callback) {
      copy.end();
      callback();
    },
  });
  pipeline(body, tee, (err) => {
    if (err) copy.destroy(err);
  });
  return tee;
}

const discardSink: ResponseSink = {
  onResponseStart: () => true,
  onResponseData: () => true,
  onResponseEnd: () => {},
  onResponseError: () => {},
};
