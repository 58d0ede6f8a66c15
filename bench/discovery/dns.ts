/**
 * DNS: time from a record change on a real DNS server (dnsmasq, testkit; records with a TTL of --ttl seconds) to
 * the source's sink call. Each change waits a random part of the TTL first, so changes don't lock onto the
 * re-resolve phase. Prints p50/p99/max for an A name and for an SRV name (SRV is re-resolved every minTtl, node
 * exposing no SRV TTL). Run: node bench/discovery/dns.ts [--changes 50] [--ttl 1] [--min-ttl 100ms]
 */
import { parseArgs } from 'node:util';
import { RegistrySpec } from '@portico/config';
import { BUILTIN_SOURCES, type SpecOf } from '@portico/discovery';
import { type DnsRecords, startDnsmasq } from '@portico/testkit';
import { percentile } from '../lib/stats.ts';
import { ViewSink } from '../lib/view-sink.ts';

const { values } = parseArgs({
  options: {
    changes: { type: 'string', default: '50' },
    ttl: { type: 'string', default: '1' },
    'min-ttl': { type: 'string', default: '100ms' },
  },
});
const changes = Number(values.changes);
const ttl = Number(values.ttl);
const factory = BUILTIN_SOURCES.dns;

const sink = new ViewSink();
const view = sink.view;
const until = (check: () => boolean) => sink.until(check);

const records = (i: number, srvPort: number): DnsRecords => ({
  hosts: { 'web.test': [`127.0.${Math.floor(i / 250)}.${(i % 250) + 1}`], 'srv-target.test': ['127.0.9.1'] },
  srv: { '_http._tcp.api.test': [{ target: 'srv-target.test', port: srvPort, priority: 0, weight: 1 }] },
});

const dns = await startDnsmasq({ records: records(0, 9000), ttl });
const source = factory({
  name: 'bench',
  sink,
  spec: RegistrySpec.parse({
    type: 'dns',
    addresses: [dns.address],
    minTtl: values['min-ttl'],
    names: [
      { name: 'web', host: 'web.test', port: 80 },
      { name: 'api', host: '_http._tcp.api.test', type: 'SRV' },
    ],
  }) as SpecOf<'dns'>,
});

function summary(label: string, samples: number[]): string {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p: number) => percentile(s, p * 100).toFixed(0);
  return `${label.padEnd(34)} n=${s.length} p50=${q(0.5)} ms p99=${q(0.99)} ms max=${s.at(-1)!.toFixed(0)} ms`;
}

try {
  await source.start();
  const a: number[] = [];
  const srv: number[] = [];
  let srvPort = 9000;
  for (let i = 1; i <= changes; i++) {
    await new Promise((r) => setTimeout(r, Math.random() * ttl * 1000));
    // A record: a SIGHUP reload of the hosts file.
    let t0 = performance.now();
    await dns.setRecords(records(i, srvPort));
    const address = records(i, srvPort).hosts!['web.test']![0];
    await until(() => view.get('web')?.endpoints[0]?.address === address);
    a.push(performance.now() - t0);
    if (i % 5 !== 0) continue;
    // SRV record: dnsmasq restarts to change it (every fifth round; a restart is a short resolver outage too).
    srvPort++;
    t0 = performance.now();
    await dns.setRecords(records(i, srvPort));
    await until(() => view.get('api')?.endpoints[0]?.port === srvPort);
    srv.push(performance.now() - t0);
  }
  process.stdout.write(`${summary(`A change -> sink (TTL ${ttl}s)`, a)}\n`);
  process.stdout.write(`${summary(`SRV change -> sink (minTtl ${values['min-ttl']})`, srv)}\n`);
} finally {
  await source.stop();
  await dns.stop();
}
