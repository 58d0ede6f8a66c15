/**
 * What a registry layout gets from the session core and gives back. The core owns the session, its watches and what
 * reaches the sink; a layout knows one way of laying services out in znodes and turns them into discovered services.
 */
import type { Stat } from 'node-zookeeper-client';
import type { DiscoveredService } from '../../source.ts';
import { ZooKeeperConfigError } from './errors.ts';

/**
 * The watched reads of one session. Its watch callbacks fire only while it is the source's current session, so what
 * a layout reads on one session never mixes with another's.
 */
export interface SessionTree {
  /** Runs `read` for the children of `path`, at most once at a time (a call meanwhile makes it run once more). */
  serialChildren(path: string, read: () => Promise<void>): Promise<void>;
  /** Same, for the data of `path`. */
  serialData(path: string, read: () => Promise<void>): Promise<void>;
  /**
   * Children with a child watch that calls `fire` on a change; for a missing node, null and an existence watch
   * (which fires on its creation).
   */
  children(path: string, fire: () => void): Promise<{ children: string[]; stat: Stat } | null>;
  /** Data (null when empty) and stat with a data watch calling `fire`, or null when the node doesn't exist. */
  data(path: string, fire: () => void): Promise<{ data: Buffer | null; stat: Stat } | null>;
  /** Drops the watch callback kept for `path`'s children (the node left the layout's view). */
  unwatchChildren(path: string): void;
  /** Drops the watch callback kept for `path`'s data. */
  unwatchData(path: string): void;
  /** A watch-driven read: its result is flushed to the sink; a failure other than the connection's re-lists. */
  track(read: Promise<void>): void;
}

/** The services a layout reports, shared by every layout of a source and published by the session core. */
export interface ServiceView {
  /** Sets (or, with undefined, removes) one service. */
  setService(name: string, service: DiscoveredService | undefined): void;
  /** One registration could not be understood; it is left out. */
  skipped(service: string, reason: string, raw?: string): void;
}

export interface ZkLayout {
  /**
   * Reads the layout's whole tree and sets its watches. `deep` (after connecting) re-reads every node's data too,
   * so every data watch is set again; otherwise only nodes not seen before are read.
   */
  list(tree: SessionTree, deep: boolean): Promise<void>;
  /** Forgets every node seen: a restarted source starts from nothing. */
  reset(): void;
}

export interface LayoutOptions {
  /** Where the layout's tree starts (normalized). */
  root: string;
  /** The Registry's `services` filter, or undefined for every service. */
  services: readonly string[] | undefined;
  view: ServiceView;
}

/** `path` without trailing slashes, checked to be an absolute ZooKeeper path; `field` names it in the error. */
export function normalizeRoot(path: string, field: string): string {
  const root = path.length > 1 ? path.replace(/\/+$/, '') : path;
  if (root === '' || /\/\/|\/\.\.?(\/|$)/.test(root))
    throw new ZooKeeperConfigError(`spec.${field}`, `"${path}" is not a valid ZooKeeper path`);
  return root;
}

export const joinPath = (parent: string, child: string) => (parent === '/' ? `/${child}` : `${parent}/${child}`);

export const errorMessage = (err: unknown) => (err instanceof Error ? err.message : String(err));
