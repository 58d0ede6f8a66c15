/** What the docs show a newcomer must be what the CLI does. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { KINDS, kindPlural } from '@portico/config';
import { parse } from 'yaml';
import { portico, REPO } from './helpers.ts';

test('get --help lists every kind the config knows', async () => {
  const help = (await portico(['get', '--help'])).stdout;
  assert.match(help, new RegExp(`Kinds: ${KINDS.map(kindPlural).join(', ')}\\.`));
});

test("the README's `portico validate` example runs on a file in the repo and prints what the README shows", async () => {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8').split('\n');
  const at = readme.findIndex((l) => /^\$ npx portico validate -f \S+/.test(l));
  assert.notEqual(at, -1, 'the README shows a validate example');
  const file = /^\$ npx portico validate -f (\S+)/.exec(readme[at]!)![1]!;
  const shown: string[] = [];
  for (const l of readme.slice(at + 1)) {
    if (l.startsWith('$ ') || l.startsWith('```') || l === '') break;
    shown.push(l);
  }
  const res = await portico(['validate', '-f', file]);
  assert.equal(res.code, 1, `${file}: ${res.stderr}`);
  assert.deepEqual(res.stderr.trimEnd().split('\n'), shown);
});

const WORDS = [
  'zero',
  'one',
  'two',
  'three',
  'four',
  'five',
  'six',
  'seven',
  'eight',
  'nine',
  'ten',
  'eleven',
  'twelve',
  'thirteen',
  'fourteen',
  'fifteen',
  'sixteen',
];

test("docker-compose.yml's description counts the services the file has", () => {
  const text = readFileSync(join(REPO, 'docker-compose.yml'), 'utf8');
  const services = Object.keys((parse(text) as { services: Record<string, unknown> }).services);
  const header = text.slice(0, text.indexOf('\n\n'));
  assert.match(header, new RegExp(`\\b${WORDS[services.length]} services\\b`), `${services.length} services`);
});

test('e2e/peers: build.sh, its README and the test kit agree on the modules of pom.xml', () => {
  const peers = join(REPO, 'e2e/peers');
  const modules = [...readFileSync(join(peers, 'pom.xml'), 'utf8').matchAll(/<module>([^<]+)<\/module>/g)].map(
    (m) => m[1]!,
  );
  assert.ok(modules.length >= 4, modules.join());
  const build = readFileSync(join(peers, 'build.sh'), 'utf8');
  assert.equal(/^modules=\(([^)]*)\)$/m.exec(build)?.[1], modules.join(' '));
  const readme = readFileSync(join(peers, 'README.md'), 'utf8');
  for (const m of modules) assert.match(readme, new RegExp(`^\\| \`${m}\` \\|`, 'm'), `README table row for ${m}`);
  assert.match(readme, new RegExp(`all ${WORDS[modules.length]} jars`));
});
