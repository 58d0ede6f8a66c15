import type { ChildProcess } from 'node:child_process';

/** SIGTERM a server the test kit started, SIGKILL after `graceMs`, and wait for it to exit. */
export async function terminate(proc: ChildProcess, exited: Promise<void>, graceMs = 5000): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
