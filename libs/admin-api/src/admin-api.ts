/**
 * The admin HTTP server (node:http, no framework): config CRUD under /api/v1, apply, metrics, health and
 * readiness. Errors are PorticoError JSON: `{ error: { code, message, details? } }`.
 *
 * It has no authentication, so it answers only what it can attribute to an operator calling it directly: a
 * strict request-target (request-target.ts), no proxy in between, a Host it serves, no foreign Origin, and writes
 * with a JSON or YAML content-type (request-guards.ts). Checks run in that order, before any body is read.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ConfigBus } from '@portico/bus';
import {
  ConfigInvalidError,
  ConfigParseError,
  KINDS,
  type Kind,
  kindFromName,
  kindPlural,
  parseDocuments,
} from '@portico/config';
import { isPorticoError, type PorticoError } from '@portico/errors';
import type { Logger, Registry } from '@portico/observability';
import { applyOne, applyResources, findDuplicates } from './apply.ts';
import {
  AdminAlreadyExistsError,
  AdminBadRequestError,
  AdminBodyTooLargeError,
  AdminInternalError,
  AdminMalformedRequestError,
  AdminMethodNotAllowedError,
  AdminNotFoundError,
  AdminOptionsError,
} from './errors.ts';
import {
  checkContentType,
  checkHost,
  checkOrigin,
  checkProxied,
  type HostPolicy,
  hostForm,
  parseAuthority,
} from './request-guards.ts';
import { parseRequestTarget, type RequestTarget } from './request-target.ts';

export const MAX_BODY_BYTES = 1024 * 1024;
/** Past this, an oversized body is not drained: the connection is cut. */
const DRAIN_LIMIT = 16 * MAX_BODY_BYTES;

/**
 * Listener defaults. Admin calls are small and quick, so a client that takes 10 s to send a head or 30 s for a
 * whole request is stuck or hostile; 5 s keep-alive matches common clients; 16 KiB heads are Node's default.
 */
export const ADMIN_DEFAULTS = Object.freeze({
  host: '127.0.0.1',
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxHeaderSize: 16 * 1024,
  allowedHosts: [] as readonly string[],
  acceptForwarded: false,
});

/** Names every admin listener serves, whatever it is bound to. */
const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];
/** Bound to these, the listener's address is the one each connection arrived on (socket.localAddress). */
const WILDCARDS = new Set(['0.0.0.0', '::', '[::]']);

export interface AdminApiOptions {
  bus: ConfigBus;
  /** 0 picks a free port (tests). */
  port: number;
  /** Default 127.0.0.1: the API writes config and has no auth, so exposing it is a deliberate choice. */
  host?: string;
  /**
   * Host names beside the built-in ones (localhost, 127.0.0.1, [::1] and the bound address), for operators who
   * reach the API by a name: `admin.example.com` (any port) or `admin.example.com:9901`. Default none.
   */
  allowedHosts?: readonly string[];
  /**
   * Answer requests that carry Forwarded, X-Forwarded-* or X-Real-IP: only for an operator's own (authenticating)
   * proxy in front. Default false. A request that came through Portico's proxy (its Via) is refused regardless.
   */
  acceptForwarded?: boolean;
  /** Time to receive a request head; the client gets 408 and the connection closes. Default 10 s. */
  headersTimeoutMs?: number;
  /** Time to receive a whole request. Default 30 s. */
  requestTimeoutMs?: number;
  /** Idle time allowed between requests on a kept-alive connection. Default 5 s. */
  keepAliveTimeoutMs?: number;
  /** Largest request head in bytes (431 past it). Default 16 KiB. */
  maxHeaderSize?: number;
  registry: Registry;
  isReady: () => boolean;
  logger: Logger;
}

export interface AdminApi {
  readonly port: number;
  close(): Promise<void>;
}

interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

const json = (status: number, body: unknown, headers?: Record<string, string>): Reply =>
  headers === undefined ? { status, body } : { status, body, headers };

function guard(opts: AdminApiOptions): void {
  if (opts === null || typeof opts !== 'object') throw new AdminOptionsError('options', 'must be an object');
  for (const m of ['put', 'get', 'list', 'delete'] as const) {
    if (typeof opts.bus?.[m] !== 'function') throw new AdminOptionsError('bus', 'must be a ConfigBus');
  }
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535)
    throw new AdminOptionsError('port', 'must be an integer from 0 to 65535');
  if (opts.host !== undefined && (typeof opts.host !== 'string' || opts.host === ''))
    throw new AdminOptionsError('host', 'must be a non-empty string');
  if (typeof opts.registry?.metrics !== 'function')
    throw new AdminOptionsError('registry', 'must be a prom-client Registry');
  if (typeof opts.isReady !== 'function') throw new AdminOptionsError('isReady', 'must be a function');
  if (typeof opts.logger?.info !== 'function') throw new AdminOptionsError('logger', 'must be a Logger');
  if (opts.allowedHosts !== undefined) {
    if (!Array.isArray(opts.allowedHosts)) throw new AdminOptionsError('allowedHosts', 'must be an array of strings');
    for (const h of opts.allowedHosts)
      if (typeof h !== 'string' || parseAuthority(h) === undefined)
        throw new AdminOptionsError('allowedHosts', `entries must be "name" or "name:port", got ${JSON.stringify(h)}`);
  }
  if (opts.acceptForwarded !== undefined && typeof opts.acceptForwarded !== 'boolean')
    throw new AdminOptionsError('acceptForwarded', 'must be a boolean');
  for (const name of ['headersTimeoutMs', 'requestTimeoutMs', 'keepAliveTimeoutMs', 'maxHeaderSize'] as const) {
    const v = opts[name];
    if (v !== undefined && (!Number.isInteger(v) || v <= 0))
      throw new AdminOptionsError(name, 'must be a positive integer');
  }
  const headersTimeout = opts.headersTimeoutMs ?? ADMIN_DEFAULTS.headersTimeoutMs;
  if (headersTimeout > (opts.requestTimeoutMs ?? ADMIN_DEFAULTS.requestTimeoutMs))
    throw new AdminOptionsError('headersTimeoutMs', 'must not be more than requestTimeoutMs');
}

export async function startAdminApi(opts: AdminApiOptions): Promise<AdminApi> {
  guard(opts);
  const { bus, registry, isReady } = opts;
  const logger = opts.logger.child({ component: 'admin-api' });
  const bindHost = opts.host ?? ADMIN_DEFAULTS.host;
  const acceptForwarded = opts.acceptForwarded ?? ADMIN_DEFAULTS.acceptForwarded;
  const headersTimeout = opts.headersTimeoutMs ?? ADMIN_DEFAULTS.headersTimeoutMs;
  const requestTimeout = opts.requestTimeoutMs ?? ADMIN_DEFAULTS.requestTimeoutMs;
  const names = new Set(LOOPBACK_NAMES);
  if (!WILDCARDS.has(bindHost)) names.add(hostForm(bindHost));
  const policy: HostPolicy = {
    port: 0, // set once listening
    names,
    allowed: (opts.allowedHosts ?? ADMIN_DEFAULTS.allowedHosts).map((h) => parseAuthority(h)!),
  };

  /** Everything that can refuse a request before it is routed, cheapest and most telling first. */
  function admit(req: IncomingMessage): RequestTarget {
    const target = parseRequestTarget(req.url ?? '');
    checkProxied(req.headersDistinct, acceptForwarded);
    checkHost(req.headersDistinct, policy, req.socket.localAddress);
    checkOrigin(req.headersDistinct, policy, req.socket.localAddress);
    return target;
  }

  /** A write's body, once its content-type says JSON or YAML (a cross-site form or text/plain post cannot). */
  function writeBody(req: IncomingMessage): Promise<string> {
    checkContentType(req.headers);
    return readBody(req);
  }

  async function handle(req: IncomingMessage, target: RequestTarget): Promise<Reply> {
    const method = req.method ?? 'GET';
    const { path, segments } = target;
    const allow = (methods: readonly string[]) => {
      if (!methods.includes(method)) throw new AdminMethodNotAllowedError(method, path, methods);
    };

    if (path === '/healthz') {
      allow(['GET', 'HEAD']);
      return json(200, { status: 'ok' });
    }
    if (path === '/readyz') {
      allow(['GET', 'HEAD']);
      return isReady() ? json(200, { status: 'ready' }) : json(503, { status: 'not ready' });
    }
    if (path === '/metrics') {
      allow(['GET', 'HEAD']);
      return { status: 200, body: await registry.metrics(), headers: { 'content-type': registry.contentType } };
    }
    if (segments[0] !== 'api' || segments[1] !== 'v1' || segments.length < 3 || segments.length > 4)
      throw new AdminNotFoundError(`no such path: ${path}`);

    if (segments[2] === 'apply' && segments.length === 3) {
      allow(['POST']);
      return apply(await writeBody(req));
    }

    const kindSegment = segments[2]!;
    const kind = kindFromName(kindSegment);
    if (kind === undefined)
      throw new AdminNotFoundError(
        `unknown kind "${kindSegment}"; known: ${KINDS.map((k) => kindPlural(k)).join(', ')}`,
      );

    if (segments.length === 3) {
      allow(['GET', 'HEAD', 'POST']);
      if (method === 'POST') {
        const resource = single(await writeBody(req), kind);
        if ((await bus.get(kind, resource.metadata.name)) !== undefined)
          throw new AdminAlreadyExistsError(kind, resource.metadata.name);
        const result = await applyOne(bus, resource);
        return json(201, { result: result.result, resource: await bus.get(kind, resource.metadata.name) });
      }
      return json(200, { apiVersion: 'portico.dev/v1', kind: `${kind}List`, items: await bus.list(kind) });
    }

    const name = segments[3]!;
    allow(['GET', 'HEAD', 'PUT', 'DELETE']);
    if (method === 'PUT') {
      const resource = single(await writeBody(req), kind, name);
      const result = await applyOne(bus, resource);
      const stored = await bus.get(kind, name);
      return json(result.result === 'created' ? 201 : 200, { result: result.result, resource: stored });
    }
    if (method === 'DELETE') {
      // A body on a DELETE is ignored, but it still must not be one a cross-site page can send.
      if (req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined)
        checkContentType(req.headers);
      if (!(await bus.delete(kind, name))) throw notFound(kind, name);
      return json(200, { result: 'deleted', kind, name });
    }
    const found = await bus.get(kind, name);
    if (found === undefined) throw notFound(kind, name);
    return json(200, found);
  }

  async function apply(text: string): Promise<Reply> {
    const parsed = parseDocuments(text, 'body');
    if (parsed.parseErrors.length > 0) throw new ConfigParseError(parsed.errors);
    const errors = [...parsed.errors, ...findDuplicates(parsed.resources)];
    if (errors.length > 0) throw new ConfigInvalidError(errors, 'nothing applied');
    if (parsed.resources.length === 0) throw new AdminBadRequestError('the body holds no documents');
    return json(200, { results: await applyResources(bus, parsed.resources) });
  }

  const server: Server = createServer(
    {
      headersTimeout,
      requestTimeout,
      keepAliveTimeout: opts.keepAliveTimeoutMs ?? ADMIN_DEFAULTS.keepAliveTimeoutMs,
      maxHeaderSize: opts.maxHeaderSize ?? ADMIN_DEFAULTS.maxHeaderSize,
      // Node checks the two timeouts on this tick (30 s by default, longer than the timeouts themselves).
      connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(headersTimeout / 4))),
      requireHostHeader: true,
    },
    (req, res) => {
      // Logged as sent but cut short: a refused target may be long or hostile.
      const path = (req.url ?? '').slice(0, 200);
      new Promise<RequestTarget>((resolve) => resolve(admit(req)))
        .then((target) => handle(req, target))
        .then(
          (reply) => send(res, reply),
          (err: unknown) => {
            const error: PorticoError = isPorticoError(err) ? err : new AdminInternalError(err);
            if (error.status >= 500) logger.error({ err, method: req.method, path }, error.message);
            else logger.debug({ code: error.code, method: req.method, path }, error.message);
            const headers: Record<string, string> = {};
            if (error instanceof AdminMethodNotAllowedError) headers.allow = error.allow.join(', ');
            // An unread oversized body: close rather than read the rest.
            if (error instanceof AdminBodyTooLargeError) headers.connection = 'close';
            send(res, { status: error.status, body: error.toJSON(), headers });
          },
        );
    },
  );
  // A connection idle this long is closed, also one that never sends a byte (the headers timeout starts with
  // the first byte). Kept-alive connections between requests use keepAliveTimeout instead.
  server.timeout = requestTimeout;
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return;
    const error =
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new AdminMalformedRequestError(408, 'the request took too long to arrive')
        : err.code === 'HPE_HEADER_OVERFLOW'
          ? new AdminMalformedRequestError(431, 'the request head is too large')
          : new AdminMalformedRequestError(400, 'malformed HTTP request');
    logger.debug({ code: error.code, reason: err.code }, error.message);
    const body = `${JSON.stringify(error.toJSON())}\n`;
    const reason = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' }[
      error.status as 400 | 408 | 431
    ];
    socket.end(
      `HTTP/1.1 ${error.status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      () => socket.destroy(), // a client that never reads must not keep the connection half open
    );
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, bindHost, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  policy.port = port;
  logger.info({ port, host: bindHost }, 'admin API listening');

  let closing: Promise<void> | undefined;
  return {
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // Admin calls are short: give in-flight ones a moment, then cut what is left.
        setTimeout(() => server.closeAllConnections(), 2000).unref();
      });
      return closing;
    },
  };
}

function notFound(kind: Kind, name: string): AdminNotFoundError {
  return new AdminNotFoundError(`${kind} "${name}" not found`);
}

/** One resource of the URL's kind (and name, for PUT) from a JSON or YAML body. */
function single(text: string, kind: Kind, name?: string) {
  const parsed = parseDocuments(text, 'body');
  if (parsed.parseErrors.length > 0) throw new ConfigParseError(parsed.errors);
  if (parsed.errors.length > 0) throw new ConfigInvalidError(parsed.errors);
  if (parsed.resources.length !== 1)
    throw new AdminBadRequestError(`expected one document, got ${parsed.resources.length}; use /api/v1/apply for many`);
  const resource = parsed.resources[0]!;
  if (resource.kind !== kind)
    throw new AdminBadRequestError(`kind "${resource.kind}" does not match the URL's kind "${kind}"`, [
      { path: 'kind', message: `must be ${kind} to match the URL` },
    ]);
  if (name !== undefined && resource.metadata.name !== name)
    throw new AdminBadRequestError(
      `metadata.name "${resource.metadata.name}" does not match the URL's name "${name}"`,
      [{ path: 'metadata.name', message: `must be "${name}" to match the URL` }],
    );
  return resource;
}

/**
 * The body as text, at most MAX_BODY_BYTES. Over the limit, the rest is read and dropped (up to DRAIN_LIMIT)
 * before the 413 goes out: closing on a client that is still sending makes it see a reset, not our answer.
 */
function readBody(req: IncomingMessage): Promise<string> {
  const declared = Number(req.headers['content-length']);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = declared > MAX_BODY_BYTES;
    const finish = () =>
      over ? reject(new AdminBodyTooLargeError(MAX_BODY_BYTES)) : resolve(Buffer.concat(chunks).toString('utf8'));
    if (declared > DRAIN_LIMIT) return finish();
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > DRAIN_LIMIT) {
        req.destroy();
        return;
      }
      if (size > MAX_BODY_BYTES) {
        over = true;
        chunks.length = 0;
      }
      if (!over) chunks.push(chunk);
    });
    req.once('end', finish);
    req.once('close', () => {
      // Cut off: past DRAIN_LIMIT by us (413), or by the client (nobody is left to read the answer).
      if (!req.complete) over ? finish() : reject(new AdminBadRequestError('request body was cut off'));
    });
    req.once('error', reject);
  });
}

function send(res: ServerResponse, reply: Reply): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = typeof reply.body === 'string' ? reply.body : `${JSON.stringify(reply.body)}\n`;
  res.writeHead(reply.status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    ...reply.headers,
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}
