/**
 * The front proxy: listeners (HTTP/1.1 and h2c on one port, TLS with ALPN h2/http1.1 on another), a routing
 * snapshot swapped atomically on every config change, and graceful shutdown.
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import {
  createServer as createH2Server,
  createSecureServer,
  type Http2SecureServer,
  type Http2Server,
  type Http2Session,
} from 'node:http2';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { ConfigBus, ConfigState } from '@portico/bus';
import {
  ClusterSet,
  compileSnapshot,
  createRequestHandler,
  createUpgradeHandler,
  type HandlerContext,
  type Listener,
  type PathPolicy,
  type PolicySource,
  proxyChannels,
  resolvePathPolicy,
  type Snapshot,
  shouldUpgrade,
  trustedProxiesFrom,
} from '@portico/dataplane';
import { accessLogWriter, type Logger, type ProxyMetrics } from '@portico/observability';
import {
  checkHttp1Timeouts,
  checkHttp2Limits,
  createClientErrorHandler,
  createIdleHandler,
  createTlsErrorHandler,
  guardHttp2,
  type Http1Timeouts,
  type Http2Limits,
  http1ServerOptions,
  http2ServerOptions,
} from './edge-limits.ts';
import { EdgeRejections } from './edge-rejections.ts';
import {
  buildCertificateStore,
  type CertificateStore,
  checkTlsPolicy,
  FORWARD_SECRET_CIPHERS,
  type TlsPolicy,
} from './tls.ts';

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
  /**
   * Proxies in front of Portico whose X-Forwarded-For is believed (IP addresses or CIDR ranges). Default none:
   * every client's own X-Forwarded-For, Forwarded and X-Real-IP are dropped and the socket peer is the client.
   */
  trustedProxies?: string[];
  /**
   * How request-target paths with encoded slashes, semicolons or `//` are treated (paths.ts says why). Default
   * `{ escapedSlashes: 'reject', semicolons: 'keep', mergeSlashes: false }`.
   */
  pathPolicy?: Partial<PathPolicy>;
  /**
   * Largest request head accepted: 431 above it on HTTP/1.1; on HTTP/2 it is the advertised and enforced
   * SETTINGS_MAX_HEADER_LIST_SIZE (a larger header block is reset). Default 16 KiB.
   */
  maxHeaderBytes?: number;
  /**
   * Time for a client to send a whole request head (HTTP/1.1; 408 and close after it); also the time the plain
   * port waits for a new connection's first bytes and the TLS port for a handshake. Default 15 s.
   */
  headersTimeoutMs?: number;
  /** Time for a client to send a whole HTTP/1.1 request, body included (408 and close after it); 0 = none. Default 120 s. */
  requestTimeoutMs?: number;
  /** How long an HTTP/1.1 connection may wait for its next request. Default 5 s. */
  keepAliveTimeoutMs?: number;
  /** An HTTP/1.1 connection in the middle of a request that moves no byte either way this long is closed; 0 = never. Default 300 s. */
  idleTimeoutMs?: number;
  /** HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS per connection (h2c and TLS). Default 128. */
  http2MaxConcurrentStreams?: number;
  /** An HTTP/2 connection with no open stream and no frame this long gets a GOAWAY; 0 = never. Default 60 s. */
  http2SessionIdleTimeoutMs?: number;
  /** An HTTP/2 stream that moves no byte this long is reset (CANCEL); 0 = never. Default 300 s. */
  http2StreamIdleTimeoutMs?: number;
  /** Stream resets (either side) a connection may make at once before the reset rate applies. Default 200. */
  http2StreamResetBurst?: number;
  /** Stream resets per second a connection may sustain after the burst; above it, GOAWAY. Default 33. */
  http2StreamResetRate?: number;
  /** Memory an HTTP/2 session may hold (header tables, queued data), in MiB; new streams are refused above it. Default 64. */
  http2MaxSessionMemoryMb?: number;
  /** Lowest TLS version offered: "TLSv1.2" or "TLSv1.3". Default TLSv1.2. */
  tlsMinVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** OpenSSL cipher list for the TLS port. Default FORWARD_SECRET_CIPHERS (tls.ts): ECDHE with AES-GCM or ChaCha20. */
  tlsCiphers?: string;
  /** Refusals at the edge log at most one warn line per reason per this window (the rest are counted). Default 1 s. */
  edgeLogIntervalMs?: number;
  /** Gateway-, route- and backend-level policies compiled into every snapshot (pipeline/policies.ts). Default none. */
  policies?: PolicySource;
  /**
   * `host:port` of a transcoder service (`portico transcoder`): requests to RPC backends (kinds Grpc, Dubbo) go there to
   * be transcoded, instead of being transcoded in this process. Default: in this process.
   */
  transcoder?: string;
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
  // Edge timeouts and limits (SECURITY.md). A slow head is an attack sooner than a slow upload is: the head gets 15 s
  // (nginx's client_header_timeout is 60 s, Envoy's 10 s); the whole request 120 s, enough for a 16 MiB body
  // (maxBodyBytes) at about 1 Mbit/s. Idle 300 s (Envoy's stream_idle_timeout) lets long LLM calls, long polls
  // and quiet SSE streams live; a client that stops mid-head is cut by the headers timeout long before that.
  headersTimeoutMs: 15_000,
  requestTimeoutMs: 120_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 300_000,
  // nginx advertises 128 streams; a larger head list than the HTTP/1.1 head limit is refused on HTTP/2 too.
  http2MaxConcurrentStreams: 128,
  // Like nginx's 75 s keepalive for HTTP/2; Envoy's 1 h keeps idle connections far longer than needed.
  http2SessionIdleTimeoutMs: 60_000,
  http2StreamIdleTimeoutMs: 300_000,
  // nghttp2's defaults are a 1000 burst at 33/s: the burst alone lets 900 resets per connection through.
  http2StreamResetBurst: 200,
  http2StreamResetRate: 33,
  http2MaxSessionMemoryMb: 64,
  tlsMinVersion: 'TLSv1.2' as 'TLSv1.2' | 'TLSv1.3',
  tlsCiphers: FORWARD_SECRET_CIPHERS,
  edgeLogIntervalMs: 1_000,
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
  // An option passed as undefined keeps its default.
  const opts = { ...DEFAULTS, ...withoutUndefined(options) } as typeof DEFAULTS & FrontProxyOptions;
  const timeouts: Http1Timeouts = {
    headersTimeoutMs: opts.headersTimeoutMs,
    requestTimeoutMs: opts.requestTimeoutMs,
    keepAliveTimeoutMs: opts.keepAliveTimeoutMs,
    idleTimeoutMs: opts.idleTimeoutMs,
  };
  checkHttp1Timeouts(timeouts);
  const h2Limits: Http2Limits = {
    maxConcurrentStreams: opts.http2MaxConcurrentStreams,
    maxHeaderListSize: opts.maxHeaderBytes,
    maxSessionMemoryMb: opts.http2MaxSessionMemoryMb,
    sessionIdleTimeoutMs: opts.http2SessionIdleTimeoutMs,
    streamIdleTimeoutMs: opts.http2StreamIdleTimeoutMs,
    streamResetBurst: opts.http2StreamResetBurst,
    streamResetRate: opts.http2StreamResetRate,
  };
  checkHttp2Limits(h2Limits);
  const tlsPolicy: TlsPolicy = { minVersion: opts.tlsMinVersion, ciphers: opts.tlsCiphers, honorCipherOrder: true };
  checkTlsPolicy(tlsPolicy);
  const { logger, metrics } = opts;
  const edge = new EdgeRejections(logger, metrics, opts.edgeLogIntervalMs);
  const clusters = new ClusterSet();
  const transcoder = opts.transcoder === undefined ? undefined : hostPort('transcoder', opts.transcoder);
  let snapshot: Snapshot | undefined;
  let certificates: CertificateStore = buildCertificateStore([], tlsPolicy);

  const apply = (state: ConfigState): void => {
    const started = performance.now();
    try {
      const next = compileSnapshot(state, clusters, metrics, { policies: opts.policies, transcoder });
      certificates = buildCertificateStore(next.certificates, tlsPolicy);
      // Clients that send no SNI get the default certificate (with the policy: options left out reset to Node's).
      if (tlsServer !== undefined && certificates.defaultOptions !== undefined)
        tlsServer.setSecureContext(certificates.defaultOptions);
      snapshot = next;
      if (proxyChannels.configApplied.hasSubscribers)
        proxyChannels.configApplied.publish({
          revision: next.revision,
          rules: next.table.size,
          durationMs: performance.now() - started,
          certificateErrors: certificates.errors,
        });
    } catch (err) {
      // The running snapshot stays; the bus already validated, so this is a compile bug worth a loud log.
      proxyChannels.configRejected.publish({ revision: state.revision, error: err });
      logger.error({ err, revision: state.revision }, 'config rejected by the proxy; keeping the running snapshot');
    }
  };

  const ctx: HandlerContext = {
    current: () => snapshot!,
    logger,
    // Decided once: building the log object per request costs even when the level drops it.
    accessLog: opts.accessLog ? accessLogWriter(logger) : undefined,
    maxBodyBytes: opts.maxBodyBytes,
    // Requests no route took (404, 400) are counted too, under route="" backend="".
    unrouted: metrics.forRoute('', ''),
    // Parsed once; throws a TypeError naming the bad entry.
    trustedProxies: trustedProxiesFrom(opts.trustedProxies),
    // Merged with the defaults once; throws a TypeError naming the bad option.
    pathPolicy: resolvePathPolicy(opts.pathPolicy),
  };

  // Port 1: HTTP/1.1 and h2c (prior knowledge), told apart by the connection preface.
  let plainPort = opts.port;
  const http1 = createHttpServer({
    maxHeaderSize: opts.maxHeaderBytes,
    ...http1ServerOptions(timeouts),
    // The handler answers a missing Host with a JSON 400 instead of Node's empty one.
    requireHostHeader: false,
    // An Upgrade offering only h2c is answered as plain HTTP/1.1, never tunnelled.
    shouldUpgradeCallback: shouldUpgrade,
  });
  // Node arms each socket with server.timeout and raises 'timeout' on the server (onIdle closes the socket).
  http1.timeout = timeouts.idleTimeoutMs;
  const onIdle = createIdleHandler(edge);
  http1.on('timeout', onIdle);
  const h2c: Http2Server = createH2Server(http2ServerOptions(h2Limits));
  guardHttp2(h2c, h2Limits, edge);
  const plain = createNetServer((socket: Socket) => {
    // Until the first bytes tell HTTP/1.1 from h2c, nothing else times this socket out.
    const onSilent = () => {
      edge.reject('headers_timeout', { client: socket.remoteAddress });
      socket.destroy();
    };
    socket.setTimeout(timeouts.headersTimeoutMs, onSilent);
    socket.once('data', (first: Buffer) => {
      socket.setTimeout(0);
      socket.off('timeout', onSilent);
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
  const plainListener: Listener = {
    scheme: 'http',
    get port() {
      return plainPort;
    },
  };
  const plainHandler = createRequestHandler(ctx, plainListener);
  http1.on('request', plainHandler as (req: IncomingMessage, res: ServerResponse) => void);
  http1.on('upgrade', createUpgradeHandler(ctx, plainListener));
  const onClientError = createClientErrorHandler(edge, ctx.unrouted, timeouts);
  http1.on('clientError', onClientError);
  // node:http sweeps for headers/request timeouts from 'listening' on; http1 never listens (the sniffer hands it
  // sockets), so start the sweep here. http1.close() stops it.
  http1.emit('listening');
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
      ...tlsPolicy,
      ...certificates.defaultOptions,
      allowHTTP1: true,
      ALPNProtocols: ['h2', 'http/1.1'],
      handshakeTimeout: timeouts.headersTimeoutMs,
      maxHeaderSize: opts.maxHeaderBytes,
      // HTTP/1.1 over TLS runs node:http's connection code with these.
      ...http1ServerOptions(timeouts),
      ...http2ServerOptions(h2Limits),
      requireHostHeader: false,
      SNICallback: (servername, cb) => cb(null, certificates.lookup(servername)),
    } as Parameters<typeof createSecureServer>[0]);
    // HTTP/1.1 sockets take it as their idle timeout; HTTP/2 sessions get their own in guardHttp2.
    tlsServer.setTimeout(timeouts.idleTimeoutMs, onIdle as () => void);
    tlsServer.on('clientError', onClientError);
    guardHttp2(tlsServer, h2Limits, edge);
    const tlsListener: Listener = {
      scheme: 'https',
      get port() {
        return tlsPort ?? 443;
      },
    };
    tlsServer.on('request', createRequestHandler(ctx, tlsListener));
    tlsServer.on('upgrade', createUpgradeHandler(ctx, tlsListener));
    tlsServer.on('session', (s: Http2Session) => track(sessions, s));
    tlsServer.on('tlsClientError', createTlsErrorHandler(edge));
    tlsPort = await listen(tlsServer, opts.tlsPort, opts.host, opts.reusePort === true);
  }
  try {
    plainPort = await listen(plain, opts.port, opts.host, opts.reusePort === true);
  } catch (err) {
    // The TLS listener is bound already: left open, it would keep a process that failed to start alive.
    tlsServer?.close();
    throw err;
  }

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
        // Not listening, so close() only stops the timeout sweep; the error says it was not running.
        http1.close(() => {});
        for (const s of sessions) s.destroy();
        edge.close();
        await clusters.close();
      })();
      return closing;
    },
  };
}

function withoutUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function track(sessions: Set<Http2Session>, session: Http2Session): void {
  sessions.add(session);
  session.once('close', () => sessions.delete(session));
}

/** `host:port` (IPv6 in brackets) as an endpoint; a TypeError naming the option otherwise. */
function hostPort(option: string, value: string): { address: string; port: number } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(value);
  const port = m === null ? 0 : Number(m[3]);
  if (m === null || port < 1 || port > 65535)
    throw new TypeError(`${option} must be host:port (e.g. 127.0.0.1:8081), got ${JSON.stringify(value)}`);
  return { address: m[1] ?? m[2]!, port };
}
