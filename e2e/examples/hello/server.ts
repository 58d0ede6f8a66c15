/**
 * The example backend of docker-compose.yml: answers every request with JSON describing what it received
 * (method, path, headers), so a request through Portico shows what the gateway forwarded.
 * GET /healthz answers 200 "ok" (the compose healthcheck).
 * PORT (default 8000) and NAME (default "hello") come from the environment.
 */
import { createServer } from 'node:http';
import { hostname } from 'node:os';

const port = Number(process.env.PORT ?? 8000);
const name = process.env.NAME ?? 'hello';

const server = createServer((req, res) => {
  if (req.url === '/healthz') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.stringify(
      {
        service: name,
        host: hostname(),
        method: req.method,
        url: req.url,
        headers: req.headers,
        bodyBytes: Buffer.concat(chunks).length,
      },
      null,
      2,
    );
    res.writeHead(200, { 'content-type': 'application/json' }).end(`${body}\n`);
  });
});

server.listen(port, '0.0.0.0', () => {
  const address = server.address();
  process.stdout.write(`${name} listening on :${typeof address === 'object' && address ? address.port : port}\n`);
});
// Containers stop with SIGTERM: close so the exit is prompt and clean.
process.on('SIGTERM', () => server.close(() => process.exit(0)));
