/** Sorts NATS client and JetStream failures into the bus's error kinds. */
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { errors as natsErrors } from '@nats-io/transport-node';
import { PorticoError } from '@portico/errors';
import { BusStoreError, BusUnavailableError } from '../errors.ts';

/** Errors that mean "NATS is not reachable right now" rather than "NATS refused this". */
export function isUnreachable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (
      e instanceof natsErrors.TimeoutError ||
      e instanceof natsErrors.NoRespondersError ||
      e instanceof natsErrors.ClosedConnectionError ||
      e instanceof natsErrors.ConnectionError ||
      e instanceof natsErrors.DrainingConnectionError
    ) {
      return true;
    }
    if (
      e instanceof JetStreamApiError &&
      (e.status === 503 || e.code === JetStreamApiCodes.JetStreamNotEnabledForAccount)
    ) {
      return true;
    }
    if (/jetstream not enabled|timeout|no responders/i.test(e.message)) return true;
  }
  return false;
}

/** A compare-and-set lost: the key's revision moved since it was read. */
export function isWrongLastSequence(err: unknown): boolean {
  return (
    err instanceof JetStreamApiError &&
    (err.code === JetStreamApiCodes.StreamWrongLastSequence ||
      err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}

/** A bus error for a failed operation: 503 when NATS is away (or `connected` is false), else a store error. */
export function toBusError(err: unknown, what: string, connected: boolean): PorticoError {
  if (err instanceof PorticoError) return err;
  if (!connected || isUnreachable(err)) return new BusUnavailableError(`${what}: NATS is unavailable`, err);
  return new BusStoreError(`${what}: ${err instanceof Error ? err.message : String(err)}`, err);
}
