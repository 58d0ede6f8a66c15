/**
 * The benchmark backend: node:http answering every request with the same 64-byte body, keep-alive.
 * node bench/proxy/backend.ts [port]  -> prints `READY <port>`.
 */
import { createServer } from 'node:http';

const body = Buffer.from('{"ok":true,"from":"portico-bench-backend","pad":"xxxxxxxxxxxxxx"}\n'.slice(0, 64));
const server = createServer((req, res) => {
  // Drain any request body before answering so keep-alive stays usable.
  req.resume();
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`READY ${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
