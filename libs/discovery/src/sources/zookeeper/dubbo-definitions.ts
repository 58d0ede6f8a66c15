/**
 * The service definitions Dubbo providers publish in the metadata report, read for the interface-level layout.
 * Dubbo 3.3 writes the FullServiceDefinition JSON of every exported interface to
 * `<dubboRoot>/metadata/<interface>[/<version>][/<group>]/provider/<application>` (an empty version or group has
 * no segment, as Dubbo's MetadataIdentifier leaves it out). Each followed node has a data watch (an existence
 * watch while it is missing), so a provider that rewrites its definition is seen at once.
 *
 * What a service gets: the node's text while it exists and fits EndpointSetSpec's limit; nothing when it is
 * missing, empty or too large (reported once per version of the node); the last text read when a read fails.
 */
import { EndpointSetSpec } from '@portico/config';
import { errorMessage, joinPath, type ServiceView, type SessionTree } from './layout.ts';
import { isConnectionError, zxid } from './session.ts';

/** The definition a service carries, and the node version it came from (for the service's revision). */
export interface ServiceDefinition {
  text: string;
  /** The definition node's mzxid. */
  revision: string;
}

interface Followed {
  /** The services that follow this node (several only when version and group fold to the same path). */
  services: Set<string>;
  definition: ServiceDefinition | undefined;
  /** The session tree this node was last read on; a new session (or a failed read) reads it again. */
  readOn: SessionTree | undefined;
  /** The mzxid last reported as unusable, so a listing does not report the same node twice. */
  reported: string | undefined;
}

export interface DubboDefinitionsOptions {
  /** The Dubbo root (normalized); the metadata report lives under `<root>/metadata`. */
  root: string;
  view: ServiceView;
  /** A watch-driven read changed a service's definition: the layout publishes it again. */
  changed(service: string): void;
}

/** Where Dubbo's metadata report keeps a provider application's definition of one service. */
export function definitionPath(root: string, iface: string, version: string, group: string, app: string): string {
  let path = joinPath(joinPath(root, 'metadata'), iface);
  if (version !== '') path = joinPath(path, version);
  if (group !== '') path = joinPath(path, group);
  return joinPath(joinPath(path, 'provider'), app);
}

const fitsSpec = (text: string) => EndpointSetSpec.shape.serviceDefinition.safeParse(text).success;

export class DubboDefinitions {
  readonly #root: string;
  readonly #view: ServiceView;
  readonly #changed: (service: string) => void;
  /** By node path. */
  #nodes = new Map<string, Followed>();
  /** Service name -> the path it follows. */
  #paths = new Map<string, string>();

  constructor(options: DubboDefinitionsOptions) {
    this.#root = options.root;
    this.#view = options.view;
    this.#changed = options.changed;
  }

  reset(): void {
    this.#nodes.clear();
    this.#paths.clear();
  }

  /** The definition `service` carries now, if any. */
  definition(service: string): ServiceDefinition | undefined {
    const path = this.#paths.get(service);
    return path === undefined ? undefined : this.#nodes.get(path)?.definition;
  }

  /**
   * Makes `service` follow the definition of `app` (undefined: its providers name no application, so none), and
   * resolves once that node has been read on this session.
   */
  async follow(
    tree: SessionTree,
    service: string,
    key: { iface: string; version: string; group: string },
    app: string | undefined,
  ): Promise<void> {
    const path = app === undefined ? undefined : definitionPath(this.#root, key.iface, key.version, key.group, app);
    if (this.#paths.get(service) !== path) {
      this.release(tree, service);
      if (path === undefined) return;
      this.#paths.set(service, path);
      let node = this.#nodes.get(path);
      if (node === undefined) {
        node = { services: new Set(), definition: undefined, readOn: undefined, reported: undefined };
        this.#nodes.set(path, node);
      }
      node.services.add(service);
    }
    if (path !== undefined && this.#nodes.get(path)?.readOn !== tree) await this.#run(tree, path);
  }

  /** `service` is gone (or follows another node): stops following its node once no service does. */
  release(tree: SessionTree, service: string): void {
    const path = this.#paths.get(service);
    if (path === undefined) return;
    this.#paths.delete(service);
    const node = this.#nodes.get(path);
    if (node === undefined) return;
    node.services.delete(service);
    if (node.services.size > 0) return;
    this.#nodes.delete(path);
    tree.unwatchData(path);
  }

  #run(tree: SessionTree, path: string): Promise<void> {
    return tree.serialData(path, () => this.#read(tree, path));
  }

  async #read(tree: SessionTree, path: string): Promise<void> {
    const node = this.#nodes.get(path);
    if (node === undefined) return;
    let res: Awaited<ReturnType<SessionTree['dataOrCreation']>>;
    try {
      res = await tree.dataOrCreation(path, () => {
        if (this.#nodes.get(path) === node) tree.track(this.#run(tree, path));
      });
    } catch (err) {
      if (isConnectionError(err)) throw err;
      // The last definition read stays; the next listing tries again.
      node.readOn = undefined;
      for (const service of node.services) this.#view.skipped(service, `cannot read ${path}: ${errorMessage(err)}`);
      return;
    }
    if (this.#nodes.get(path) !== node) return;
    node.readOn = tree;
    const next = this.#definitionOf(node, path, res);
    if (next?.revision === node.definition?.revision && next?.text === node.definition?.text) return;
    node.definition = next;
    for (const service of node.services) this.#changed(service);
  }

  #definitionOf(
    node: Followed,
    path: string,
    res: Awaited<ReturnType<SessionTree['dataOrCreation']>>,
  ): ServiceDefinition | undefined {
    if (res === null || res.data === null || res.data.length === 0) return undefined;
    const revision = zxid(res.stat.mzxid).toString();
    const text = res.data.toString('utf8');
    if (fitsSpec(text)) return { text, revision };
    if (node.reported !== revision) {
      node.reported = revision;
      const reason = `service definition at ${path} is ${text.length} characters, over EndpointSet's limit; left out`;
      for (const service of node.services) this.#view.skipped(service, reason);
    }
    return undefined;
  }
}
