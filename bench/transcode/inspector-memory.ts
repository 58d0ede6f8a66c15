/**
 * Memory of a Node process started with `--inspect=127.0.0.1:0`, read through its inspector (the Chrome DevTools
 * protocol over WebSocket): a full garbage collection first (HeapProfiler.collectGarbage), then the process's
 * own `process.memoryUsage()`, so the heap figure is what is live, not what the collector has not reached yet.
 */
export interface MemorySample {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

export interface InspectorMemory {
  sample(): Promise<MemorySample>;
  close(): void;
}

/** The `ws://` address Node prints on stderr as `Debugger listening on ws://...`. */
export function inspectorUrl(stderr: string): string {
  const m = stderr.match(/Debugger listening on (ws:\/\/\S+)/);
  if (!m) throw new Error(`no inspector address in: ${stderr.slice(-400)}`);
  return m[1]!;
}

export async function connectInspectorMemory(url: string): Promise<InspectorMemory> {
  const socket = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener('open', () => resolve(), { once: true });
    socket.addEventListener('error', () => reject(new Error(`inspector ${url} refused the connection`)), {
      once: true,
    });
  });
  let nextId = 1;
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  socket.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown; error?: { message: string } };
    const waiter = message.id === undefined ? undefined : pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id!);
    if (message.error) waiter.reject(new Error(message.error.message));
    else waiter.resolve(message.result);
  });
  const send = (method: string, params: object = {}): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      socket.send(JSON.stringify({ id, method, params }));
    });
  return {
    async sample() {
      await send('HeapProfiler.collectGarbage');
      const result = (await send('Runtime.evaluate', {
        expression: 'JSON.stringify(process.memoryUsage())',
        returnByValue: true,
      })) as { result: { value: string } };
      return JSON.parse(result.result.value) as MemorySample;
    },
    close() {
      socket.close();
    },
  };
}
