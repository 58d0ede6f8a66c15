/**
 * Typed diagnostics channels: each lib declares its events once with defineChannel (name + payload type) in its
 * own channels.ts, publishes through the descriptor, and the diagnostics wiring subscribes through the same
 * descriptor. Names follow one scheme: `portico:<lib>:<event>`, kebab-case.
 */
import { type Channel, channel } from 'node:diagnostics_channel';

export interface ChannelDescriptor<T> {
  readonly name: string;
  /** False when nobody listens: build the payload only when this is true. */
  readonly hasSubscribers: boolean;
  publish(payload: T): void;
  /** Returns the function that unsubscribes. */
  subscribe(listener: (payload: T) => void): () => void;
}

const NAME = /^portico:[a-z][a-z0-9-]*:[a-z][a-z0-9-]*$/;

class TypedChannel<T> implements ChannelDescriptor<T> {
  readonly name: string;
  readonly #channel: Channel;

  constructor(name: string) {
    this.name = name;
    this.#channel = channel(name);
  }

  get hasSubscribers(): boolean {
    return this.#channel.hasSubscribers;
  }

  publish(payload: T): void {
    if (this.#channel.hasSubscribers) this.#channel.publish(payload);
  }

  subscribe(listener: (payload: T) => void): () => void {
    const onMessage = (message: unknown) => listener(message as T);
    this.#channel.subscribe(onMessage);
    return () => this.#channel.unsubscribe(onMessage);
  }
}

export function defineChannel<T>(name: string): ChannelDescriptor<T> {
  if (!NAME.test(name)) throw new TypeError(`channel name "${name}" is not portico:<lib>:<event> in kebab-case`);
  return new TypedChannel<T>(name);
}
