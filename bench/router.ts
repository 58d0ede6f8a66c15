/**
 * Route matcher benchmark: 10,000 rules (100 hosts x 100 rules, mixed Exact / PathPrefix / RegularExpression,
 * some header and method matches, plus a catch-all group), ns per lookup for hits and misses after warm-up,
 * against a baseline measured in the same run (Map.get of the exact path: the floor for any lookup).
 * Also times compileRoutes() on the same 10,000 rules. Exits 1 when the mean lookup is over 2 µs.
 *
 *   node bench/router.ts
 */
import { type Route, resourceSchemas } from '@portico/config';
import { compileRoutes, type MatchInput } from '@portico/router';

const HOSTS = 100;
const RULES_PER_HOST = 100;
const RULES_PER_ROUTE = 50; // the schema allows at most 64 rules per route
const LIMIT_NS = 2000;

function buildRoutes(): Route[] {
  const routes: Route[] = [];
  for (let h = 0; h < HOSTS; h++) {
    // One host in five is served through a wildcard, the rest by exact hostname.
    const hostnames = h % 5 === 0 ? [`*.w${h}.example.com`] : [`h${h}.example.com`];
    for (let r = 0; r < RULES_PER_HOST / RULES_PER_ROUTE; r++) {
      const rules = [];
      for (let i = 0; i < RULES_PER_ROUTE; i++) {
        const n = r * RULES_PER_ROUTE + i;
        const match: Record<string, unknown> = {};
        if (n % 4 === 0) match.path = { type: 'Exact', value: `/svc${n}/items` };
        else if (n % 25 === 1) match.path = { type: 'RegularExpression', value: `/re${n}/[0-9]+` };
        else match.path = { type: 'PathPrefix', value: `/svc${n}` };
        if (n % 5 === 2) match.headers = [{ name: 'x-tenant', value: `t${n}` }];
        if (n % 7 === 3) match.method = 'POST';
        rules.push({ matches: [match], backendRefs: [{ name: `svc-${h}-${n}` }] });
      }
      routes.push(
        resourceSchemas.Route.parse({
          apiVersion: 'portico.dev/v1',
          kind: 'Route',
          metadata: {
            name: `host-${h}-part-${r}`,
            creationTimestamp: new Date(1_700_000_000_000 + h * 1000).toISOString(),
          },
          spec: { hostnames, rules },
        }),
      );
    }
  }
  return routes;
}

function hostOf(h: number): string {
  return h % 5 === 0 ? `api.w${h}.example.com` : `h${h}.example.com`;
}

function input(
  host: string,
  path: string,
  method = 'GET',
  headers: MatchInput['headers'] = {},
  query = '',
): MatchInput {
  return { host, path, query, method, headers };
}

function buildInputs(): { hits: MatchInput[]; misses: MatchInput[] } {
  const hits: MatchInput[] = [];
  const misses: MatchInput[] = [];
  let seed = 42;
  const rand = (n: number) => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed % n;
  };
  const common = { 'user-agent': 'bench', accept: '*/*', 'x-request-id': 'abc' };
  while (hits.length < 4096) {
    const h = rand(HOSTS);
    const n = rand(RULES_PER_HOST);
    const headers = n % 5 === 2 ? { ...common, 'x-tenant': `t${n}` } : common;
    const method = n % 7 === 3 ? 'POST' : 'GET';
    let path: string;
    if (n % 4 === 0) path = `/svc${n}/items`;
    else if (n % 25 === 1) path = `/re${n}/${rand(1000)}`;
    else path = `/svc${n}/items/${rand(1000)}/detail`;
    hits.push(input(hostOf(h), path, method, headers, 'page=2&sort=asc'));
  }
  while (misses.length < 4096) {
    const h = rand(HOSTS);
    const kind = rand(3);
    // A known host with an unknown deep path (the longest prefix walk), a near miss on a prefix boundary,
    // and an unknown host (no catch-all group in this table).
    if (kind === 0) misses.push(input(hostOf(h), `/nope/a/b/c/d/${rand(1000)}`, 'GET', common));
    else if (kind === 1) misses.push(input(hostOf(h), `/svc${rand(RULES_PER_HOST)}x/items`, 'GET', common));
    else misses.push(input(`unknown${h}.example.org`, '/svc1/items', 'GET', common));
  }
  return { hits, misses };
}

function nsPerOp(inputs: MatchInput[], iterations: number, op: (i: MatchInput) => unknown): number {
  let sink = 0;
  const len = inputs.length;
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) if (op(inputs[i % len]!) !== null) sink++;
  const ns = Number(process.hrtime.bigint() - start) / iterations;
  if (sink === -1) process.stdout.write('');
  return ns;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const routes = buildRoutes();
const ruleCount = routes.reduce((n, r) => n + r.spec.rules.length, 0);

const compileMs: number[] = [];
let table = compileRoutes(routes);
for (let i = 0; i < 5; i++) {
  const t0 = performance.now();
  table = compileRoutes(routes);
  compileMs.push(performance.now() - t0);
}

const { hits, misses } = buildInputs();
for (const i of hits) if (table.match(i) === null) throw new Error(`bench input should hit: ${i.host}${i.path}`);
for (const i of misses) if (table.match(i) !== null) throw new Error(`bench input should miss: ${i.host}${i.path}`);

const exactPaths = new Map<string, number>();
for (let n = 0; n < RULES_PER_HOST; n++) exactPaths.set(`/svc${n}/items`, n);
const all = [...hits, ...misses];
const baselineOp = (i: MatchInput) => exactPaths.get(i.path) ?? null;
const matchOp = (i: MatchInput) => table.match(i);

const ITER = 1_000_000;
for (let i = 0; i < 3; i++) {
  nsPerOp(all, ITER / 2, matchOp);
  nsPerOp(all, ITER / 2, baselineOp);
}
const runs = {
  hit: [] as number[],
  miss: [] as number[],
  mixed: [] as number[],
  baseline: [] as number[],
  coldBaseline: [] as number[],
  coldMixed: [] as number[],
};
for (let i = 0; i < 5; i++) {
  runs.baseline.push(nsPerOp(all, ITER, baselineOp));
  runs.hit.push(nsPerOp(hits, ITER, matchOp));
  runs.miss.push(nsPerOp(misses, ITER, matchOp));
  runs.mixed.push(nsPerOp(all, ITER, matchOp));
}
// Real requests bring new strings whose hashes V8 has not cached yet: one pass over fresh copies, used once each.
const fresh = (i: MatchInput): MatchInput =>
  input(Buffer.from(i.host).toString(), Buffer.from(i.path).toString(), i.method, i.headers, i.query);
const COLD = 200_000;
const coldMatch: number[] = [];
const coldBase: number[] = [];
for (let r = 0; r < 3; r++) {
  const a = Array.from({ length: COLD }, (_, k) => fresh(all[k % all.length]!));
  const b = Array.from({ length: COLD }, (_, k) => fresh(all[k % all.length]!));
  coldBase.push(nsPerOp(b, COLD, baselineOp));
  coldMatch.push(nsPerOp(a, COLD, matchOp));
}
runs.coldBaseline = coldBase;
runs.coldMixed = coldMatch;

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const base = mean(runs.baseline);
const row = (name: string, xs: number[], against = base) =>
  `${name.padEnd(22)} ${mean(xs).toFixed(1).padStart(8)} ns/op  (median ${median(xs).toFixed(1)})  x${(mean(xs) / against).toFixed(1)} its baseline\n`;

process.stdout.write(
  `router bench: ${ruleCount} rules, ${routes.length} routes, ${HOSTS} hosts, node ${process.version}\n` +
    `compileRoutes          ${median(compileMs).toFixed(1).padStart(8)} ms (median of ${compileMs.length}, min ${Math.min(...compileMs).toFixed(1)})\n` +
    row('baseline Map.get(path)', runs.baseline) +
    row('match hit', runs.hit) +
    row('match miss', runs.miss) +
    row('match mixed 50/50', runs.mixed) +
    row('baseline, new strings', runs.coldBaseline) +
    row('mixed, new strings', runs.coldMixed, mean(runs.coldBaseline)),
);
const worst = Math.max(mean(runs.hit), mean(runs.miss), mean(runs.mixed), mean(runs.coldMixed));
if (worst > LIMIT_NS) {
  process.stdout.write(`FAIL: mean lookup ${worst.toFixed(1)} ns is over ${LIMIT_NS} ns\n`);
  process.exit(1);
}
process.stdout.write(`OK: mean lookup at most ${worst.toFixed(1)} ns (limit ${LIMIT_NS} ns)\n`);
