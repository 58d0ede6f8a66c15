/**
 * The pipeline on a real HTTP/1.1 server, without the front proxy: a memory bus, a snapshot compiled on every
 * config state, and the dataplane's own request and upgrade handlers. What another service embedding the data
 * plane would do.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMemoryBus } from '@portico/bus';
import { type Resource, validateResource } from '@portico/config';
import { accessLogWriter, createLogger, createMetricsRegistry, ProxyMetrics } from '@portico/observability';
import {
  ClusterSet,
  compileSnapshot,
  createRequestHandler,
  createUpgradeHandler,
  type HandlerContext,
  type Listener,
  type PolicySource,
  type Snapshot,
} from '../src/index.ts';

export function resource(input: Record<string, unknown>): Resource {
  const r = validateResource({ apiVersion: 'portico.dev/v1', ...input });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.resource;
}

export interface Pipeline {
  port: number;
  logs: Record<string, unknown>[];
  put(doc: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
}

export async function startPipeline(docs: Record<string, unknown>[], policies?: PolicySource): Promise<Pipeline> {
  const bus = createMemoryBus();
  for (const doc of docs) await bus.put(resource(doc));
  const metrics = new ProxyMetrics(createMetricsRegistry());
  const clusters = new ClusterSet();
  const logs: Record<string, unknown>[] = [];
  let snapshot: Snapshot | undefined;
  const logger = createLogger({
    level: 'info',
    destination: { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) },
  });
  const watch = await bus.watch((state) => {
    snapshot = compileSnapshot(state, clusters, metrics, { policies });
  });
  const ctx: HandlerContext = {
    current: () => snapshot!,
    logger,
    accessLog: accessLogWriter(logger),
    maxBodyBytes: 1024 * 1024,
    unrouted: metrics.forRoute('', ''),
    trustedProxies: undefined,
  };
  let port = 0;
  const listener: Listener = {
    scheme: 'http',
    get port() {
      return port;
    },
  };
  const server: Server = createServer(createRequestHandler(ctx, listener));
  server.on('upgrade', createUpgradeHandler(ctx, listener));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  return {
    port,
    logs,
    async put(doc) {
      await bus.put(resource(doc));
      await new Promise((r) => setTimeout(r, 20));
    },
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      watch.stop();
      await clusters.close();
      await bus.close();
    },
  };
}
