/** The bin checks the Node version before it imports any TypeScript, and says how to run it instead. */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { test } from 'node:test';
import { BIN, REPO } from './helpers.ts';

const { nodeVersionProblem } = (await import(String(new URL('../bin/node-version.js', import.meta.url)))) as {
  nodeVersionProblem(version: string): string | undefined;
};

const line = (v: string) =>
  `portico needs Node.js 24 or newer (this is v${v}); run it through npm (npm start / npx portico), ` +
  'which uses the Node 24 that npm ci installed in node_modules/.bin';

test('the check accepts Node 24 and newer, and names the version it refuses', () => {
  assert.equal(nodeVersionProblem('24.0.0'), undefined);
  assert.equal(nodeVersionProblem('24.21.0'), undefined);
  assert.equal(nodeVersionProblem('26.1.0'), undefined);
  assert.equal(nodeVersionProblem('23.11.1'), line('23.11.1'));
  assert.equal(nodeVersionProblem('20.20.2'), line('20.20.2'));
  assert.equal(nodeVersionProblem('8.17.0'), line('8.17.0'));
});

/** A Node older than 24 on this machine (the system one, typically), if there is one. */
function olderNode(): { path: string; version: string } | undefined {
  const candidates = [
    '/usr/bin/node',
    '/usr/local/bin/node',
    ...(process.env.PATH ?? '').split(delimiter).map((d) => join(d, 'node')),
  ];
  for (const path of new Set(candidates)) {
    if (!existsSync(path)) continue;
    const version = execFileSync(path, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
    if (Number(version.split('.')[0]) < 24) return { path, version };
  }
  return undefined;
}

test('the bin run by an older Node prints one line and exits 1', () => {
  // The real thing where the machine has an older Node; otherwise this Node, told it is v20 before the bin runs
  // (the bin must still stop before its first TypeScript import either way).
  const old = olderNode();
  const [node, args, version] =
    old !== undefined
      ? [old.path, [BIN, 'standalone'], old.version]
      : [
          process.execPath,
          [
            '--import',
            'data:text/javascript,Object.defineProperty(process.versions,"node",{value:"20.11.1"})',
            BIN,
            'standalone',
          ],
          '20.11.1',
        ];
  const res = spawnSync(node, args, { cwd: REPO, encoding: 'utf8', timeout: 15_000 });
  assert.equal(res.status, 1, res.stderr);
  assert.equal(res.stderr, `${line(version)}\n`);
  assert.equal(res.stdout, '');
});

test('the bin run by this Node starts the CLI', () => {
  const res = spawnSync(process.execPath, [BIN, '--version'], { cwd: REPO, encoding: 'utf8', timeout: 15_000 });
  assert.equal(res.status, 0, res.stderr);
  assert.match(res.stdout, /^\d+\.\d+\.\d+\n$/);
});
