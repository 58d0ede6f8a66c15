/**
 * The benchmark backend: node:http answering every request with the same 64-byte body, keep-alive.
 * node bench/proxy/backend.ts [port]  -> prints `READY <port>`.
 * The paced latency client imports `serveBenchBackend` to answer in its own process (see README: latency).
 */
import { createServer, type Server } from 'node:http';

const body = Buffer.from('{"ok":true,"from":"portico-bench-backend","pad":"xxxxxxxxxxxxxx"}\n'.slice(0, 64));

export function serveBenchBackend(port: number): Promise<Server> {
  const server = createServer((req, res) => {
    // Drain any request body before answering so keep-alive stays usable.
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

if (import.meta.main) {
  const server = await serveBenchBackend(Number(process.argv[2] ?? 0));
  const address = server.address();
  process.stdout.write(`READY ${typeof address === 'object' && address ? address.port : 0}\n`);
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}
