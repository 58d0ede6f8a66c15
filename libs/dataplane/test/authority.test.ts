import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkAuthority, hostOfAuthority, requestAuthority } from '../src/authority.ts';
import { BadRequestError } from '../src/errors.ts';

type Fields = [string, string][];

/** A request as Node's HTTP/1 parser leaves it: the first Host in `headers`, every field line in `rawHeaders`. */
function h1(fields: Fields, version = '1.1') {
  const headers: Record<string, string> = {};
  for (const [name, value] of fields) headers[name.toLowerCase()] ??= value;
  const [major, minor] = version.split('.').map(Number) as [number, number];
  return { httpVersionMajor: major, httpVersionMinor: minor, headers, rawHeaders: fields.flat() };
}

/** A request as Node's HTTP/2 compat layer leaves it (nghttp2 already refused duplicate fields). */
function h2(headers: Record<string, string>) {
  return { httpVersionMajor: 2, httpVersionMinor: 0, headers: { ':scheme': 'http', ...headers }, rawHeaders: [] };
}

function refused(result: string | BadRequestError, why: RegExp): void {
  assert.ok(result instanceof BadRequestError, `expected a 400, got ${JSON.stringify(result)}`);
  assert.equal(result.status, 400);
  assert.equal(result.code, 'PORTICO_ERR_PROXY_BAD_REQUEST');
  assert.match(result.message, why);
  assert.equal(result.details[0]?.path, 'host');
}

test('HTTP/1.1: one Host is the authority', () => {
  assert.equal(requestAuthority(h1([['Host', 'api.example.com']])), 'api.example.com');
  assert.equal(requestAuthority(h1([['host', 'API.example.com:8080']])), 'API.example.com:8080');
  assert.equal(requestAuthority(h1([['Host', '[::1]:8080']])), '[::1]:8080');
  assert.equal(requestAuthority(h1([['Host', '127.0.0.1']])), '127.0.0.1');
});

test('HTTP/1.1: a missing or empty Host is a 400; HTTP/1.0 may omit it only with an absolute-form target', () => {
  refused(requestAuthority(h1([])), /missing Host/);
  refused(requestAuthority(h1([['Host', '']])), /empty Host/);
  refused(requestAuthority(h1([], '1.0')), /missing Host/);
  refused(requestAuthority(h1([]), 'a.example'), /missing Host/);
  assert.equal(requestAuthority(h1([], '1.0'), 'a.example'), 'a.example');
});

test('HTTP/1.1: two Host field lines are a 400, whatever their case or values', () => {
  refused(
    requestAuthority(
      h1([
        ['Host', 'a'],
        ['Host', 'b'],
      ]),
    ),
    /more than one Host/,
  );
  refused(
    requestAuthority(
      h1([
        ['Host', 'a'],
        ['x-other', '1'],
        ['hOST', 'a'],
      ]),
    ),
    /more than one Host/,
  );
  // A field merely ending in "host" is no Host.
  assert.equal(
    requestAuthority(
      h1([
        ['Host', 'a'],
        ['X-Forwarded-Host', 'b'],
      ]),
    ),
    'a',
  );
});

test('absolute-form: its authority replaces Host (RFC 9112 §3.2.2), and is checked the same way', () => {
  assert.equal(requestAuthority(h1([['Host', 'a.example']]), 'b.example:81'), 'b.example:81');
  refused(requestAuthority(h1([['Host', 'a.example']]), 'user@b.example'), /invalid character/);
  refused(requestAuthority(h1([['Host', 'a.example']]), 'b\\c'), /invalid character/);
  // Host must still be well formed and single.
  refused(requestAuthority(h1([['Host', 'a b']]), 'b.example'), /invalid character/);
  refused(
    requestAuthority(
      h1([
        ['Host', 'a'],
        ['Host', 'b'],
      ]),
      'c',
    ),
    /more than one Host/,
  );
});

test('HTTP/2: :authority wins; a host field that agrees is fine, one that differs is a 400', () => {
  assert.equal(requestAuthority(h2({ ':authority': 'a.example' })), 'a.example');
  assert.equal(requestAuthority(h2({ ':authority': 'a.example', host: 'a.example' })), 'a.example');
  assert.equal(requestAuthority(h2({ ':authority': 'a.example:80', host: 'A.Example' })), 'a.example:80');
  assert.equal(
    requestAuthority(h2({ ':scheme': 'https', ':authority': 'a.example', host: 'a.example:443' })),
    'a.example',
  );
  refused(requestAuthority(h2({ ':authority': 'a.example', host: 'b.example' })), /disagrees with :authority/);
  refused(requestAuthority(h2({ ':authority': 'a.example', host: 'a.example:8080' })), /disagrees/);
  refused(requestAuthority(h2({ ':scheme': 'https', ':authority': 'a', host: 'a:80' })), /disagrees/);
});

test('HTTP/2: without :authority the host field is used; with neither it is a 400', () => {
  assert.equal(requestAuthority(h2({ host: 'a.example' })), 'a.example');
  refused(requestAuthority(h2({ host: 'a b' })), /invalid character/);
  refused(requestAuthority(h2({})), /missing Host/);
  refused(requestAuthority(h2({ ':authority': 'a' }), 'b'), /absolute-form/);
});

test('an invalid authority is a 400: characters outside host names, userinfo, bad IPv6, bad port', () => {
  for (const bad of ['a b', 'a/b', 'a\\b', 'a?b', 'a#b', 'user@a', 'a%2eb', 'a,b', 'a;b', "a'b", 'a\u00e9', 'a\u0000'])
    assert.ok(checkAuthority(bad) instanceof BadRequestError, JSON.stringify(bad));
  for (const bad of ['[::1', '[::1]x', '[zz::1]', '[fe80::1%25eth0]', '[v1.x]', '[127.0.0.1]'])
    assert.match(checkAuthority(bad)?.message ?? '', /IPv6|invalid character/, bad);
  for (const bad of ['a:x', 'a:65536', 'a:123456', 'a:-1', 'a:1:2', ':80'])
    assert.ok(checkAuthority(bad) instanceof BadRequestError, bad);
  for (const good of ['a', 'a.example', 'A-b_c~d.example.', 'a:0', 'a:65535', 'a:', '[2001:db8::1]', '[::1]:443'])
    assert.equal(checkAuthority(good), undefined, good);
});

test('the matched host: lowercase, no port, no trailing dot', () => {
  assert.equal(hostOfAuthority('API.Example.com:8080'), 'api.example.com');
  assert.equal(hostOfAuthority('example.com.'), 'example.com');
  assert.equal(hostOfAuthority('[::1]:8080'), '[::1]');
  assert.equal(hostOfAuthority('a'), 'a');
  // The memo of the last valid authority gives the same answer as the scan.
  assert.equal(checkAuthority('Mixed.Case:1'), undefined);
  assert.equal(hostOfAuthority('Mixed.Case:1'), 'mixed.case');
});
