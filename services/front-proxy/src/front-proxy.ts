/**
 * The front proxy: listeners (HTTP/1.1 and h2c on one port, TLS with ALPN h2/http1.1 on another), a routing
 * snapshot swapped atomically on every config change, and graceful shutdown.
 */
import { channel } from 'node:diagnostics_channel';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import {
  createServer as createH2Server,
  createSecureServer,
  type Http2SecureServer,
  type Http2Server,
  type Http2Session,
} from 'node:http2';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ConfigBus, ConfigState } from '@portico/bus';
import type { Logger, ProxyMetrics } from '@portico/observability';
import { BadRequestError, HeadersTooLargeError } from './errors.ts';
import { createRequestHandler, type HandlerContext } from './handler.ts';
import { ClusterSet, compileSnapshot, type Snapshot } from './snapshot.ts';
import { buildCertificateStore, type CertificateStore } from './tls.ts';
import { createUpgradeHandler } from './upgrade.ts';

export const CONFIG_APPLIED_CHANNEL = 'portico:proxy:config-applied';
export const CONFIG_REJECTED_CHANNEL = 'portico:proxy:config-rejected';
const configApplied = channel(CONFIG_APPLIED_CHANNEL);
const configRejected = channel(CONFIG_REJECTED_CHANNEL);

export interface FrontProxyOptions {
  bus: ConfigBus;
  port: number;
  host?: string;
  /** HTTPS (HTTP/2 and HTTP/1.1 by ALPN) with certificates from Certificate resources. */
  tlsPort?: number;
  logger: Logger;
  metrics: ProxyMetrics;
  accessLog?: boolean;
  /** Largest request body accepted (413 above). Default 16 MiB. */
  maxBodyBytes?: number;
  /** Largest request head accepted (431 above). Default 16 KiB. */
  maxHeaderBytes?: number;
  /** How long close() waits for in-flight requests. Default 10 s. */
  drainMs?: number;
  /**
   * Bind with SO_REUSEPORT so several worker processes share the ports and the kernel spreads connections
   * between them (each worker binds its own socket; no primary in the accept path).
   */
  reusePort?: boolean;
}

export interface FrontProxy {
  readonly port: number;
  readonly tlsPort: number | undefined;
  isReady(): boolean;
  /** The revision of the config the proxy routes by now. */
  revision(): number;
  close(): Promise<void>;
}

const DEFAULTS = {
  host: '0.0.0.0',
  accessLog: true,
  maxBodyBytes: 16 * 1024 * 1024,
  maxHeaderBytes: 16 * 1024,
  drainMs: 10_000,
};
const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n');

function checkOptions(opts: FrontProxyOptions): void {
  const port = (name: string, v: number | undefined, optional: boolean) => {
    if (v === undefined && optional) return;
    if (!Number.isInteger(v) || v! < 0 || v! > 65535)
      throw new TypeError(`${name} must be an integer port 0-65535, got ${v}`);
  };
  port('port', opts.port, false);
  port('tlsPort', opts.tlsPort, true);
  if (opts.maxBodyBytes !== undefined && !(opts.maxBodyBytes > 0)) throw new TypeError('maxBodyBytes must be > 0');
  if (opts.maxHeaderBytes !== undefined && !(opts.maxHeaderBytes >= 1024))
    throw new TypeError('maxHeaderBytes must be >= 1024');
}

/** A malformed request never reaches a backend: the parser's verdict becomes a JSON 400/431. */
function onClientError(err: NodeJS.ErrnoException & { bytesParsed?: number }, socket: Duplex): void {
  if (!socket.writable || err.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const error =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? new HeadersTooLargeError()
      : new BadRequestError(`malformed request: ${err.message}`, [
          { path: 'request', message: err.code ?? 'parse error' },
        ]);
  const body = JSON.stringify(error.toJSON());
  socket.end(
    `HTTP/1.1 ${error.status} ${error.status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
      `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

function listen(
  server: NetServer | Http2SecureServer,
  port: number,
  host: string,
  reusePort: boolean,
): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    // exclusive: in a cluster worker, bind here rather than through the primary's shared handle.
    server.listen({ port, host, reusePort, exclusive: reusePort }, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : port);
    });
  });
}

export async function startFrontProxy(options: FrontProxyOptions): Promise<FrontProxy> {
  checkOptions(options);
  const opts = { ...DEFAULTS, ...options };
  const { logger, metrics } = opts;
  const clusters = new ClusterSet();
  let snapshot: Snapshot | undefined;
  let certificates: CertificateStore = buildCertificateStore([]);

  const apply = (state: ConfigState): void => {
    const started = performance.now();
    try {
      const next = compileSnapshot(state, clusters, metrics);
      certificates = buildCertificateStore(next.certificates);
      // Clients that send no SNI get the default certificate.
      if (tlsServer !== undefined && certificates.defaultPems !== undefined)
        tlsServer.setSecureContext(certificates.defaultPems);
      snapshot = next;
      if (configApplied.hasSubscribers)
        configApplied.publish({
          revision: next.revision,
          rules: next.table.size,
          durationMs: performance.now() - started,
          certificateErrors: certificates.errors,
        });
    } catch (err) {
      // The running snapshot stays; the bus already validated, so this is a compile bug worth a loud log.
      if (configRejected.hasSubscribers) configRejected.publish({ revision: state.revision, error: err });
      logger.error({ err, revision: state.revision }, 'config rejected by the proxy; keeping the running snapshot');
    }
  };

  const ctx: HandlerContext = {
    current: () => snapshot!,
    logger,
    // Decided once: building the log object per request costs even when the level drops it.
    accessLog: opts.accessLog && logger.isLevelEnabled('info'),
    maxBodyBytes: opts.maxBodyBytes,
  };

  // Port 1: HTTP/1.1 and h2c (prior knowledge), told apart by the connection preface.
  let plainPort = opts.port;
  const http1 = createHttpServer({
    maxHeaderSize: opts.maxHeaderBytes,
    requestTimeout: 0,
    keepAliveTimeout: 5_000,
    // The handler answers a missing Host with a JSON 400 instead of Node's empty one.
    requireHostHeader: false,
  });
  const h2c: Http2Server = createH2Server({ maxSessionMemory: 64 });
  const plain = createNetServer((socket: Socket) => {
    socket.once('data', (first: Buffer) => {
      socket.pause();
      socket.unshift(first);
      const isH2 = first.length >= H2_PREFACE.length && first.subarray(0, H2_PREFACE.length).equals(H2_PREFACE);
      if (isH2) {
        // http2 takes over the socket's handle and reads the unshifted preface from the buffer itself.
        h2c.emit('connection', socket);
      } else {
        http1.emit('connection', socket);
        socket.resume();
      }
    });
    socket.on('error', () => socket.destroy());
  });
  const plainHandler = createRequestHandler(ctx, {
    scheme: 'http',
    get port() {
      return plainPort;
    },
  });
  http1.on('request', plainHandler as (req: IncomingMessage, res: ServerResponse) => void);
  http1.on('upgrade', createUpgradeHandler(ctx, 'http'));
  http1.on('clientError', onClientError);
  h2c.on('request', plainHandler);

  // Port 2: TLS, ALPN picks h2 or http/1.1; certificates by SNI.
  let tlsServer: Http2SecureServer | undefined;
  let tlsPort: number | undefined;
  const sessions = new Set<Http2Session>();
  h2c.on('session', (s: Http2Session) => track(sessions, s));

  await opts.bus.watch(apply);
  if (snapshot === undefined) throw new Error('the config bus delivered no initial state');

  if (opts.tlsPort !== undefined) {
    tlsServer = createSecureServer({
      ...certificates.defaultPems,
      allowHTTP1: true,
      ALPNProtocols: ['h2', 'http/1.1'],
      maxHeaderSize: opts.maxHeaderBytes,
      SNICallback: (servername, cb) => cb(null, certificates.lookup(servername)),
    } as Parameters<typeof createSecureServer>[0]);
    const tlsHandler = createRequestHandler(ctx, {
      scheme: 'https',
      get port() {
        return tlsPort ?? 443;
      },
    });
    tlsServer.on('request', tlsHandler);
    tlsServer.on('upgrade', createUpgradeHandler(ctx, 'https'));
    tlsServer.on('session', (s: Http2Session) => track(sessions, s));
    tlsServer.on('tlsClientError', () => {});
    tlsPort = await listen(tlsServer, opts.tlsPort, opts.host, opts.reusePort === true);
  }
  plainPort = await listen(plain, opts.port, opts.host, opts.reusePort === true);

  let closing: Promise<void> | undefined;
  return {
    port: plainPort,
    tlsPort,
    isReady: () => snapshot !== undefined && closing === undefined,
    revision: () => snapshot?.revision ?? 0,
    close() {
      closing ??= (async () => {
        const stopped = [plain, ...(tlsServer ? [tlsServer] : [])].map(
          (s) => new Promise<void>((resolve) => s.close(() => resolve())),
        );
        for (const s of sessions) s.close();
        http1.closeIdleConnections();
        const drained = Promise.all(stopped);
        const timeout = new Promise<void>((resolve) => setTimeout(resolve, opts.drainMs).unref());
        await Promise.race([drained, timeout]);
        http1.closeAllConnections();
        for (const s of sessions) s.destroy();
        await clusters.close();
      })();
      return closing;
    },
  };
}

function track(sessions: Set<Http2Session>, session: Http2Session): void {
  sessions.add(session);
  session.once('close', () => sessions.delete(session));
}
