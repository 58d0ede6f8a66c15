import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/**
 * SIGTERM a process, SIGKILL it after `graceMs`, and wait for it to exit. `exited` is the caller's own exit
 * promise when it keeps one; otherwise the process's next 'exit' event.
 */
export async function terminate(proc: ChildProcess, exited?: Promise<unknown>, graceMs = 5000): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const done = exited ?? once(proc, 'exit');
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
  await done;
  clearTimeout(timer);
}
