/** Where apply/get/delete go: a running gateway's admin API (default) or NATS directly. */
import { type ApplyResult, applyResources } from '@portico/admin-api';
import { type ConfigBus, createNatsBus } from '@portico/bus';
import { type Kind, kindPlural, type Resource } from '@portico/config';
import type { ErrorDetail } from '@portico/errors';
import { CliServerError, CliUsageError } from './errors.ts';

export const DEFAULT_SERVER = 'http://127.0.0.1:9901';

export interface Remote {
  readonly where: string;
  apply(resources: readonly Resource[]): Promise<ApplyResult[]>;
  get(kind: Kind, name: string): Promise<Resource | undefined>;
  list(kind: Kind): Promise<Resource[]>;
  delete(kind: Kind, name: string): Promise<boolean>;
  close(): Promise<void>;
}

export async function openRemote(opts: { server?: string | undefined; nats?: string | undefined }): Promise<Remote> {
  if (opts.server !== undefined && opts.nats !== undefined)
    throw new CliUsageError('use either --server or --nats, not both');
  if (opts.nats !== undefined)
    return busRemote(await createNatsBus({ servers: opts.nats, name: 'portico-cli' }), opts.nats);
  return httpRemote(opts.server ?? DEFAULT_SERVER);
}

export function busRemote(bus: ConfigBus, where: string): Remote {
  return {
    where,
    apply: (resources) => applyResources(bus, resources),
    get: (kind, name) => bus.get(kind, name) as Promise<Resource | undefined>,
    list: (kind) => bus.list(kind) as Promise<Resource[]>,
    delete: (kind, name) => bus.delete(kind, name),
    close: () => bus.close(),
  };
}

export function httpRemote(server: string): Remote {
  let base: URL;
  try {
    base = new URL(server);
  } catch {
    throw new CliUsageError(`--server must be a URL such as ${DEFAULT_SERVER}, got "${server}"`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:')
    throw new CliUsageError(`--server must be an http:// or https:// URL, got "${server}"`);
  const root = base.href.replace(/\/+$/, '');

  async function call(method: string, path: string, body?: string): Promise<{ status: number; json: unknown }> {
    let res: Response;
    try {
      res = await fetch(`${root}${path}`, {
        method,
        ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } }),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (err) {
      const reason = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new CliServerError(
        `cannot reach the admin API at ${root}: ${reason?.code ?? reason?.message ?? (err as Error).message}`,
        { cause: err },
      );
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new CliServerError(`${method} ${path}: the server answered ${res.status} with a body that is not JSON`);
    }
    return { status: res.status, json };
  }

  function fail(status: number, json: unknown): never {
    const error = (json as { error?: { message?: string; details?: ErrorDetail[] } }).error;
    throw new CliServerError(error?.message ?? `the server answered ${status}`, {
      status,
      details: error?.details ?? [],
    });
  }

  const one = (kind: Kind, name: string) => `/api/v1/${kindPlural(kind)}/${encodeURIComponent(name)}`;

  return {
    where: root,
    async apply(resources) {
      const { status, json } = await call('POST', '/api/v1/apply', JSON.stringify(resources));
      if (status !== 200) fail(status, json);
      return (json as { results: ApplyResult[] }).results;
    },
    async get(kind, name) {
      const { status, json } = await call('GET', one(kind, name));
      if (status === 404) return undefined;
      if (status !== 200) fail(status, json);
      return json as Resource;
    },
    async list(kind) {
      const { status, json } = await call('GET', `/api/v1/${kindPlural(kind)}`);
      if (status !== 200) fail(status, json);
      return (json as { items: Resource[] }).items;
    },
    async delete(kind, name) {
      const { status, json } = await call('DELETE', one(kind, name));
      if (status === 404) return false;
      if (status !== 200) fail(status, json);
      return true;
    },
    async close() {},
  };
}
