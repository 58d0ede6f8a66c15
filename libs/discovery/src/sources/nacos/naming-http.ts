/**
 * The two calls of Nacos's v1 naming API the source needs, over the global fetch:
 * - `GET /nacos/v1/ns/service/list?pageNo&pageSize&namespaceId&groupName` -> `{count, doms}`;
 * - `GET /nacos/v1/ns/instance/list?serviceName=<group@@service>&namespaceId&clusters=&healthyOnly=false&udpPort&clientIP`
 *   -> a ServiceInfo; with a udpPort the server also subscribes that address to UDP pushes of the service.
 *
 * Several addresses: the one that answered last is used until it fails, then the next (as Nacos clients do).
 * Credentials: username/password log in (`POST /v1/auth/login`, Nacos 3 also `/v3/auth/user/login`) for an
 * accessToken sent with every call and renewed before its tokenTtl runs out (or after a 401/403); an AK/SK pair
 * signs every call the way Nacos's naming clients do (`ak`, `data` = `<ms>@@<group@@service>`, `signature` =
 * base64 HMAC-SHA1 of data with the SK), which the open-source server ignores and Alibaba Cloud MSE checks.
 */
import { createHmac } from 'node:crypto';
import { NacosResponseError, NacosUnavailableError } from './errors.ts';

export type NacosCredentials = { username: string; password: string } | { accessKey: string; secretKey: string };

export interface NacosHttpOptions {
  /** `host:port` each; the API lives under `/nacos`. */
  addresses: readonly string[];
  namespace: string;
  credentials?: NacosCredentials | undefined;
  timeoutMs: number;
  /** Aborts every call in flight (stop()). */
  signal: AbortSignal;
}

// Nacos pushes over UDP only to agents it knows (its ClientInfo types); a v1 Java client's agent is one of them.
const USER_AGENT = 'Nacos-Java-Client:v1.0.0';
const LOGIN_PATHS = ['/v1/auth/login', '/v3/auth/user/login'];

export class NacosHttp {
  readonly #opts: NacosHttpOptions;
  #current = 0;
  #token: { value: string; renewAt: number } | undefined;

  constructor(opts: NacosHttpOptions) {
    this.#opts = opts;
  }

  /** One page of a group's service names. */
  async serviceList(group: string, pageNo: number, pageSize: number): Promise<unknown> {
    return this.#get(
      '/v1/ns/service/list',
      { pageNo: String(pageNo), pageSize: String(pageSize), groupName: group },
      undefined,
    );
  }

  /** A service's instances (all clusters, healthy or not); subscribes `clientIp:udpPort` when udpPort > 0. */
  async instanceList(grouped: string, udpPort: number, clientIp: string): Promise<unknown> {
    const params: Record<string, string> = { serviceName: grouped, clusters: '', healthyOnly: 'false', app: 'portico' };
    if (udpPort > 0) {
      params.udpPort = String(udpPort);
      params.clientIP = clientIp;
    }
    return this.#get('/v1/ns/instance/list', params, grouped);
  }

  async #get(path: string, params: Record<string, string>, signedName: string | undefined): Promise<unknown> {
    let lastError: unknown;
    const n = this.#opts.addresses.length;
    for (let i = 0; i < n; i++) {
      const index = (this.#current + i) % n;
      const address = this.#opts.addresses[index]!;
      try {
        const body = await this.#getFrom(address, path, params, signedName);
        this.#current = index;
        return body;
      } catch (error) {
        if (this.#opts.signal.aborted) throw error;
        lastError = error;
      }
    }
    const reason = lastError instanceof Error ? lastError.message : String(lastError);
    throw new NacosUnavailableError(`no Nacos server answered GET ${path}: ${reason}`, lastError);
  }

  async #getFrom(
    address: string,
    path: string,
    params: Record<string, string>,
    signedName: string | undefined,
  ): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      const query = new URLSearchParams({ ...params, namespaceId: this.#opts.namespace });
      await this.#authenticate(address, query, signedName);
      const url = `http://${address}/nacos${path}?${query}`;
      const res = await fetch(url, { headers: this.#headers(), signal: this.#signal() });
      const text = await res.text();
      if ((res.status === 401 || res.status === 403) && this.#token !== undefined && attempt === 0) {
        this.#token = undefined; // expired or revoked: log in again once
        continue;
      }
      if (res.status !== 200)
        throw new NacosResponseError(
          `${address}${path} answered HTTP ${res.status}: ${text.slice(0, 200)}`,
          res.status,
        );
      try {
        return JSON.parse(text);
      } catch (error) {
        throw new NacosResponseError(`${address}${path} did not answer JSON`, 200, error);
      }
    }
  }

  async #authenticate(address: string, query: URLSearchParams, signedName: string | undefined): Promise<void> {
    const credentials = this.#opts.credentials;
    if (credentials === undefined) return;
    if ('accessKey' in credentials) {
      const data = signedName === undefined ? String(Date.now()) : `${Date.now()}@@${signedName}`;
      query.set('ak', credentials.accessKey);
      query.set('data', data);
      query.set('signature', signNaming(data, credentials.secretKey));
      return;
    }
    if (this.#token === undefined || Date.now() >= this.#token.renewAt) this.#token = await this.#login(address);
    query.set('accessToken', this.#token.value);
  }

  async #login(address: string): Promise<{ value: string; renewAt: number }> {
    const { username, password } = this.#opts.credentials as { username: string; password: string };
    let last: NacosResponseError | undefined;
    for (const path of LOGIN_PATHS) {
      const res = await fetch(`http://${address}/nacos${path}`, {
        method: 'POST',
        headers: { ...this.#headers(), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ username, password }).toString(),
        signal: this.#signal(),
      });
      const text = await res.text();
      if (res.status === 404 || res.status === 405 || res.status === 410) {
        last = new NacosResponseError(`${address}/nacos${path} answered HTTP ${res.status}`, res.status);
        continue; // this server has the other login API
      }
      if (res.status !== 200)
        throw new NacosResponseError(
          `Nacos login as "${username}" at ${address} failed: HTTP ${res.status} ${text.slice(0, 200)}`,
          res.status,
        );
      let body: { accessToken?: unknown; tokenTtl?: unknown };
      try {
        body = JSON.parse(text) as typeof body;
      } catch (error) {
        throw new NacosResponseError(`Nacos login at ${address} did not answer JSON`, 200, error);
      }
      if (typeof body.accessToken !== 'string' || body.accessToken === '')
        throw new NacosResponseError(`Nacos login at ${address} answered no accessToken`, 200);
      const ttlMs = Number(body.tokenTtl) > 0 ? Number(body.tokenTtl) * 1000 : 5 * 60_000;
      return { value: body.accessToken, renewAt: Date.now() + ttlMs * 0.9 };
    }
    throw last ?? new NacosResponseError(`Nacos at ${address} has no login API`);
  }

  #headers(): Record<string, string> {
    return { 'user-agent': USER_AGENT, 'client-version': USER_AGENT, 'request-module': 'Naming' };
  }

  #signal(): AbortSignal {
    return AbortSignal.any([this.#opts.signal, AbortSignal.timeout(this.#opts.timeoutMs)]);
  }
}

/** Nacos naming request signature: base64 HMAC-SHA1 of `data` keyed with the secret key. */
export function signNaming(data: string, secretKey: string): string {
  return createHmac('sha1', secretKey).update(data).digest('base64');
}
