/** Opening the NATS connection and turning its status stream into bus events. */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { busChannels } from '../channels.ts';
import { BusUnavailableError } from '../errors.ts';
import type { ResolvedNatsBusOptions } from './options.ts';

/** Connects with reconnects that never stop; an unreachable server fails with BusUnavailableError. */
export async function openConnection(o: ResolvedNatsBusOptions): Promise<NatsConnection> {
  try {
    return await connect({
      servers: o.servers,
      name: o.name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: o.reconnectTimeWait,
      timeout: o.requestTimeout,
    });
  } catch (err) {
    throw new BusUnavailableError(`cannot connect to NATS at ${o.servers.join(', ')}`, err);
  }
}

export interface ConnectionHandlers {
  onDisconnect(): void;
  onReconnect(): void;
}

/**
 * Calls the handlers on disconnect and reconnect, then publishes busChannels.disconnect/reconnect.
 * Runs until the connection closes.
 */
export function followConnection(nc: NatsConnection, handlers: ConnectionHandlers): void {
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        handlers.onDisconnect();
        busChannels.disconnect.publish({ server: s.server });
      } else if (s.type === 'reconnect') {
        handlers.onReconnect();
        busChannels.reconnect.publish({ server: s.server });
      }
    }
  })();
}
