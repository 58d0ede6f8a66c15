import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after } from 'node:test';
import { API_VERSION, type Service, ServiceSpec } from '@portico/config';
import type { ChannelDescriptor } from '@portico/observability';
import { UpstreamCluster } from '../src/cluster.ts';
import type { UpstreamError } from '../src/errors.ts';
import type { CallHandle, ClusterRequest, Headers, ResponseSink } from '../src/types.ts';

/** A Service resource with schema defaults applied. */
export function service(name: string, spec: Record<string, unknown>): Service {
  return { apiVersion: API_VERSION, kind: 'Service', metadata: { name }, spec: ServiceSpec.parse(spec) };
}

export interface TestServer {
  server: http.Server;
  port: number;
  hits: number;
  connections: number;
  close(): Promise<void>;
}

export async function startServer(handler: http.RequestListener): Promise<TestServer> {
  const server = http.createServer();
  const t: TestServer = {
    server,
    port: 0,
    hits: 0,
    connections: 0,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
  server.on('request', (req, res) => {
    t.hits++;
    handler(req, res);
  });
  server.on('connection', () => t.connections++);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.port = (server.address() as AddressInfo).port;
  return t;
}

/** A port nothing listens on (bound then released). */
export async function deadPort(): Promise<number> {
  const s = http.createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as AddressInfo).port;
  s.close();
  await once(s, 'close');
  return port;
}

export interface Result {
  status?: number;
  headers?: Headers;
  body: Buffer;
  error?: UpstreamError;
  errorAfterStart: boolean;
}

/** Dispatch and gather the whole response (or the error). */
export function fetchVia(cluster: UpstreamCluster, req: Partial<ClusterRequest> = {}): Promise<Result> {
  return dispatchVia(cluster, req).result;
}

export interface Dispatched {
  call: CallHandle;
  result: Promise<Result>;
  /** 1xx responses the sink was told about, in order. */
  informational: { status: number; headers: Headers }[];
}

/** Like fetchVia, keeping the call handle (to cancel it) and the 1xx responses the sink heard. */
export function dispatchVia(cluster: UpstreamCluster, req: Partial<ClusterRequest> = {}): Dispatched {
  const informational: Dispatched['informational'] = [];
  let call!: CallHandle;
  const result = new Promise<Result>((resolve) => {
    const chunks: Buffer[] = [];
    const result: Result = { body: Buffer.alloc(0), errorAfterStart: false };
    const sink: ResponseSink = {
      onResponseStart(status, headers) {
        result.status = status;
        result.headers = headers;
        return true;
      },
      onResponseData(chunk) {
        chunks.push(chunk);
        return true;
      },
      onResponseEnd() {
        result.body = Buffer.concat(chunks);
        // after undici has put the socket back, like a real next request would
        setImmediate(resolve, result);
      },
      onResponseError(err) {
        result.error = err;
        result.errorAfterStart = result.status !== undefined;
        result.body = Buffer.concat(chunks);
        resolve(result);
      },
      onInformational(status, headers) {
        informational.push({ status, headers });
      },
    };
    call = cluster.dispatch({ method: 'GET', path: '/', headers: {}, body: null, ...req }, sink);
  });
  return { call, result, informational };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every event published on `channel` from now until the file's tests end. */
export function record<T>(channel: ChannelDescriptor<T>): T[] {
  const seen: T[] = [];
  after(channel.subscribe((event) => seen.push(event)));
  return seen;
}

/**
 * Servers and clusters made through these are closed after the file's tests (clusters first, so their pools
 * drain before the servers go).
 */
export function tracked() {
  const servers: TestServer[] = [];
  const clusters: UpstreamCluster[] = [];
  after(async () => {
    await Promise.all(clusters.map((c) => c.close()));
    await Promise.all(servers.map((s) => s.close()));
  });
  return {
    async server(handler: http.RequestListener): Promise<TestServer> {
      const s = await startServer(handler);
      servers.push(s);
      return s;
    },
    cluster(name: string, spec: Record<string, unknown>): UpstreamCluster {
      const c = new UpstreamCluster(service(name, spec));
      clusters.push(c);
      return c;
    },
  };
}
