/**
 * What the bus knows of its NATS connection. The bus sets it from connection events and close(); the loader and
 * the writer read it to fail fast and to decide whether a resync may run.
 */
import { BusClosedError, BusUnavailableError } from '../errors.ts';
import { toBusError } from './failures.ts';

export class NatsLink {
  connected = true;
  closed = false;

  assertOpen(): void {
    if (this.closed) throw new BusClosedError();
  }

  /** Runs one NATS operation: fails fast when closed or disconnected, and maps its failure to a bus error. */
  async run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    this.assertOpen();
    if (!this.connected) throw new BusUnavailableError(`cannot ${what}: NATS is not connected`);
    try {
      return await fn();
    } catch (err) {
      throw this.toBusError(err, `cannot ${what}`);
    }
  }

  toBusError(err: unknown, what: string) {
    return toBusError(err, what, this.connected);
  }
}
