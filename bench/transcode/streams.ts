/**
 * Server streams held open through Portico: `POST /portico.test.Echo/Count` asking for a reply every
 * `intervalMs`, one HTTP/1.1 connection per stream, NDJSON back. A stream counts as open once its first line has
 * arrived (so it reaches the backend and back); closing destroys the client's socket, which cancels the call.
 */
import { Agent, type ClientRequest, request } from 'node:http';
import { waitUntil } from '@portico/testkit';
import { COUNT_PATH } from './config.ts';

export interface OpenStreams {
  /** Streams whose first reply has arrived. */
  readonly open: number;
  /** Streams that failed or ended before they were closed. */
  readonly failed: number;
  /** Opens streams until `total` are open (waits for each first reply). */
  grow(total: number, timeoutMs?: number): Promise<void>;
  /** Destroys every stream's connection. */
  close(): void;
}

export function openStreams(port: number, intervalMs: number): OpenStreams {
  const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
  const body = JSON.stringify({ count: 1_000_000, intervalMs });
  const requests: ClientRequest[] = [];
  let open = 0;
  let failed = 0;
  let closing = false;
  const start = (): void => {
    let first = true;
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: COUNT_PATH,
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        if (res.statusCode !== 200) failed++;
        res.on('data', () => {
          if (first) {
            first = false;
            open++;
          }
        });
        res.on('end', () => {
          if (!closing) failed++;
        });
        res.on('error', () => {});
      },
    );
    req.on('error', () => {
      if (!closing) failed++;
    });
    req.end(body);
    requests.push(req);
  };
  return {
    get open() {
      return open;
    },
    get failed() {
      return failed;
    },
    async grow(total, timeoutMs = 60_000) {
      while (requests.length < total) start();
      await waitUntil(
        `${total} streams open`,
        () => {
          if (failed > 0) throw new Error(`${failed} streams failed`);
          return open >= total;
        },
        { timeoutMs, everyMs: 50 },
      );
    },
    close() {
      closing = true;
      for (const req of requests) req.destroy();
      agent.destroy();
    },
  };
}
