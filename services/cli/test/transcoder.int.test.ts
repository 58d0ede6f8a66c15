/**
 * `portico transcoder` as a deployment of its own: a front proxy started with --transcoder sends the requests of
 * Grpc backendRefs there, and the transcoder (reading the same config from NATS) transcodes them to a real gRPC
 * server. Plain Service backends stay with the front proxy.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startEchoBackend, startGrpcServer, startNatsServer, waitUntil } from '@portico/testkit';
import { portico, start } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'portico-transcoder-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('front-proxy --transcoder: Grpc backends are transcoded by the transcoder process, others stay', async () => {
  const nats = await startNatsServer();
  const grpc = await startGrpcServer();
  const http = await startEchoBackend('plain');
  const stops: Array<() => void> = [];
  try {
    const config = join(dir, 'grpc.yaml');
    writeFileSync(
      config,
      `apiVersion: portico.dev/v1
kind: Service
metadata: {name: echo-grpc}
spec: {protocol: grpc, endpoints: [{address: 127.0.0.1, port: ${grpc.port}}]}
---
apiVersion: portico.dev/v1
kind: Service
metadata: {name: plain}
spec: {endpoints: [{address: 127.0.0.1, port: ${http.port}}]}
---
apiVersion: portico.dev/v1
kind: Route
metadata: {name: rpc}
spec:
  rules:
    - matches: [{path: {type: PathPrefix, value: /portico.test.Echo/}}]
      backendRefs: [{kind: Grpc, name: echo-grpc}]
    - backendRefs: [{name: plain}]
`,
    );
    const applied = await portico(['apply', '-f', config, '--nats', nats.url]);
    assert.equal(applied.code, 0, applied.stderr);
    const env = { PORTICO_NATS_URL: nats.url };
    const transcoder = await start(
      ['transcoder', '--proxy-port', '0', '--admin-port', '0'],
      /portico listening: transcoder http:\/\/127\.0\.0\.1:(\d+) admin/,
      env,
    );
    stops.push(() => transcoder.child.kill('SIGTERM'));
    const front = await start(
      [
        'front-proxy',
        '--proxy-port',
        '0',
        '--admin-port',
        '0',
        '--log-level',
        'warn',
        '--transcoder',
        `127.0.0.1:${transcoder.match[1]}`,
      ],
      /portico listening: proxy http:\/\/[\d.]+:(\d+) admin/,
      env,
    );
    stops.push(() => front.child.kill('SIGTERM'));
    const proxy = `http://127.0.0.1:${front.match[1]}`;

    const res = await fetch(`${proxy}/portico.test.Echo/Say`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'via the transcoder' }),
    });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { echo: { message: string } }).echo.message, 'via the transcoder');
    // The transcoder's access log has the request, with the route and backend it matched there (log lines are
    // written in batches, so it may take a moment).
    const accessLine = () =>
      transcoder
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l.msg === 'access' && l.path === '/portico.test.Echo/Say');
    const line = await waitUntil('the transcoder to log the request', accessLine);
    assert.equal(line?.backend, 'echo-grpc', transcoder.output());
    assert.equal(line?.status, 200);

    const plain = await fetch(`${proxy}/other`);
    assert.equal(plain.status, 200, 'a Service backend is proxied by the front proxy itself');
    assert.equal(
      transcoder.output().includes('"path":"/other"'),
      false,
      'the transcoder never sees a plain Service request',
    );
  } finally {
    for (const stop of stops) stop();
    await grpc.close();
    await http.close();
    await nats.stop();
  }
});
