/**
 * The admin HTTP server (node:http, no framework): config CRUD under /api/v1, apply, metrics, health, readiness
 * and a debug echo. Errors are PorticoError JSON: `{ error: { code, message, details? } }`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ConfigBus } from '@portico/bus';
import { ConfigInvalidError, KINDS, type Kind, kindFromName, kindPlural, parseDocuments } from '@portico/config';
import { isPorticoError, type PorticoError } from '@portico/errors';
import type { Logger, Registry } from '@portico/observability';
import { applyOne, applyResources, findDuplicates } from './apply.ts';
import {
  AdminAlreadyExistsError,
  AdminBadRequestError,
  AdminBodyTooLargeError,
  AdminInternalError,
  AdminMethodNotAllowedError,
  AdminNotFoundError,
  AdminOptionsError,
} from './errors.ts';

export const MAX_BODY_BYTES = 1024 * 1024;
/** Past this, an oversized body is not drained: the connection is cut. */
const DRAIN_LIMIT = 16 * MAX_BODY_BYTES;

export interface AdminApiOptions {
  bus: ConfigBus;
  /** 0 picks a free port (tests). */
  port: number;
  /** Default 127.0.0.1: the API writes config and has no auth, so exposing it is a deliberate choice. */
  host?: string;
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
}

export async function startAdminApi(opts: AdminApiOptions): Promise<AdminApi> {
  guard(opts);
  const { bus, registry, isReady } = opts;
  const logger = opts.logger.child({ component: 'admin-api' });

  async function handle(req: IncomingMessage, url: URL): Promise<Reply> {
    const method = req.method ?? 'GET';
    const path = url.pathname;
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
    if (path === '/debug/echo' || path.startsWith('/debug/echo/')) {
      await readBody(req); // drained so keep-alive works; the echo is about the head
      const query: Record<string, string | string[]> = {};
      for (const [k, v] of url.searchParams) {
        const prev = query[k];
        query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
      }
      return json(200, { method, path, query, headers: req.headers });
    }

    const segments = path.split('/').filter(Boolean);
    if (segments[0] !== 'api' || segments[1] !== 'v1' || segments.length < 3 || segments.length > 4)
      throw new AdminNotFoundError(`no such path: ${path}`);

    if (segments[2] === 'apply' && segments.length === 3) {
      allow(['POST']);
      return apply(await readBody(req));
    }

    const kindSegment = decodeSegment(segments[2]!);
    const kind = kindFromName(kindSegment);
    if (kind === undefined)
      throw new AdminNotFoundError(
        `unknown kind "${kindSegment}"; known: ${KINDS.map((k) => kindPlural(k)).join(', ')}`,
      );

    if (segments.length === 3) {
      allow(['GET', 'HEAD', 'POST']);
      if (method === 'POST') {
        const resource = single(await readBody(req), kind);
        if ((await bus.get(kind, resource.metadata.name)) !== undefined)
          throw new AdminAlreadyExistsError(kind, resource.metadata.name);
        const result = await applyOne(bus, resource);
        return json(201, { result: result.result, resource: await bus.get(kind, resource.metadata.name) });
      }
      return json(200, { apiVersion: 'portico.dev/v1', kind: `${kind}List`, items: await bus.list(kind) });
    }

    const name = decodeSegment(segments[3]!);
    allow(['GET', 'HEAD', 'PUT', 'DELETE']);
    if (method === 'PUT') {
      const resource = single(await readBody(req), kind, name);
      const result = await applyOne(bus, resource);
      const stored = await bus.get(kind, name);
      return json(result.result === 'created' ? 201 : 200, { result: result.result, resource: stored });
    }
    if (method === 'DELETE') {
      if (!(await bus.delete(kind, name))) throw notFound(kind, name);
      return json(200, { result: 'deleted', kind, name });
    }
    const found = await bus.get(kind, name);
    if (found === undefined) throw notFound(kind, name);
    return json(200, found);
  }

  async function apply(text: string): Promise<Reply> {
    const parsed = parseDocuments(text, 'body');
    const errors = [...parsed.errors, ...findDuplicates(parsed.resources)];
    if (errors.length > 0) throw new ConfigInvalidError(errors, 'nothing applied');
    if (parsed.resources.length === 0) throw new AdminBadRequestError('the body holds no documents');
    return json(200, { results: await applyResources(bus, parsed.resources) });
  }

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://admin.invalid');
    handle(req, url).then(
      (reply) => send(res, reply),
      (err: unknown) => {
        const error: PorticoError = isPorticoError(err) ? err : new AdminInternalError(err);
        if (error.status >= 500) logger.error({ err, method: req.method, path: url.pathname }, error.message);
        else logger.debug({ code: error.code, method: req.method, path: url.pathname }, error.message);
        const headers: Record<string, string> = {};
        if (error instanceof AdminMethodNotAllowedError) headers.allow = error.allow.join(', ');
        // An unread oversized body: close rather than read the rest.
        if (error instanceof AdminBodyTooLargeError) headers.connection = 'close';
        send(res, { status: error.status, body: error.toJSON(), headers });
      },
    );
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ port, host: opts.host ?? '127.0.0.1' }, 'admin API listening');

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

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new AdminBadRequestError(`bad percent-encoding in "${segment}"`);
  }
}

/** One resource of the URL's kind (and name, for PUT) from a JSON or YAML body. */
function single(text: string, kind: Kind, name?: string) {
  const parsed = parseDocuments(text, 'body');
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
