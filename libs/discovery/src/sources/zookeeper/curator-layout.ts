/**
 * Curator x-discovery's layout, as Spring Cloud Zookeeper and Dubbo 3 application-level registration write it:
 * `<root>/<name>/<id>`, each instance's data a ServiceInstance JSON. One service per `<name>`; every instance's
 * data is read and watched. A service's revision is the highest of its node's pzxid and its instances' mzxid.
 */
import type { DiscoveredEndpoint } from '@portico/config';
import { wanted } from '../../source.ts';
import { parseCuratorInstance } from './curator-instance.ts';
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

/** Services read at once by a listing (each one child read, plus one read per instance). */
const APPS_AT_ONCE = 64;
const INSTANCES_AT_ONCE = 256;
/** How much of an instance's data a skip report carries. */
const RAW_PREVIEW = 1024;

interface AppState {
  /** Set by a deep listing: the next read re-reads every instance's data (and so sets its watch again). */
  deep: boolean;
  pzxid: bigint;
  instances: Map<string, { mzxid: bigint; endpoint: DiscoveredEndpoint | undefined }>;
}

export class CuratorLayout implements ZkLayout {
  readonly #root: string;
  readonly #filter: { services: readonly string[] | undefined };
  readonly #view: ServiceView;
  #apps = new Map<string, AppState>();

  constructor(options: LayoutOptions) {
    this.#root = options.root;
    this.#filter = { services: options.services };
    this.#view = options.view;
  }

  reset(): void {
    this.#apps.clear();
  }

  async list(tree: SessionTree, deep: boolean): Promise<void> {
    const before = new Set(this.#apps.keys());
    // Reading the root reads every service it adds; the ones known before are read again here.
    await this.#runRoot(tree);
    const known = [...this.#apps.keys()].filter((name) => before.has(name));
    await eachLimited(known, APPS_AT_ONCE, (name) => {
      const app = this.#apps.get(name);
      if (app !== undefined && deep) app.deep = true;
      return this.#runApp(tree, name);
    });
  }

  #appPath(name: string): string {
    return joinPath(this.#root, name);
  }

  #runRoot(tree: SessionTree): Promise<void> {
    return tree.serialChildren(this.#root, () => this.#readRoot(tree));
  }

  #runApp(tree: SessionTree, name: string): Promise<void> {
    return tree.serialChildren(this.#appPath(name), () => this.#readApp(tree, name));
  }

  #runInstance(tree: SessionTree, name: string, id: string): Promise<void> {
    return tree.serialData(joinPath(this.#appPath(name), id), () => this.#readInstance(tree, name, id));
  }

  async #readRoot(tree: SessionTree): Promise<void> {
    const children = await tree.children(this.#root, () => tree.track(this.#runRoot(tree)));
    const next = new Set((children?.children ?? []).filter((name) => wanted(this.#filter, name)));
    for (const name of this.#apps.keys()) if (!next.has(name)) this.#dropApp(tree, name);
    const added = [...next].filter((name) => !this.#apps.has(name));
    for (const name of added) this.#apps.set(name, { deep: true, pzxid: 0n, instances: new Map() });
    await eachLimited(added, APPS_AT_ONCE, (name) => this.#runApp(tree, name));
  }

  #dropApp(tree: SessionTree, name: string): void {
    const app = this.#apps.get(name);
    if (app === undefined) return;
    this.#apps.delete(name);
    const path = this.#appPath(name);
    tree.unwatchChildren(path);
    for (const id of app.instances.keys()) tree.unwatchData(joinPath(path, id));
    this.#view.setService(name, undefined);
  }

  async #readApp(tree: SessionTree, name: string): Promise<void> {
    const app = this.#apps.get(name);
    if (app === undefined) return;
    const deep = app.deep;
    app.deep = false;
    const path = this.#appPath(name);
    let listed: { children: string[]; stat: { pzxid: Buffer } } | null;
    try {
      listed = await tree.children(path, () => {
        if (this.#apps.has(name)) tree.track(this.#runApp(tree, name));
      });
    } catch (err) {
      if (isConnectionError(err)) throw err;
      app.deep ||= deep;
      this.#view.skipped(name, `cannot list ${path}: ${errorMessage(err)}`);
      return;
    }
    if (this.#apps.get(name) !== app) return;
    if (listed === null) {
      // The service node is gone (the root's watch says so too).
      this.#dropApp(tree, name);
      return;
    }
    app.pzxid = zxid(listed.stat.pzxid);
    const ids = new Set(listed.children);
    for (const id of app.instances.keys()) {
      if (ids.has(id)) continue;
      app.instances.delete(id);
      tree.unwatchData(joinPath(path, id));
    }
    const toRead = listed.children.filter((id) => deep || !app.instances.has(id));
    await eachLimited(toRead, INSTANCES_AT_ONCE, (id) => this.#runInstance(tree, name, id));
    if (this.#apps.get(name) === app) this.#publishApp(name, app);
  }

  async #readInstance(tree: SessionTree, name: string, id: string): Promise<void> {
    const app = this.#apps.get(name);
    if (app === undefined) return;
    const path = joinPath(this.#appPath(name), id);
    let res: { data: Buffer | null; stat: { mzxid: Buffer } } | null;
    try {
      res = await tree.data(path, () => {
        const current = this.#apps.get(name);
        if (current === undefined) return;
        tree.track(
          this.#runInstance(tree, name, id).then(() => {
            // A deleted instance is published by the service's child watch, after it has read the instances that
            // arrived with the change: publishing here would show a moving single instance as an empty set.
            if (this.#apps.get(name) === current && current.instances.has(id)) this.#publishApp(name, current);
          }),
        );
      });
    } catch (err) {
      if (isConnectionError(err)) throw err;
      this.#view.skipped(name, `cannot read ${path}: ${errorMessage(err)}`);
      return;
    }
    if (this.#apps.get(name) !== app) return;
    if (res === null) {
      app.instances.delete(id);
      tree.unwatchData(path);
      return;
    }
    const mzxid = zxid(res.stat.mzxid);
    // Same version as last read (a deep listing re-reads to set the watch again): nothing to parse.
    if (app.instances.get(id)?.mzxid === mzxid) return;
    const parsed = parseCuratorInstance(res.data);
    if (!parsed.ok)
      this.#view.skipped(name, `instance ${id}: ${parsed.reason}`, res.data?.toString('utf8', 0, RAW_PREVIEW));
    app.instances.set(id, { mzxid, endpoint: parsed.ok ? parsed.value : undefined });
  }

  #publishApp(name: string, app: AppState): void {
    const endpoints: DiscoveredEndpoint[] = [];
    let revision = app.pzxid;
    for (const instance of app.instances.values()) {
      if (instance.endpoint !== undefined) endpoints.push(instance.endpoint);
      if (instance.mzxid > revision) revision = instance.mzxid;
    }
    this.#view.setService(name, { name, endpoints, revision: revision.toString() });
  }
}
