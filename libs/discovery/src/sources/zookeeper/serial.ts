/**
 * At most one read per key at a time. A request that arrives while that key's read runs makes it run once more
 * afterwards (and shares its promise), so results land in order and a burst of watch events costs two reads.
 */
export class KeyedSerial {
  readonly #running = new Map<string, { again: boolean; done: Promise<void> }>();

  run(key: string, read: () => Promise<void>): Promise<void> {
    const running = this.#running.get(key);
    if (running !== undefined) {
      running.again = true;
      return running.done;
    }
    const entry = { again: false, done: Promise.resolve() };
    this.#running.set(key, entry);
    entry.done = (async () => {
      try {
        do {
          entry.again = false;
          await read();
        } while (entry.again);
      } finally {
        this.#running.delete(key);
      }
    })();
    return entry.done;
  }
}
