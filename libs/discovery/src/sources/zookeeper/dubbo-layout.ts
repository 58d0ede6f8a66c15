/**
 * Dubbo's interface-level layout, as Dubbo's ZookeeperRegistry writes it:
 * `<root>/<url-encoded interface>/providers/<url-encoded Dubbo URL>`. One service per (interface, version, group),
 * `providers:<interface>:<version>:<group>`. The child's name is the registration; node data is not read. A
 * service's revision is its providers node's pzxid.
 */
import type { DiscoveredEndpoint } from '@portico/config';
import { type DubboProvider, decodeJavaUrlComponent, type Parsed, parseDubboProvider } from './dubbo-url.ts';
import {
  errorMessage,
  joinPath,
  type LayoutOptions,
  type ServiceView,
  type SessionTree,
  type ZkLayout,
} from './layout.ts';
import { eachLimited } from './pool.ts';
import { isConnectionError, zxid } from './session.ts';

/** Interfaces read at once by a listing (each is one child read). */
const IFACES_AT_ONCE = 256;

interface IfaceState {
  iface: string;
  /** Every child seen at the last read, parsed (kept so a re-read parses only new children). */
  parsed: Map<string, Parsed<DubboProvider>>;
  /** Service name -> its providers' child names, sorted: a service is published again only if they changed. */
  signatures: Map<string, string[]>;
}

export class DubboLayout implements ZkLayout {
  readonly #root: string;
  readonly #services: readonly string[] | undefined;
  readonly #view: ServiceView;
  /** By the interface's directory name (still URL-encoded). */
  #ifaces = new Map<string, IfaceState>();
  /** Directories whose name isn't a valid encoding, reported once while they exist. */
  #badDirs = new Set<string>();

  constructor(options: LayoutOptions) {
    this.#root = options.root;
    this.#services = options.services;
    this.#view = options.view;
  }

  reset(): void {
    this.#ifaces.clear();
    this.#badDirs.clear();
  }

  async list(tree: SessionTree): Promise<void> {
    const before = new Set(this.#ifaces.keys());
    // Reading the root reads every interface it adds; the ones known before are read again here.
    await this.#runRoot(tree);
    const known = [...this.#ifaces.keys()].filter((dir) => before.has(dir));
    await eachLimited(known, IFACES_AT_ONCE, (dir) => this.#runIface(tree, dir));
  }

  #providersPath(dir: string): string {
    return joinPath(joinPath(this.#root, dir), 'providers');
  }

  #runRoot(tree: SessionTree): Promise<void> {
    return tree.serialChildren(this.#root, () => this.#readRoot(tree));
  }

  #runIface(tree: SessionTree, dir: string): Promise<void> {
    return tree.serialChildren(this.#providersPath(dir), () => this.#readIface(tree, dir));
  }

  /** A backendRef may name the interface alone or one of its version/group services. */
  #wantIface(iface: string): boolean {
    const services = this.#services;
    return services === undefined || services.some((s) => s === iface || s.startsWith(`providers:${iface}:`));
  }

  async #readRoot(tree: SessionTree): Promise<void> {
    const children = await tree.children(this.#root, () => tree.track(this.#runRoot(tree)));
    const next = new Map<string, string>();
    const dirs = children?.children ?? [];
    const present = new Set(dirs);
    for (const dir of this.#badDirs) if (!present.has(dir)) this.#badDirs.delete(dir);
    for (const dir of dirs) {
      const iface = decodeJavaUrlComponent(dir);
      if (iface === undefined) {
        if (!this.#badDirs.has(dir)) {
          this.#badDirs.add(dir);
          this.#view.skipped(dir, 'bad URL encoding in the interface name', dir);
        }
        continue;
      }
      if (this.#wantIface(iface)) next.set(dir, iface);
    }
    for (const dir of this.#ifaces.keys()) if (!next.has(dir)) this.#dropIface(tree, dir);
    const added: string[] = [];
    for (const [dir, iface] of next) {
      if (this.#ifaces.has(dir)) continue;
      this.#ifaces.set(dir, { iface, parsed: new Map(), signatures: new Map() });
      added.push(dir);
    }
    await eachLimited(added, IFACES_AT_ONCE, (dir) => this.#runIface(tree, dir));
  }

  #dropIface(tree: SessionTree, dir: string): void {
    const state = this.#ifaces.get(dir);
    if (state === undefined) return;
    this.#ifaces.delete(dir);
    tree.unwatchChildren(this.#providersPath(dir));
    for (const name of state.signatures.keys()) this.#view.setService(name, undefined);
  }

  async #readIface(tree: SessionTree, dir: string): Promise<void> {
    const state = this.#ifaces.get(dir);
    if (state === undefined) return;
    const path = this.#providersPath(dir);
    let listed: { children: string[]; revision: string } | null;
    try {
      const res = await tree.children(path, () => {
        if (this.#ifaces.has(dir)) tree.track(this.#runIface(tree, dir));
      });
      listed = res === null ? null : { children: res.children, revision: zxid(res.stat.pzxid).toString() };
    } catch (err) {
      if (isConnectionError(err)) throw err;
      this.#view.skipped(state.iface, `cannot list ${path}: ${errorMessage(err)}`);
      return;
    }
    if (this.#ifaces.get(dir) !== state) return;

    const parsed = new Map<string, Parsed<DubboProvider>>();
    const groups = new Map<string, { children: string[]; endpoints: DiscoveredEndpoint[] }>();
    for (const child of (listed?.children ?? []).sort()) {
      let result = state.parsed.get(child);
      if (result === undefined) {
        result = parseDubboProvider(child, state.iface);
        // Reported once, when the child first shows up.
        if (!result.ok) this.#view.skipped(state.iface, result.reason, child);
      }
      parsed.set(child, result);
      if (!result.ok) continue;
      const { service, endpoint } = result.value;
      const services = this.#services;
      if (services !== undefined && !services.includes(service) && !services.includes(state.iface)) continue;
      let group = groups.get(service);
      if (group === undefined) {
        group = { children: [], endpoints: [] };
        groups.set(service, group);
      }
      group.children.push(child);
      group.endpoints.push(endpoint);
    }
    state.parsed = parsed;

    const signatures = new Map<string, string[]>();
    for (const [name, group] of groups) {
      signatures.set(name, group.children);
      const before = state.signatures.get(name);
      if (
        before === undefined ||
        before.length !== group.children.length ||
        before.some((c, i) => c !== group.children[i])
      )
        this.#view.setService(name, { name, endpoints: group.endpoints, revision: listed?.revision ?? '0' });
    }
    for (const name of state.signatures.keys()) if (!signatures.has(name)) this.#view.setService(name, undefined);
    state.signatures = signatures;
  }
}
