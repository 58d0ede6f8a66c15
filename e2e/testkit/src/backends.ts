/**
 * Real HTTP backends for tests, on port 0: an echo server that reports what it received, with switches in the
 * query string to misbehave on purpose (status, delay, streamed size), an SSE stream and a WebSocket echo.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

export interface Backend {
  /** A name the backend puts in every answer (`x-backend` header and `backend` field). */
  name: string;
  port: number;
  url: string;
  /** Requests received so far (method, url, headers; the body once it has been read whole). */
  requests: { method: string; url: string; headers: IncomingMessage['headers']; body?: string }[];
  /** Requests that began and were then closed by the proxy before the answer ended. */
  aborted: number;
  close(): Promise<void>;
}

export interface EchoReply {
  backend: string;
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/**
 * GET/POST anything: answers JSON {backend, method, path, headers, body}.
 * Query switches: `status=503` answers with that status; `delay=ms` waits first; `bytes=n` streams n bytes of 'x'
 * in 64 KiB chunks instead of JSON; `sse=n` sends n server-sent events, one every `every` ms (default 20).
 */
export async function startEchoBackend(name: string, port = 0): Promise<Backend> {
  const requests: Backend['requests'] = [];
  let aborted = 0;
  const server = createServer((req, res) => {
    const seen: Backend['requests'][number] = { method: req.method ?? '', url: req.url ?? '', headers: req.headers };
    requests.push(seen);
    const url = new URL(req.url ?? '/', 'http://x');
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.body = Buffer.concat(chunks).toString();
      const delay = Number(url.searchParams.get('delay') ?? 0);
      const answer = () => respond(name, req, res, url, Buffer.concat(chunks).toString());
      if (delay > 0) setTimeout(answer, delay);
      else answer();
    });
    res.on('close', () => {
      if (!res.writableFinished) aborted++;
    });
  });
  const backend = await listen(server, port);
  return {
    name,
    port: backend,
    url: `http://127.0.0.1:${backend}`,
    requests,
    get aborted() {
      return aborted;
    },
    close: () => closeServer(server),
  };
}

function respond(name: string, req: IncomingMessage, res: ServerResponse, url: URL, body: string): void {
  if (res.destroyed) return;
  const status = Number(url.searchParams.get('status') ?? 200);
  const bytes = url.searchParams.get('bytes');
  const sse = url.searchParams.get('sse');
  if (bytes !== null) {
    let left = Number(bytes);
    res.writeHead(status, { 'content-type': 'application/octet-stream', 'x-backend': name });
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const pump = () => {
      while (left > 0) {
        const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
        left -= piece.length;
        if (!res.write(piece)) return void res.once('drain', pump);
      }
      res.end();
    };
    return pump();
  }
  if (sse !== null) {
    const count = Number(sse);
    const every = Number(url.searchParams.get('every') ?? 20);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-backend': name });
    let sent = 0;
    const timer = setInterval(() => {
      res.write(`id: ${sent}\ndata: ${JSON.stringify({ n: sent, backend: name })}\n\n`);
      if (++sent >= count) {
        clearInterval(timer);
        res.end();
      }
    }, every);
    res.on('close', () => clearInterval(timer));
    return;
  }
  const reply: EchoReply = { backend: name, method: req.method ?? '', path: req.url ?? '', headers: req.headers, body };
  const json = JSON.stringify(reply);
  res.writeHead(status, {
    'content-type': 'application/json',
    'x-backend': name,
    'content-length': Buffer.byteLength(json),
  });
  res.end(json);
}

/** A WebSocket server that echoes every message prefixed with its name. */
export async function startWebSocketBackend(name: string): Promise<Backend> {
  const requests: Backend['requests'] = [];
  const server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    res.writeHead(426, { 'content-type': 'text/plain' }).end('upgrade required');
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws, req) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    ws.on('message', (data, isBinary) => ws.send(isBinary ? data : `${name}:${data.toString()}`));
  });
  const port = await listen(server, 0);
  return {
    name,
    port,
    url: `http://127.0.0.1:${port}`,
    requests,
    aborted: 0,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      await closeServer(server);
    },
  };
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
