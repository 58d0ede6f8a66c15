/**
 * STAND-IN for a Consul agent's HTTP API, built from Consul's API documentation; not the real Consul.
 *
 * No Consul agent can be obtained on the machines Portico is tested on, so this server speaks the part of Consul's
 * HTTP API a discovery client uses, with the shapes and semantics the documentation gives
 * (developer.hashicorp.com/consul/api-docs: agent/service, agent/check, catalog, health, features/blocking):
 *
 * - agent writes: `PUT /v1/agent/service/register` (ID, Name, Tags, Address, Port, Meta, Weights, EnableTagOverride,
 *   Check/Checks with TTL), `PUT /v1/agent/service/deregister/:id`, `PUT /v1/agent/check/{pass,warn,fail}/:check_id`
 *   (`?note=`), `PUT /v1/agent/check/update/:check_id`, `PUT /v1/agent/service/maintenance/:id?enable=&reason=`.
 *   Service checks are named as Consul names them (`service:<id>`, or `service:<id>:<n>` for several) and start
 *   `critical` unless `Status` says otherwise; a TTL check not refreshed within its TTL goes critical.
 * - reads: `GET /v1/catalog/services`, `GET /v1/catalog/service/:name`, `GET /v1/health/service/:name` (`passing`,
 *   repeatable `tag`, `dc`), `GET /v1/catalog/datacenters`, `GET /v1/status/leader`, with `X-Consul-Index`,
 *   `X-Consul-KnownLeader`, `X-Consul-LastContact` and blocking queries (`index`, `wait` capped at 10m, default 5m,
 *   plus up to wait/16 of jitter; an index of at least 1 is always returned).
 * - one node per datacenter (with its `serfHealth` check and the `consul` service a server registers); several
 *   stand-ins can be WAN-joined (`join`) so `?dc=` reaches another one; an unknown or unreachable datacenter answers
 *   500 "No path to datacenter".
 * - ACLs (default policy deny): started with `token`, requests carry it as X-Consul-Token, `Authorization: Bearer`
 *   or `?token=`. An unknown token -> 403 "ACL not found". No token is the anonymous token: writes -> 403
 *   "Permission denied", reads -> 200 with every result filtered out and `X-Consul-Results-Filtered-By-ACLs: true`.
 *
 * Not modelled: HTTP/TCP/script checks (rejected with 400), DeregisterCriticalServiceAfter, KV, sessions, Connect,
 * namespaces, `filter` expressions, `near`, consistency modes (accepted, ignored).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface ConsulStandInOptions {
  /** This agent's datacenter (default `dc1`). */
  datacenter?: string;
  /** The agent's node name (default `standin-<datacenter>`). */
  nodeName?: string;
  /** The node's address: what a service without an Address of its own resolves to (default 127.0.0.1). */
  nodeAddress?: string;
  /** ACL token every request must carry. No ACLs when absent. */
  token?: string;
  /** Port on 127.0.0.1 (a free one when absent). */
  port?: number;
  /** WAN-join another stand-in: each answers `?dc=` queries for the other's datacenter. */
  join?: ConsulStandIn;
}

export interface ConsulStandIn {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `127.0.0.1:<port>`, the form a Registry's `addresses` take. */
  address: string;
  port: number;
  datacenter: string;
  /** The datacenter's current Raft index (for tests). */
  index(): number;
  /** Closes the listener and every connection (pending blocking queries included). State is kept. */
  stop(): Promise<void>;
  /**
   * stop(), then listen again on the same port with the same services and checks (an agent outage). With
   * `resetIndexes`, the servers come back empty and the agent re-syncs its services into them, so every index is
   * lower than before (a rebuilt cluster or an older snapshot restored: the case the blocking-query docs tell
   * clients to handle by resetting their index).
   */
  restart(options?: { resetIndexes?: boolean }): Promise<void>;
}

type Status = 'passing' | 'warning' | 'critical';

interface ServiceRecord {
  id: string;
  name: string;
  tags: string[];
  address: string;
  port: number;
  meta: Record<string, string>;
  weights: { Passing: number; Warning: number };
  enableTagOverride: boolean;
  createIndex: number;
  modifyIndex: number;
}

interface CheckRecord {
  id: string;
  name: string;
  status: Status;
  notes: string;
  output: string;
  /** '' for node-level checks. */
  serviceId: string;
  serviceName: string;
  /** 0 when not a TTL check. */
  ttlMs: number;
  timer?: NodeJS.Timeout | undefined;
  createIndex: number;
  modifyIndex: number;
}

/** A blocking-query view: its index (cheap, checked on every write) and its body (built once, when answering). */
interface View {
  index: () => number;
  body: () => unknown;
}

interface HttpFailure {
  status: number;
  message: string;
}

const MAX_WAIT_MS = 10 * 60_000;
const DEFAULT_WAIT_MS = 5 * 60_000;
const MAINT_PREFIX = '_service_maintenance:';
const MAINT_DEFAULT_REASON =
  'Maintenance mode is enabled for this service, but no reason was provided. This is a default message.';
const META_KEY = /^[a-zA-Z0-9_-]+$/;

/** One datacenter's catalog (a single node: the agent's). */
class Datacenter {
  readonly name: string;
  readonly node: { id: string; name: string; address: string };
  raftIndex = 0;
  /** Index of the services table: moves when a service is added, changed or removed (not on check changes). */
  servicesIndex = 0;
  /** Per service name: the last index that touched its instances or their checks. */
  readonly serviceIndexes = new Map<string, number>();
  readonly services = new Map<string, ServiceRecord>();
  readonly checks = new Map<string, CheckRecord>();
  readonly waiters = new Set<() => void>();
  up = false;

  constructor(name: string, nodeName: string, nodeAddress: string) {
    this.name = name;
    this.node = { id: randomUUID(), name: nodeName, address: nodeAddress };
    this.#bootstrap();
  }

  #bootstrap(): void {
    const idx = this.bump([], true);
    this.checks.set('serfHealth', {
      id: 'serfHealth',
      name: 'Serf Health Status',
      status: 'passing',
      notes: '',
      output: 'Agent alive and reachable',
      serviceId: '',
      serviceName: '',
      ttlMs: 0,
      createIndex: idx,
      modifyIndex: idx,
    });
    const svcIdx = this.bump(['consul'], true);
    this.services.set('consul', {
      id: 'consul',
      name: 'consul',
      tags: [],
      address: '',
      port: 8300,
      meta: { raft_version: '3', version: 'stand-in' },
      weights: { Passing: 1, Warning: 1 },
      enableTagOverride: false,
      createIndex: svcIdx,
      modifyIndex: svcIdx,
    });
  }

  /** A write: the Raft index moves, so do the views it touches, and blocked readers re-check. */
  bump(names: readonly string[], servicesTable: boolean): number {
    const idx = ++this.raftIndex;
    for (const n of names) this.serviceIndexes.set(n, idx);
    if (servicesTable) this.servicesIndex = idx;
    for (const wake of [...this.waiters]) wake();
    return idx;
  }

  /** The servers lost their data and the agent synced its local services back (indexes start over). */
  renumber(): void {
    const services = [...this.services.values()].filter((s) => s.id !== 'consul');
    const checks = [...this.checks.values()].filter((c) => c.id !== 'serfHealth');
    for (const c of this.checks.values()) if (c.timer) clearTimeout(c.timer);
    this.raftIndex = 0;
    this.servicesIndex = 0;
    this.serviceIndexes.clear();
    this.services.clear();
    this.checks.clear();
    this.#bootstrap();
    for (const s of services) {
      const idx = this.bump([s.name], true);
      this.services.set(s.id, { ...s, createIndex: idx, modifyIndex: idx });
    }
    for (const c of checks) {
      const idx = this.bump([c.serviceName], false);
      const check: CheckRecord = { ...c, timer: undefined, createIndex: idx, modifyIndex: idx };
      this.checks.set(c.id, check);
      if (check.ttlMs > 0) this.armTtl(check);
    }
  }

  serviceIndex(name: string): number {
    return Math.max(1, this.serviceIndexes.get(name) ?? this.servicesIndex);
  }

  /** The names of the services a check's status feeds (a node check feeds all of them). */
  namesFedBy(check: CheckRecord): string[] {
    if (check.serviceId !== '') return [check.serviceName];
    return [...new Set([...this.services.values()].map((s) => s.name))];
  }

  setCheckStatus(check: CheckRecord, status: Status, output: string): void {
    // Output-only changes are deferred by a real agent (check_update_interval); only a status change is a write.
    check.output = output;
    if (check.status === status) return;
    check.status = status;
    check.modifyIndex = this.bump(this.namesFedBy(check), false);
  }

  armTtl(check: CheckRecord): void {
    if (check.timer) clearTimeout(check.timer);
    // Expiry does not re-arm: the next pass/warn/fail does.
    check.timer = setTimeout(() => {
      check.timer = undefined;
      if (this.checks.get(check.id) === check) this.setCheckStatus(check, 'critical', 'TTL expired');
    }, check.ttlMs);
    check.timer.unref();
  }

  removeCheck(id: string): CheckRecord | undefined {
    const check = this.checks.get(id);
    if (!check) return undefined;
    if (check.timer) clearTimeout(check.timer);
    this.checks.delete(id);
    return check;
  }

  clearTimers(): void {
    for (const c of this.checks.values()) if (c.timer) clearTimeout(c.timer);
  }
}

/** Datacenters reachable from each other (a WAN-joined set), by name. */
type Federation = Map<string, Datacenter>;
const federations = new WeakMap<ConsulStandIn, Federation>();

export async function startConsulStandIn(options: ConsulStandInOptions = {}): Promise<ConsulStandIn> {
  const dcName = options.datacenter ?? 'dc1';
  if (!/^[a-zA-Z0-9_-]+$/.test(dcName)) throw new TypeError(`options.datacenter: invalid name "${dcName}"`);
  const joined = options.join ? federations.get(options.join) : undefined;
  if (options.join && !joined) throw new TypeError('options.join: not a Consul stand-in');
  const federation: Federation = joined ?? new Map();
  if (federation.has(dcName)) throw new TypeError(`options.datacenter: "${dcName}" is already in the joined set`);
  const dc = new Datacenter(dcName, options.nodeName ?? `standin-${dcName}`, options.nodeAddress ?? '127.0.0.1');
  federation.set(dcName, dc);
  const token = options.token;

  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) fail(res, { status: 500, message: String(err) });
      else res.destroy();
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  type Handler = (m: RegExpMatchArray, req: IncomingMessage, res: ServerResponse, q: URLSearchParams) => unknown;
  const writes: Array<[RegExp, Handler]> = [
    [
      /^\/v1\/agent\/service\/register$/,
      async (_m, req, res, q) => {
        const read = await readJson(req);
        result(res, 'failure' in read ? read.failure : register(read.value, q));
      },
    ],
    [/^\/v1\/agent\/service\/deregister\/(.+)$/, (m, _req, res) => result(res, deregister(param(m, 1)))],
    [/^\/v1\/agent\/service\/maintenance\/(.*)$/, (m, _req, res, q) => result(res, maintenance(param(m, 1), q))],
    [
      /^\/v1\/agent\/check\/(pass|warn|fail)\/(.+)$/,
      (m, _req, res, q) => {
        const status: Status = m[1] === 'pass' ? 'passing' : m[1] === 'warn' ? 'warning' : 'critical';
        result(res, updateCheck(param(m, 2), status, q.get('note') ?? ''));
      },
    ],
    [
      /^\/v1\/agent\/check\/update\/(.+)$/,
      async (m, req, res) => {
        const read = await readJson(req);
        if ('failure' in read) return fail(res, read.failure);
        const status = field(read.value, 'Status');
        if (status !== 'passing' && status !== 'warning' && status !== 'critical')
          return fail(res, { status: 400, message: `Invalid check status: '${String(status ?? '')}'` });
        const output = field(read.value, 'Output');
        result(res, updateCheck(param(m, 1), status, typeof output === 'string' ? output : ''));
      },
    ],
  ];
  const reads: Array<[RegExp, (m: RegExpMatchArray, target: Datacenter, q: URLSearchParams) => View | HttpFailure]> = [
    [
      /^\/v1\/catalog\/services$/,
      (_m, target) => ({ index: () => Math.max(1, target.servicesIndex), body: () => listServices(target) }),
    ],
    [
      /^\/v1\/catalog\/service\/(.+)$/,
      (m, target, q) => {
        const name = param(m, 1);
        const tags = q.getAll('tag');
        return {
          index: () => target.serviceIndex(name),
          body: () => instances(target, name, tags).map((s) => catalogEntry(target, s)),
        };
      },
    ],
    [
      /^\/v1\/health\/service\/(.+)$/,
      (m, target, q) => {
        const name = param(m, 1);
        const tags = q.getAll('tag');
        let passing = false;
        if (q.has('passing')) {
          const parsed = parseBool(q.get('passing')!);
          if (parsed === undefined) return { status: 400, message: 'Invalid value for ?passing' };
          passing = parsed;
        }
        return {
          index: () => target.serviceIndex(name),
          body: () =>
            instances(target, name, tags)
              .map((s) => healthEntry(target, s))
              .filter((e) => !passing || e.Checks.every((c) => c.Status === 'passing')),
        };
      },
    ],
  ];

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const q = url.searchParams;
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const acl = checkToken(req, q);
    if (acl === 'anonymous' && method !== 'GET') return fail(res, { status: 403, message: 'Permission denied' });
    if (acl !== undefined && acl !== 'anonymous') return fail(res, acl);

    for (const [pattern, handler] of writes) {
      const m = path.match(pattern);
      if (!m) continue;
      if (method !== 'PUT') return notAllowed(res, method);
      await handler(m, req, res, q);
      return;
    }
    if (!path.startsWith('/v1/')) return fail(res, { status: 404, message: '404 page not found' });
    if (method !== 'GET') return notAllowed(res, method);
    if (path === '/v1/status/leader') return json(res, 200, '127.0.0.1:8300');
    if (path === '/v1/catalog/datacenters') return json(res, 200, [...federation.keys()].sort());
    for (const [pattern, makeView] of reads) {
      const m = path.match(pattern);
      if (!m) continue;
      const target = targetDc(q);
      if ('message' in target) return fail(res, target);
      const view = makeView(m, target, q);
      if ('message' in view) return fail(res, view);
      if (acl === 'anonymous') {
        // What Consul does for a token that may read nothing: an empty answer, flagged as filtered.
        const empty = Array.isArray(view.body()) ? [] : {};
        res.setHeader('X-Consul-Results-Filtered-By-ACLs', 'true');
        return blocking(req, res, q, target, { index: view.index, body: () => empty });
      }
      return blocking(req, res, q, target, view);
    }
    return fail(res, { status: 404, message: '404 page not found' });
  }

  function checkToken(req: IncomingMessage, q: URLSearchParams): HttpFailure | 'anonymous' | undefined {
    if (token === undefined) return undefined;
    const header = req.headers['x-consul-token'];
    const bearer = req.headers.authorization?.match(/^Bearer\s+(.+)$/i)?.[1];
    const given = (typeof header === 'string' && header !== '' ? header : undefined) ?? bearer ?? q.get('token');
    if (given === undefined || given === null || given === '') return 'anonymous';
    if (given !== token) return { status: 403, message: 'ACL not found' };
    return undefined;
  }

  function targetDc(q: URLSearchParams): Datacenter | HttpFailure {
    const name = q.get('dc');
    if (name === null || name === '' || name === dc.name) return dc;
    const other = federation.get(name);
    if (!other?.up) return { status: 500, message: 'No path to datacenter' };
    return other;
  }

  /** Serves a read, blocking while the view's index is not past `?index=` (at most `wait` plus jitter). */
  async function blocking(
    req: IncomingMessage,
    res: ServerResponse,
    q: URLSearchParams,
    target: Datacenter,
    view: View,
  ): Promise<void> {
    let minIndex = 0;
    const rawIndex = q.get('index');
    if (rawIndex !== null && rawIndex !== '') {
      if (!/^[0-9]+$/.test(rawIndex)) return fail(res, { status: 400, message: 'Invalid index' });
      minIndex = Number(rawIndex);
    }
    let waitMs = DEFAULT_WAIT_MS;
    const rawWait = q.get('wait');
    if (rawWait !== null && rawWait !== '') {
      const parsed = parseGoDuration(rawWait);
      if (parsed === undefined) return fail(res, { status: 400, message: 'Invalid wait time' });
      waitMs = Math.min(parsed, MAX_WAIT_MS);
    }
    if (minIndex > 0 && view.index() <= minIndex) {
      if (waitMs <= 0) waitMs = DEFAULT_WAIT_MS;
      const timeoutMs = waitMs + Math.random() * (waitMs / 16);
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          target.waiters.delete(wake);
          res.off('close', done);
          resolve();
        };
        const wake = () => {
          if (view.index() > minIndex) done();
        };
        const timer = setTimeout(done, timeoutMs);
        target.waiters.add(wake);
        res.on('close', done);
      });
      if (res.destroyed || req.destroyed) return;
    }
    res.setHeader('X-Consul-Index', String(view.index()));
    res.setHeader('X-Consul-KnownLeader', 'true');
    res.setHeader('X-Consul-LastContact', '0');
    res.setHeader('X-Consul-Effective-Consistency', 'leader');
    json(res, 200, view.body());
  }

  function register(b: Record<string, unknown>, q: URLSearchParams): HttpFailure | undefined {
    const decodeFailed = (what: string) => ({ status: 400, message: `Request decode failed: ${what}` });
    const name = field(b, 'Name');
    if (name !== undefined && typeof name !== 'string') return decodeFailed('Name must be a string');
    if (!name) return { status: 400, message: 'Missing service name' };
    const id = field(b, 'ID') || name;
    if (typeof id !== 'string') return decodeFailed('ID must be a string');
    const address = field(b, 'Address') ?? '';
    if (typeof address !== 'string') return decodeFailed('Address must be a string');
    if (address === '0.0.0.0' || address === '::' || address === '[::]')
      return { status: 400, message: 'Invalid service address' };
    const port = field(b, 'Port') ?? 0;
    if (typeof port !== 'number' || !Number.isInteger(port)) return decodeFailed('Port must be an integer');
    const tags = field(b, 'Tags') ?? [];
    if (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string')) return decodeFailed('Tags must be strings');
    const meta = field(b, 'Meta') ?? {};
    if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) return decodeFailed('Meta must be a map');
    for (const v of Object.values(meta)) if (typeof v !== 'string') return decodeFailed('Meta values must be strings');
    const metaError = validateMeta(meta as Record<string, string>);
    if (metaError) return { status: 400, message: `Invalid Service Meta: ${metaError}` };
    const rawWeights = field(b, 'Weights');
    let weights = { Passing: 1, Warning: 1 };
    if (rawWeights !== undefined && rawWeights !== null) {
      if (typeof rawWeights !== 'object') return decodeFailed('Weights must be an object');
      const passing = field(rawWeights as Record<string, unknown>, 'Passing') ?? 0;
      const warning = field(rawWeights as Record<string, unknown>, 'Warning') ?? 0;
      if (!Number.isInteger(passing) || !Number.isInteger(warning)) return decodeFailed('Weights must be integers');
      weights = { Passing: passing as number, Warning: warning as number };
      if (weights.Passing < 1) return { status: 400, message: 'Invalid Weights: Passing must be greater than 0' };
      if (weights.Warning < 0)
        return { status: 400, message: 'Invalid Weights: Warning must be greater or equal than 0' };
      if (weights.Passing > 65535 || weights.Warning > 65535)
        return { status: 400, message: 'Invalid Weights: DNS Weight must be between 0 and 65535' };
    }
    const enableTagOverride = field(b, 'EnableTagOverride') === true;

    const defs: Record<string, unknown>[] = [];
    const single = field(b, 'Check');
    if (single !== undefined && single !== null) {
      if (typeof single !== 'object') return decodeFailed('Check must be an object');
      defs.push(single as Record<string, unknown>);
    }
    const many = field(b, 'Checks');
    if (many !== undefined && many !== null) {
      if (!Array.isArray(many)) return decodeFailed('Checks must be an array');
      defs.push(...(many as Record<string, unknown>[]));
    }
    const newChecks: Omit<CheckRecord, 'createIndex' | 'modifyIndex'>[] = [];
    for (const [i, def] of defs.entries()) {
      for (const unsupported of ['HTTP', 'TCP', 'Args', 'Script', 'GRPC', 'H2PING', 'UDP', 'AliasService', 'OSService'])
        if (field(def, unsupported) !== undefined)
          return { status: 400, message: `Invalid check: stand-in supports TTL checks only (got ${unsupported})` };
      const ttl = field(def, 'TTL');
      const ttlMs = typeof ttl === 'string' ? parseGoDuration(ttl) : undefined;
      if (ttlMs === undefined || ttlMs <= 0)
        return { status: 400, message: 'Invalid check: TTL must be > 0 for TTL checks' };
      const status = field(def, 'Status') ?? '';
      if (status !== '' && status !== 'passing' && status !== 'warning' && status !== 'critical')
        return { status: 400, message: "Status for checks must 'passing', 'warning', 'critical'" };
      const checkId = (field(def, 'CheckID') ?? field(def, 'ID') ?? '') as string;
      const checkName = (field(def, 'Name') ?? '') as string;
      const notes = (field(def, 'Notes') ?? '') as string;
      newChecks.push({
        id: checkId !== '' ? checkId : defs.length > 1 ? `service:${id}:${i + 1}` : `service:${id}`,
        name: checkName !== '' ? checkName : `Service '${name}' check`,
        status: status === '' ? 'critical' : (status as Status),
        notes,
        output: '',
        serviceId: id,
        serviceName: name,
        ttlMs,
      });
    }

    const next = {
      id,
      name,
      tags: tags as string[],
      address,
      port,
      meta: meta as Record<string, string>,
      weights,
      enableTagOverride,
    };
    const prev = dc.services.get(id);
    const prevChecks = [...dc.checks.values()].filter((c) => c.serviceId === id && !c.id.startsWith(MAINT_PREFIX));
    const replaceChecks = q.has('replace-existing-checks') && ['', 'true'].includes(q.get('replace-existing-checks')!);
    const sameService = prev !== undefined && sameRecord(prev, next);
    const sameChecks = newChecks.every((c) => {
      const p = dc.checks.get(c.id);
      return p !== undefined && p.serviceId === id && p.name === c.name && p.ttlMs === c.ttlMs && p.notes === c.notes;
    });
    const dropped = replaceChecks ? prevChecks.filter((p) => !newChecks.some((c) => c.id === p.id)) : [];
    if (sameService && sameChecks && dropped.length === 0) {
      // An idempotent write: a real catalog does not move its index for it. TTL clocks restart, as on re-add.
      for (const c of newChecks) {
        const p = dc.checks.get(c.id)!;
        if (p.ttlMs > 0) dc.armTtl(p);
      }
      return undefined;
    }
    const names = prev && prev.name !== name ? [prev.name, name] : [name];
    const idx = dc.bump(names, true);
    dc.services.set(id, { ...next, createIndex: prev?.createIndex ?? idx, modifyIndex: idx });
    for (const p of dropped) dc.removeCheck(p.id);
    for (const c of newChecks) {
      const p = dc.checks.get(c.id);
      // Re-adding a check keeps the state it had (as an agent does across re-registration and reloads).
      const check: CheckRecord = {
        ...c,
        status: p ? p.status : c.status,
        output: p ? p.output : c.output,
        createIndex: p?.createIndex ?? idx,
        modifyIndex: idx,
      };
      if (p?.timer) clearTimeout(p.timer);
      dc.checks.set(c.id, check);
      if (check.ttlMs > 0) dc.armTtl(check);
    }
    return undefined;
  }

  function deregister(id: string): HttpFailure | undefined {
    const svc = dc.services.get(id);
    if (!svc) return undefined; // documented: "If the service does not exist, no action is taken."
    dc.services.delete(id);
    for (const c of [...dc.checks.values()]) if (c.serviceId === id) dc.removeCheck(c.id);
    dc.bump([svc.name], true);
    if (![...dc.services.values()].some((s) => s.name === svc.name)) dc.serviceIndexes.delete(svc.name);
    return undefined;
  }

  function maintenance(id: string, q: URLSearchParams): HttpFailure | undefined {
    if (id === '') return { status: 400, message: 'Missing service ID' };
    if (!q.has('enable')) return { status: 400, message: 'Missing value for enable' };
    const enable = parseBool(q.get('enable')!);
    if (enable === undefined) return { status: 400, message: `Invalid value for enable: "${q.get('enable')}"` };
    const svc = dc.services.get(id);
    if (!svc) return { status: 404, message: `Unknown service ID "${id}"` };
    const checkId = `${MAINT_PREFIX}${id}`;
    if (enable) {
      if (dc.checks.has(checkId)) return undefined;
      const idx = dc.bump([svc.name], false);
      dc.checks.set(checkId, {
        id: checkId,
        name: 'Service Maintenance Mode',
        status: 'critical',
        notes: q.get('reason') || MAINT_DEFAULT_REASON,
        output: '',
        serviceId: id,
        serviceName: svc.name,
        ttlMs: 0,
        createIndex: idx,
        modifyIndex: idx,
      });
    } else if (dc.removeCheck(checkId)) {
      dc.bump([svc.name], false);
    }
    return undefined;
  }

  function updateCheck(id: string, status: Status, output: string): HttpFailure | undefined {
    const check = dc.checks.get(id);
    if (!check)
      return {
        status: 404,
        message: `Unknown check ID "${id}". Ensure that the check ID is passed, not the check name.`,
      };
    if (check.ttlMs <= 0) return { status: 500, message: `CheckID "${id}" does not have associated TTL` };
    dc.armTtl(check);
    dc.setCheckStatus(check, status, output);
    return undefined;
  }

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(boundPort, '127.0.0.1', () => {
        server.off('error', reject);
        dc.up = true;
        resolve();
      });
    });
  const close = () =>
    new Promise<void>((resolve) => {
      dc.up = false;
      if (!server.listening) return resolve();
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });

  let boundPort = options.port ?? 0;
  await listen();
  boundPort = (server.address() as { port: number }).port;

  const standIn: ConsulStandIn = {
    url: `http://127.0.0.1:${boundPort}`,
    address: `127.0.0.1:${boundPort}`,
    port: boundPort,
    datacenter: dcName,
    index: () => dc.raftIndex,
    async stop() {
      await close();
      dc.clearTimers();
    },
    async restart(opts = {}) {
      await close();
      if (opts.resetIndexes) dc.renumber();
      await listen();
    },
  };
  federations.set(standIn, federation);
  return standIn;
}

function param(m: RegExpMatchArray, i: number): string {
  return decodeURIComponent(m[i]!);
}

function listServices(dc: Datacenter): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const s of dc.services.values()) out[s.name] = [...new Set([...(out[s.name] ?? []), ...s.tags])];
  for (const k of Object.keys(out)) out[k]!.sort();
  return out;
}

function instances(dc: Datacenter, name: string, tags: readonly string[]): ServiceRecord[] {
  return [...dc.services.values()]
    .filter((s) => s.name === name && tags.every((t) => s.tags.includes(t)))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function nodeView(dc: Datacenter) {
  const a = dc.node.address;
  return {
    ID: dc.node.id,
    Node: dc.node.name,
    Address: a,
    Datacenter: dc.name,
    TaggedAddresses: { lan: a, lan_ipv4: a, wan: a, wan_ipv4: a },
    Meta: { 'consul-network-segment': '' },
    CreateIndex: 1,
    ModifyIndex: 1,
  };
}

function healthEntry(dc: Datacenter, s: ServiceRecord) {
  const checks = [...dc.checks.values()]
    .filter((c) => c.serviceId === '' || c.serviceId === s.id)
    .map((c) => ({
      Node: dc.node.name,
      CheckID: c.id,
      Name: c.name,
      Status: c.status,
      Notes: c.notes,
      Output: c.output,
      ServiceID: c.serviceId,
      ServiceName: c.serviceName,
      ServiceTags: c.serviceId === '' ? [] : s.tags,
      Type: c.ttlMs > 0 ? 'ttl' : c.serviceId === '' ? '' : 'maintenance',
      Interval: '',
      Timeout: '',
      ExposedPort: 0,
      Definition: {},
      CreateIndex: c.createIndex,
      ModifyIndex: c.modifyIndex,
    }));
  return {
    Node: nodeView(dc),
    Service: {
      ID: s.id,
      Service: s.name,
      Tags: s.tags,
      Address: s.address,
      Meta: s.meta,
      Port: s.port,
      Weights: s.weights,
      EnableTagOverride: s.enableTagOverride,
      Proxy: { Mode: '', MeshGateway: {}, Expose: {} },
      Connect: {},
      PeerName: '',
      CreateIndex: s.createIndex,
      ModifyIndex: s.modifyIndex,
    },
    Checks: checks,
  };
}

function catalogEntry(dc: Datacenter, s: ServiceRecord) {
  const node = nodeView(dc);
  return {
    ID: node.ID,
    Node: node.Node,
    Address: node.Address,
    Datacenter: dc.name,
    TaggedAddresses: node.TaggedAddresses,
    NodeMeta: node.Meta,
    ServiceKind: '',
    ServiceID: s.id,
    ServiceName: s.name,
    ServiceTags: s.tags,
    ServiceAddress: s.address,
    ServiceWeights: s.weights,
    ServiceMeta: s.meta,
    ServicePort: s.port,
    ServiceEnableTagOverride: s.enableTagOverride,
    ServiceProxy: { Mode: '', MeshGateway: {}, Expose: {} },
    ServiceConnect: {},
    CreateIndex: s.createIndex,
    ModifyIndex: s.modifyIndex,
  };
}

function sameRecord(a: ServiceRecord, b: Omit<ServiceRecord, 'createIndex' | 'modifyIndex'>): boolean {
  return (
    a.name === b.name &&
    a.address === b.address &&
    a.port === b.port &&
    a.enableTagOverride === b.enableTagOverride &&
    JSON.stringify(a.tags) === JSON.stringify(b.tags) &&
    JSON.stringify(a.meta) === JSON.stringify(b.meta) &&
    a.weights.Passing === b.weights.Passing &&
    a.weights.Warning === b.weights.Warning
  );
}

/** Consul's service metadata rules (at most 64 pairs; key charset and lengths; `consul-` reserved). */
function validateMeta(meta: Record<string, string>): string | undefined {
  const entries = Object.entries(meta);
  if (entries.length > 64) return 'Node metadata cannot contain more than 64 key/value pairs';
  for (const [k, v] of entries) {
    const why =
      k === ''
        ? 'Key cannot be blank'
        : !META_KEY.test(k)
          ? 'Key contains invalid characters'
          : k.length > 128
            ? 'Key is too long (limit: 128 characters)'
            : k.startsWith('consul-')
              ? "Key prefix 'consul-' is reserved for internal use"
              : v.length > 512
                ? 'Value is too long (limit: 512 characters)'
                : undefined;
    if (why) return `Couldn't load metadata pair ('${k}', '${v}'): ${why}`;
  }
  return undefined;
}

/** A field by Consul's decoding rules: key match ignores case, and snake_case spellings are accepted. */
function field(obj: Record<string, unknown>, name: string): unknown {
  const want = name.toLowerCase();
  for (const [k, v] of Object.entries(obj)) if (k.toLowerCase().replaceAll('_', '') === want) return v;
  return undefined;
}

async function readJson(req: IncomingMessage): Promise<{ value: Record<string, unknown> } | { failure: HttpFailure }> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return { value: {} };
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      return { failure: { status: 400, message: 'Request decode failed: body must be a JSON object' } };
    return { value: v as Record<string, unknown> };
  } catch (err) {
    return { failure: { status: 400, message: `Request decode failed: ${(err as Error).message}` } };
  }
}

/** Go's strconv.ParseBool. */
function parseBool(s: string): boolean | undefined {
  if (s === '') return true; // `?passing` with no value
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  return undefined;
}

const GO_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go's time.ParseDuration, in milliseconds ("10s", "1m30s", "250ms", "0"). */
function parseGoDuration(s: string): number | undefined {
  if (s === '0') return 0;
  if (!/^([0-9]*\.?[0-9]+(ns|us|µs|ms|s|m|h))+$/.test(s)) return undefined;
  let total = 0;
  for (const [, n, unit] of s.matchAll(/([0-9]*\.?[0-9]+)(ns|us|µs|ms|s|m|h)/g)) total += Number(n) * GO_UNITS[unit!]!;
  return total;
}

function result(res: ServerResponse, failure: HttpFailure | undefined): void {
  if (failure) return fail(res, failure);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': 0 });
  res.end();
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function fail(res: ServerResponse, f: HttpFailure): void {
  res.writeHead(f.status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(f.message),
  });
  res.end(f.message);
}

function notAllowed(res: ServerResponse, method: string): void {
  fail(res, { status: 405, message: `method ${method} not allowed` });
}
