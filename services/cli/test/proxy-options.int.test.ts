/**
 * The edge settings from the command line: --proxy-option NAME=VALUE, --trusted-proxies and --admin-allowed-host
 * reach the running proxy and admin API; a bad name or value is a usage error naming it.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseProxyTuning } from '../src/proxy-options.ts';
import { portico, REPO, start } from './helpers.ts';

describe('parseProxyTuning', () => {
  test('numbers, the TLS floor, the path policy and trusted proxies', () => {
    assert.deepEqual(
      parseProxyTuning(
        ['headersTimeoutMs=5000', 'tlsMinVersion=TLSv1.3', 'escapedSlashes=keep', 'mergeSlashes=true'],
        '10.0.0.0/8, 192.168.1.10',
      ),
      {
        trustedProxies: ['10.0.0.0/8', '192.168.1.10'],
        headersTimeoutMs: 5000,
        tlsMinVersion: 'TLSv1.3',
        pathPolicy: { escapedSlashes: 'keep', mergeSlashes: true },
      },
    );
  });

  for (const [option, message] of [
    ['headersTimeout=5', /unknown name "headersTimeout"; known: maxBodyBytes/],
    ['headersTimeoutMs=5s', /headersTimeoutMs must be a whole number, got "5s"/],
    ['headersTimeoutMs', /takes NAME=VALUE, got "headersTimeoutMs"/],
    ['semicolons=drop', /semicolons must be one of keep, reject, got "drop"/],
    ['tlsMinVersion=TLSv1.1', /tlsMinVersion must be TLSv1.2 or TLSv1.3/],
  ] as const) {
    test(`refuses ${option}`, () => assert.throws(() => parseProxyTuning([option], undefined), message));
  }
});

describe('a running gateway with edge flags', () => {
  let child: Awaited<ReturnType<typeof start>>;
  let proxyPort: number;
  let adminPort: number;

  before(async () => {
    child = await start(
      [
        'standalone',
        '--config',
        join(REPO, 'deploy/example.yaml'),
        '--proxy-port',
        '0',
        '--admin-port',
        '0',
        '--log-level',
        'warn',
        '--proxy-option',
        'headersTimeoutMs=300',
        '--trusted-proxies',
        '127.0.0.1',
        '--admin-allowed-host',
        'gw.internal',
      ],
      /portico listening: proxy http:\/\/[\d.]+:(\d+) admin http:\/\/[\d.]+:(\d+)/,
    );
    proxyPort = Number(child.match[1]);
    adminPort = Number(child.match[2]);
  });

  after(async () => {
    child.child.kill('SIGTERM');
    await child.exited;
  });

  test('--proxy-option headersTimeoutMs: a half-sent head is answered 408 and closed', async () => {
    const socket = connect(proxyPort, '127.0.0.1');
    socket.write('GET /echo/x HTTP/1.1\r\nHost: a\r\n');
    let data = '';
    socket.on('data', (c) => (data += c.toString('latin1')));
    const started = Date.now();
    await once(socket, 'close');
    // 15 s by default; here 300 ms (swept at most every 75 ms): well within 5x.
    assert.ok(Date.now() - started < 1500, `closed after ${Date.now() - started} ms`);
    assert.match(data, /^HTTP\/1\.1 408 /);
    assert.match(data, /PORTICO_ERR_PROXY_CLIENT_TIMEOUT/);
  });

  test('--trusted-proxies: the client named by a trusted peer is the one forwarded', async () => {
    const res = await fetch(`http://127.0.0.1:${proxyPort}/echo/who`, {
      headers: { 'x-forwarded-for': '203.0.113.9' },
    });
    const echoed = (await res.json()) as { headers: Record<string, string> };
    assert.equal(echoed.headers['x-real-ip'], '203.0.113.9');
    assert.equal(echoed.headers['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
  });

  test('--admin-allowed-host: the admin API answers that Host, and still refuses others', async () => {
    const status = (host: string) =>
      new Promise<number>((resolve, reject) => {
        request({ host: '127.0.0.1', port: adminPort, path: '/healthz', headers: { host } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
          .on('error', reject)
          .end();
      });
    assert.equal(await status(`gw.internal:${adminPort}`), 200);
    assert.equal(await status(`evil.example:${adminPort}`), 421);
  });
});

test('a value the proxy refuses is a usage error naming it', async () => {
  const run = await portico(['standalone', '--proxy-port', '0', '--admin-port', '0', '--trusted-proxies', 'nope']);
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /trustedProxies\[0\] must be an IP address or a CIDR range/);
  assert.doesNotMatch(run.stderr, /\n\s+at /);
});
