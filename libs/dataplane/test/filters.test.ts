import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileCors } from '../src/filters/cors/compile-cors.ts';
import { compileHeaderModifier, compileHeadListModifier } from '../src/filters/header-edit.ts';
import { redirectLocation } from '../src/filters/request-redirect/location.ts';

test('header modifier: set replaces, add appends, remove deletes, names case-insensitive', () => {
  const edit = compileHeaderModifier({
    set: [{ name: 'X-Set', value: 'new' }],
    add: [{ name: 'X-Add', value: 'two' }],
    remove: ['X-Gone'],
  });
  const h: Record<string, string | string[]> = { 'x-set': 'old', 'x-add': 'one', 'x-gone': 'bye', keep: 'me' };
  edit(h);
  assert.deepEqual(h, { 'x-set': 'new', 'x-add': 'one,two', keep: 'me' });
});

const base = {
  scheme: 'http' as const,
  host: 'example.com',
  port: 8080,
  path: '/a/b',
  query: 'q=1',
  matchedPrefix: '/a',
};

test('redirect: Gateway API port rules', () => {
  assert.equal(redirectLocation({ statusCode: 302 }, base), 'http://example.com:8080/a/b?q=1');
  assert.equal(redirectLocation({ statusCode: 301, scheme: 'https' }, base), 'https://example.com/a/b?q=1');
  assert.equal(
    redirectLocation({ statusCode: 302, hostname: 'other.org', port: 80 }, base),
    'http://other.org/a/b?q=1',
  );
  assert.equal(
    redirectLocation({ statusCode: 302, port: 8443, scheme: 'https' }, base),
    'https://example.com:8443/a/b?q=1',
  );
  assert.equal(
    redirectLocation({ statusCode: 302, path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/z' } }, base),
    'http://example.com:8080/z/b?q=1',
  );
  assert.equal(
    redirectLocation(
      { statusCode: 302, path: { type: 'ReplaceFullPath', replaceFullPath: '/full' } },
      { ...base, query: '' },
    ),
    'http://example.com:8080/full',
  );
});

test('CORS: exact, wildcard subdomain and any origin; credentials echo the origin', () => {
  const cors = compileCors({ allowOrigins: ['https://a.example.com', 'https://*.example.org'], maxAge: 5 });
  assert.equal(cors.allowOrigin('https://a.example.com'), 'https://a.example.com');
  assert.equal(cors.allowOrigin('https://x.example.org'), 'https://x.example.org');
  assert.equal(cors.allowOrigin('https://x.y.example.org'), undefined);
  assert.equal(cors.allowOrigin('https://evil.com'), undefined);
  assert.equal(cors.allowMethods, 'GET, HEAD, POST');
  const any = compileCors({ allowOrigins: ['*'], maxAge: 5 });
  assert.equal(any.allowOrigin('https://whatever'), '*');
  const cred = compileCors({ allowOrigins: ['*'], allowCredentials: true, maxAge: 5 });
  assert.equal(cred.allowOrigin('https://whatever'), 'https://whatever');
});

test('head-list modifier: the same edits on the upstream [name, value, ...] list', async () => {
  const edit = compileHeadListModifier({
    set: [{ name: 'X-Set', value: 'new' }],
    add: [
      { name: 'X-Add', value: 'two' },
      { name: 'X-New', value: 'v' },
    ],
    remove: ['X-Gone'],
  });
  const list = ['x-set', 'old', 'X-Add', 'one', 'x-gone', 'bye', 'keep', 'me'];
  edit(list);
  assert.deepEqual(list, ['X-Add', 'one,two', 'keep', 'me', 'x-set', 'new', 'x-new', 'v']);
});

test('head-list modifier: the proxy-owned fields survive whatever the filter says', async () => {
  // Config validation refuses these names; the compiled filter ignores them even if one got through.
  const edit = compileHeadListModifier({
    set: [
      { name: 'Via', value: 'forged' },
      { name: 'X-Real-IP', value: '6.6.6.6' },
    ],
    add: [{ name: 'X-Forwarded-For', value: '6.6.6.6' }],
    remove: ['via', 'forwarded', 'Transfer-Encoding', 'x-other'],
  });
  const list = ['via', '1.1 portico', 'forwarded', 'for=1.2.3.4', 'x-forwarded-for', '1.2.3.4', 'x-other', 'x'];
  edit(list);
  assert.deepEqual(list, ['via', '1.1 portico', 'forwarded', 'for=1.2.3.4', 'x-forwarded-for', '1.2.3.4']);
});
