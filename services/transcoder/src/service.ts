/**
 * The transcoder service (`portico transcoder --nats URL`): the data plane's RPC backends (kinds Grpc and Dubbo) in a process
 * of their own, for teams that deploy transcoding apart from the front proxy. It reads the same config; a front
 * proxy started with `transcoder: host:port` sends it the requests of Grpc and Dubbo backendRefs as they came (Host and
 * path kept), and it matches them to the same rules and transcodes them. Policies ran at the front proxy, so none
 * run here; it is an internal hop, listening on loopback unless told otherwise.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ConfigState } from '@portico/bus';
import {
  ClusterSet,
  compileSnapshot,
  createRequestHandler,
  type HandlerContext,
  type Snapshot,
} from '@portico/dataplane';
import { accessLogWriter } from '@portico/observability';
import type { RunningService, Service } from '@portico/runtime';

export interface TranscoderServiceOptions {
  /** 0 = any free port. */
  port: number;
  /** Default 127.0.0.1: only the front proxy calls it. */
  host?: string;
  /** One access line per request (info). Default true. */
  accessLog?: boolean;
  /** How long close() waits for requests in flight. Default 10 s. */
  drainMs?: number;
}

export interface RunningTranscoder extends RunningService {
  readonly port: number;
}

/** Request bodies are JSON messages: the proxy's 16 MiB limit, as at the edge. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

export const transcoderService: Service<TranscoderServiceOptions, RunningTranscoder> = {
  name: 'transcoder',
  async start({ bus, logger, metrics, port, host = '127.0.0.1', accessLog = true, drainMs = 10_000 }) {
    const clusters = new ClusterSet();
    let snapshot: Snapshot | undefined;
    const apply = (state: ConfigState) => {
      try {
        snapshot = compileSnapshot(state, clusters, metrics);
      } catch (err) {
        logger.error({ err, revision: state.revision }, 'config rejected by the transcoder; keeping the running one');
      }
    };
    const watch = await bus.watch(apply);
    const ctx: HandlerContext = {
      current: () => snapshot!,
      logger,
      accessLog: accessLog ? accessLogWriter(logger) : undefined,
      maxBodyBytes: MAX_BODY_BYTES,
      unrouted: metrics.forRoute('', ''),
      // The peer is the front proxy; its forwarding headers go nowhere (gRPC metadata carries none of them).
      trustedProxies: undefined,
    };
    let bound = 0;
    const server: Server = createServer(
      // Every listener has timeouts: a head in 15 s, a whole request in 120 s, keep-alive 5 s.
      { headersTimeout: 15_000, requestTimeout: 120_000, keepAliveTimeout: 5_000 },
      createRequestHandler(ctx, {
        scheme: 'http',
        get port() {
          return bound;
        },
      }),
    );
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    bound = (server.address() as AddressInfo).port;
    let closing: Promise<void> | undefined;
    return {
      port: bound,
      ready: () => closing === undefined && snapshot !== undefined,
      close() {
        closing ??= (async () => {
          const closed = new Promise<void>((resolve) => server.close(() => resolve()));
          server.closeIdleConnections();
          await Promise.race([closed, new Promise<void>((r) => setTimeout(r, drainMs).unref())]);
          server.closeAllConnections();
          watch.stop();
          await clusters.close();
        })();
        return closing;
      },
    };
  },
};
