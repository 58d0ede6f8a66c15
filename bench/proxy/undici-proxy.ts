/**
 * The Node floor: a node:http server whose handler forwards to one backend through an undici Pool's `dispatch`
 * (v8 handler API) and streams the answer back. Hop-by-hop headers are dropped both ways; nothing else is done
 * (no routing, no metrics), so whatever a real proxy costs above this is its own overhead.
 * node bench/proxy/undici-proxy.ts <backend-origin> [port] [--h2c]  -> prints `READY <port>`.
 * --h2c serves HTTP/2 with prior knowledge (node:http2's compatibility API) instead of HTTP/1.1: the floor for h2.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createH2cServer } from 'node:http2';
import { Pool } from 'undici';

const origin = process.argv[2];
if (!origin) throw new Error('usage: undici-proxy.ts <backend-origin> [port] [--h2c]');
const h2c = process.argv.includes('--h2c');
const pool = new Pool(origin, { connections: 128, pipelining: 1, keepAliveTimeout: 60_000 });

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

function handle(req: IncomingMessage, res: ServerResponse): void {
  const raw = req.rawHeaders;
  const headers: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    // HTTP/2 pseudo-headers (:method, :path...) are not fields; undici writes Host from the origin.
    if (raw[i]!.charCodeAt(0) !== 58 && !HOP_BY_HOP.has(raw[i]!.toLowerCase())) headers.push(raw[i]!, raw[i + 1]!);
  }
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  pool.dispatch(
    { origin, path: req.url ?? '/', method: req.method ?? 'GET', headers, body: hasBody ? req : null },
    {
      onRequestStart(controller) {
        res.once('close', () => {
          if (!res.writableFinished) controller.abort(new Error('client went away'));
        });
      },
      onResponseStart(controller, statusCode, upstream: IncomingHttpHeaders) {
        const out: IncomingHttpHeaders = {};
        for (const key in upstream) if (!HOP_BY_HOP.has(key)) out[key] = upstream[key];
        res.writeHead(statusCode, out as Record<string, string | string[]>);
        res.on('drain', () => controller.resume());
      },
      onResponseData(controller, chunk) {
        if (!res.write(chunk)) controller.pause();
      },
      onResponseEnd() {
        res.end();
      },
      onResponseError(_controller, err) {
        if (res.headersSent) res.destroy(err);
        else {
          res.writeHead(502, { 'content-type': 'text/plain' });
          res.end('bad gateway\n');
        }
      },
    },
  );
}

const server = h2c
  ? createH2cServer(handle as unknown as Parameters<typeof createH2cServer>[1])
  : createServer({ keepAliveTimeout: 60_000 }, handle);
server.listen(Number(process.argv[3] ?? 0), '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`READY ${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
