/**
 * Spawns a process with its stdout redirected to a file (as `cmd > file`), for a Portico that writes its default
 * access log there, and resolves once `ready` matches the file's text. stderr is kept for the error message.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { terminate, waitUntil } from '@portico/testkit';

export interface SpawnedToFile {
  child: ChildProcess;
  match: RegExpMatchArray;
  stop(): Promise<void>;
}

export async function spawnStdoutToFile(
  cmd: string,
  args: string[],
  ready: RegExp,
  file: string,
  options: { cwd?: string; timeoutMs?: number } = {},
): Promise<SpawnedToFile> {
  const fd = openSync(file, 'w');
  const child = spawn(cmd, args, { cwd: options.cwd, stdio: ['ignore', fd, 'pipe'] });
  closeSync(fd);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-4000);
  });
  const stop = (): Promise<void> => terminate(child, undefined, 3000);
  try {
    const match = await waitUntil(
      `${cmd} to print ${ready}`,
      () => {
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(`exited (${child.signalCode ?? child.exitCode}) before ready: ${stderr.trim().slice(-800)}`);
        return readFileSync(file, 'utf8').match(ready) ?? undefined;
      },
      { timeoutMs: options.timeoutMs ?? 30_000, everyMs: 50 },
    );
    return { child, match, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
