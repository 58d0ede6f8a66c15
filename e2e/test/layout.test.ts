/**
 * The layout the architecture promises, checked from the sources: the package graph has no cycle, libs never
 * depend on services or on the test kit, services never import each other (only the CLI composes them), and
 * no source file imports another package's internals.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

const ROOT = resolve(import.meta.dirname, '../..');

interface Pkg {
  name: string;
  dir: string;
  kind: 'lib' | 'service';
  deps: string[];
}

function packages(): Pkg[] {
  const out: Pkg[] = [];
  for (const [folder, kind] of [
    ['libs', 'lib'],
    ['services', 'service'],
  ] as const)
    for (const name of readdirSync(join(ROOT, folder))) {
      const dir = join(ROOT, folder, name);
      const json = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name: string;
        dependencies?: Record<string, string>;
      };
      const deps = Object.keys(json.dependencies ?? {}).filter((d) => d.startsWith('@portico/'));
      out.push({ name: json.name, dir, kind, deps });
    }
  return out;
}

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sources(path));
    else if (entry.name.endsWith('.ts')) out.push(path);
  }
  return out;
}

const all = packages();
const byName = new Map(all.map((p) => [p.name, p]));

test('the package graph (runtime dependencies) has no cycle', () => {
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: string[]): void => {
    if (state.get(name) === 'done') return;
    assert.notEqual(state.get(name), 'visiting', `cycle: ${[...path, name].join(' -> ')}`);
    state.set(name, 'visiting');
    for (const dep of byName.get(name)?.deps ?? []) visit(dep, [...path, name]);
    state.set(name, 'done');
  };
  for (const p of all) visit(p.name, []);
});

test('libs depend on libs only; services on libs, and only the CLI on services', () => {
  for (const p of all)
    for (const dep of p.deps) {
      const target = byName.get(dep);
      assert.ok(target !== undefined, `${p.name} depends on ${dep}, which is not a lib or service (the test kit?)`);
      if (p.kind === 'lib') assert.equal(target.kind, 'lib', `lib ${p.name} depends on service ${dep}`);
      else if (p.name !== '@portico/cli')
        assert.equal(target.kind, 'lib', `service ${p.name} depends on service ${dep}; only the CLI composes`);
    }
});

test("source files import only what their package declares, and never another package's internals", () => {
  const specifier = /(?:from|import)\s*\(?\s*'(@portico\/[^']+)'/g;
  let seen = 0;
  for (const p of all) {
    const declared = new Set(p.deps);
    for (const file of sources(join(p.dir, 'src'))) {
      for (const [, spec] of readFileSync(file, 'utf8').matchAll(specifier)) {
        seen++;
        const where = `${file.slice(ROOT.length + 1)} imports ${spec}`;
        assert.ok(/^@portico\/[a-z-]+$/.test(spec!), `${where}: a package's internals`);
        assert.ok(declared.has(spec!), `${where}, not in its package.json dependencies`);
      }
    }
  }
  assert.ok(seen > 100, `only ${seen} imports found: the scan is broken`);
});
