/** The ZooKeeper source's errors (the lead may fold them into the discovery lib's errors.ts). */
import { PorticoError } from '@portico/errors';

/** The ensemble can't be reached, the session was lost, or a listing failed; passed to sink.down(). */
export class ZooKeeperUnavailableError extends PorticoError {
  constructor(message: string, cause?: unknown) {
    super('PORTICO_ERR_DISCOVERY_ZOOKEEPER_UNAVAILABLE', message, { status: 503, cause });
  }
}

/** A Registry spec the source can't use (thrown by the factory, before anything connects). */
export class ZooKeeperConfigError extends PorticoError {
  constructor(path: string, message: string) {
    super('PORTICO_ERR_DISCOVERY_ZOOKEEPER_CONFIG', `${path}: ${message}`, {
      status: 400,
      details: [{ path, message }],
    });
  }
}
