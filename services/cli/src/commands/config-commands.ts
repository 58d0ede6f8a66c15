/** validate, apply, get, delete, schema: the commands that read or write config. */
import {
  configJsonSchema,
  type EndpointSet,
  KINDS,
  type Kind,
  kindFromName,
  kindPlural,
  type Resource,
} from '@portico/config';
import { stringify } from 'yaml';
import { CliUsageError } from '../errors.ts';
import { formatError, loadFiles } from '../load.ts';
import type { Output } from '../output.ts';
import type { Remote } from '../remote.ts';

export interface RemoteFlags {
  server?: string | undefined;
  nats?: string | undefined;
}

/** Loaded on demand: the NATS client is only needed when a command talks to a gateway. */
async function openRemote(flags: RemoteFlags): Promise<Remote> {
  return (await import('../remote.ts')).openRemote(flags);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function requireFiles(files: string[] | undefined): string[] {
  if (files === undefined || files.length === 0) throw new CliUsageError('-f FILE is required (repeatable)');
  return files;
}

function parseKind(name: string | undefined): Kind {
  if (name === undefined) throw new CliUsageError(`a kind is required: ${KINDS.map(kindPlural).join(', ')}`);
  const kind = kindFromName(name);
  if (kind === undefined) throw new CliUsageError(`unknown kind "${name}"; known: ${KINDS.map(kindPlural).join(', ')}`);
  return kind;
}

export function validateCommand(files: string[] | undefined, out: Output): number {
  const loaded = loadFiles(requireFiles(files));
  for (const e of loaded.errors) out.err(formatError(e));
  if (loaded.errors.length > 0) {
    out.err(`${plural(loaded.errors.length, 'error')} in ${plural(loaded.files.length, 'file')}`);
    return 1;
  }
  const counts = new Map<string, number>();
  for (const r of loaded.resources) counts.set(r.kind, (counts.get(r.kind) ?? 0) + 1);
  const byKind = [...counts].map(([k, n]) => `${n} ${k}`).join(', ');
  out.out(
    `valid: ${plural(loaded.resources.length, 'resource')} in ${plural(loaded.files.length, 'file')}${byKind ? ` (${byKind})` : ''}`,
  );
  return 0;
}

export async function applyCommand(files: string[] | undefined, flags: RemoteFlags, out: Output): Promise<number> {
  const loaded = loadFiles(requireFiles(files));
  if (loaded.errors.length > 0) {
    for (const e of loaded.errors) out.err(formatError(e));
    out.err(`${plural(loaded.errors.length, 'error')}; nothing applied`);
    return 1;
  }
  if (loaded.resources.length === 0) {
    out.err('no resources in the given files; nothing applied');
    return 1;
  }
  const remote = await openRemote(flags);
  try {
    for (const r of await remote.apply(loaded.resources)) out.out(`${r.kind.toLowerCase()}/${r.name} ${r.result}`);
  } finally {
    await remote.close();
  }
  return 0;
}

export async function getCommand(
  positionals: string[],
  output: string | undefined,
  flags: RemoteFlags,
  out: Output,
): Promise<number> {
  const kind = parseKind(positionals[0]);
  const name = positionals[1];
  if (positionals.length > 2) throw new CliUsageError('usage: portico get <kind> [name]');
  const format = output ?? 'table';
  if (!['table', 'yaml', 'json'].includes(format))
    throw new CliUsageError(`-o must be table, yaml or json, got "${format}"`);
  const remote = await openRemote(flags);
  let items: Resource[];
  try {
    if (name !== undefined) {
      const found = await remote.get(kind, name);
      // Endpoint sets are asked for by the service's own name (`orders`, `providers:...`), in any registry.
      items =
        found !== undefined
          ? [found]
          : kind === 'EndpointSet'
            ? ((await remote.list('EndpointSet')) as EndpointSet[]).filter((s) => s.spec.service === name)
            : [];
      if (items.length === 0) {
        out.err(`${kind} "${name}" not found`);
        return 1;
      }
    } else items = await remote.list(kind);
    // The table of services shows what was discovered too, and from where.
    if (kind === 'Service' && name === undefined && format === 'table')
      items = [...items, ...(await remote.list('EndpointSet'))];
  } finally {
    await remote.close();
  }
  if (format === 'json') out.out(JSON.stringify(name !== undefined && items.length === 1 ? items[0] : items, null, 2));
  else if (format === 'yaml') out.out(items.map((r) => stringify(r).trimEnd()).join('\n---\n'));
  else if (items.length === 0) out.err(`no ${kindPlural(kind)} found`);
  else if (kind === 'EndpointSet' && name !== undefined)
    for (const line of endpointTable(items as EndpointSet[])) out.out(line);
  else for (const line of table(items)) out.out(line);
  return 0;
}

/** One row per endpoint: what the proxy may route to, and why not when it may not. */
export function endpointTable(sets: readonly EndpointSet[]): string[] {
  const rows = [['REGISTRY', 'SERVICE', 'ADDRESS', 'PORT', 'WEIGHT', 'HEALTHY', 'PROTOCOL', 'ZONE', 'STALE']];
  for (const { spec } of sets)
    for (const e of spec.endpoints)
      rows.push([
        spec.registry,
        spec.service,
        e.address,
        String(e.port),
        String(e.weight),
        String(e.healthy),
        e.protocol,
        e.zone ?? '-',
        String(spec.stale),
      ]);
  if (rows.length === 1) return [...sets.map((s) => `${s.spec.registry} ${s.spec.service}: no endpoints`)];
  return columns(rows);
}

function columns(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) =>
    row
      .map((cell, i) => (i < row.length - 1 ? cell.padEnd(widths[i]! + 3) : cell))
      .join('')
      .trimEnd(),
  );
}

export async function deleteCommand(positionals: string[], flags: RemoteFlags, out: Output): Promise<number> {
  const kind = parseKind(positionals[0]);
  const name = positionals[1];
  if (name === undefined || positionals.length > 2) throw new CliUsageError('usage: portico delete <kind> <name>');
  const remote = await openRemote(flags);
  try {
    if (!(await remote.delete(kind, name))) {
      out.err(`${kind} "${name}" not found`);
      return 1;
    }
  } finally {
    await remote.close();
  }
  out.out(`${kind.toLowerCase()}/${name} deleted`);
  return 0;
}

export function schemaCommand(out: Output): number {
  out.out(JSON.stringify(configJsonSchema(), null, 2));
  return 0;
}

/** `5s`, `3m`, `2h`, `4d` since the resource was first written. */
export function age(created: string | undefined, now = Date.now()): string {
  if (created === undefined) return '-';
  const s = Math.max(0, Math.floor((now - Date.parse(created)) / 1000));
  if (Number.isNaN(s)) return '-';
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172_800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

export function summary(r: Resource): string {
  switch (r.kind) {
    case 'Route': {
      const hosts = r.spec.hostnames?.join(',') || '*';
      const backends = [...new Set(r.spec.rules.flatMap((rule) => (rule.backendRefs ?? []).map((b) => b.name)))];
      return `hosts=${hosts} rules=${r.spec.rules.length} backends=${backends.join(',') || '-'}`;
    }
    case 'Service': {
      const eps = r.spec.endpoints.map((e) => `${e.address}:${e.port}`);
      const shown = eps.length > 3 ? `${eps.slice(0, 3).join(',')},+${eps.length - 3}` : eps.join(',') || '-';
      return `protocol=${r.spec.protocol} endpoints=${shown}`;
    }
    case 'Certificate':
      return `hosts=${r.spec.hostnames.join(',') || '(default)'}`;
    case 'Registry':
      return r.spec.type === 'static'
        ? `type=static services=${r.spec.static.length}`
        : r.spec.type === 'dns'
          ? `type=dns names=${r.spec.names.length}`
          : `type=${r.spec.type} addresses=${r.spec.addresses.join(',')}`;
    case 'EndpointSet': {
      const healthy = r.spec.endpoints.filter((e) => e.healthy && e.weight > 0).length;
      return `registry=${r.spec.registry} service=${r.spec.service} endpoints=${healthy}/${r.spec.endpoints.length}${r.spec.stale ? ' STALE' : ''}`;
    }
    case 'DirectResponse':
      return `status=${r.spec.status} type=${r.spec.contentType} bytes=${Buffer.byteLength(r.spec.body)}`;
    case 'RpcMapping':
      return `interface=${r.spec.interface} methods=${r.spec.methods.length}`;
  }
}

export function table(items: readonly Resource[], now = Date.now()): string[] {
  const rows = [
    ['KIND', 'NAME', 'AGE', 'SUMMARY'],
    ...items.map((r) => [r.kind, r.metadata.name, age(r.metadata.creationTimestamp, now), summary(r)]),
  ];
  return columns(rows);
}
