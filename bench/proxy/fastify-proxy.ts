/**
 * The comparison point: fastify 5 with @fastify/http-proxy (reply-from over undici) in front of one backend,
 * logger off, defaults otherwise.
 * node bench/proxy/fastify-proxy.ts <backend-origin> [port]  -> prints `READY <port>`.
 */
import proxy from '@fastify/http-proxy';
import Fastify from 'fastify';

const upstream = process.argv[2];
if (!upstream) throw new Error('usage: fastify-proxy.ts <backend-origin> [port]');
const app = Fastify({ logger: false, keepAliveTimeout: 60_000 });
await app.register(proxy, { upstream });
await app.listen({ port: Number(process.argv[3] ?? 0), host: '127.0.0.1' });
const address = app.server.address();
process.stdout.write(`READY ${typeof address === 'object' && address ? address.port : 0}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
