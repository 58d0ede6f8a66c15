/**
 * The default destination (FdLineBuffer) against real files and real processes: lines are held and written in
 * batches, and every line logged reaches the file however the process ends (return, process.exit, an uncaught
 * exception, a handled SIGTERM), in the order logged.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { waitUntil } from '@portico/testkit';
import { createLogger, FdLineBuffer, flushLogger } from '../src/logger.ts';

const dir = mkdtempSync(join(tmpdir(), 'portico-logger-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const LOGGER = resolve(import.meta.dirname, '../src/logger.ts');

let files = 0;
function tempFile(): { path: string; fd: number } {
  const path = join(dir, `log-${files++}.jsonl`);
  return { path, fd: openSync(path, 'w') };
}

const read = (path: string): string => readFileSync(path, 'utf8');
const parse = (text: string): Record<string, unknown>[] =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

test('lines are held until a batch is full, then written in one piece', (t) => {
  const { path, fd } = tempFile();
  const buffer = new FdLineBuffer({ fd, flushChars: 1000, flushDelayMs: 60_000 });
  t.after(() => {
    buffer.close();
    closeSync(fd);
  });
  const line = `${'x'.repeat(99)}\n`;
  for (let i = 0; i < 9; i++) buffer.write(line);
  assert.equal(read(path), '', 'nine lines of 100 stay in memory');
  assert.equal(buffer.pending, 900);
  buffer.write(line);
  assert.equal(read(path), line.repeat(10), 'the tenth fills the batch: all ten are written');
  assert.equal(buffer.pending, 0);
});

test('a line waits at most flushDelayMs', async (t) => {
  const { path, fd } = tempFile();
  const buffer = new FdLineBuffer({ fd, flushDelayMs: 50 });
  t.after(() => {
    buffer.close();
    closeSync(fd);
  });
  buffer.write('{"n":1}\n');
  assert.equal(read(path), '');
  const text = await waitUntil('the line to be written by the timer', () => read(path) || undefined, {
    timeoutMs: 2000,
  });
  assert.equal(text, '{"n":1}\n');
});

test('flushLogger writes what a logger holds, before the caller prints its last line', async (t) => {
  const { path, fd } = tempFile();
  const buffer = new FdLineBuffer({ fd, flushDelayMs: 60_000 });
  t.after(() => {
    buffer.close();
    closeSync(fd);
  });
  const logger = createLogger({ name: 'cli', destination: buffer });
  logger.info({ n: 1 }, 'one');
  logger.error({ n: 2 }, 'two');
  assert.equal(read(path), '');
  await flushLogger(logger);
  assert.deepEqual(
    parse(read(path)).map((l) => [l.msg, l.name, l.n]),
    [
      ['one', 'cli', 1],
      ['two', 'cli', 2],
    ],
  );
});

test('pino logger.flush(cb) writes the batch and calls back', async (t) => {
  const { path, fd } = tempFile();
  const buffer = new FdLineBuffer({ fd, flushDelayMs: 60_000 });
  t.after(() => {
    buffer.close();
    closeSync(fd);
  });
  const logger = createLogger({ destination: buffer });
  logger.info('held');
  await new Promise<void>((res, rej) => logger.flush((err) => (err ? rej(err) : res())));
  assert.equal(parse(read(path))[0]?.msg, 'held');
});

test('options are checked, naming the option', () => {
  assert.throws(() => new FdLineBuffer({ fd: -1 }), /options\.fd must be a file descriptor/);
  assert.throws(() => new FdLineBuffer({ fd: 1, flushChars: 0 }), /options\.flushChars must be a positive integer/);
  assert.throws(() => new FdLineBuffer({ fd: 1, flushDelayMs: 0 }), /options\.flushDelayMs must be above 0/);
});

/**
 * Runs a child process whose stdout is a file: it logs `count` lines through createLogger's default destination,
 * then ends as `how` says. Returns the exit code and the lines in the file.
 */
async function childLogs(
  how: 'return' | 'exit' | 'throw' | 'sigterm',
  count: number,
): Promise<{ code: number | null; lines: Record<string, unknown>[]; stderr: string }> {
  const { path, fd } = tempFile();
  const script = `
    import { createLogger } from ${JSON.stringify(LOGGER)};
    const how = process.argv[1];
    const count = Number(process.argv[2]);
    const logger = createLogger({ name: 'child' });
    if (how === 'sigterm') {
      // Logs a line every turn of the loop until SIGTERM, then one last line and returns (the CLI's shape).
      let n = 0;
      let timer;
      const tick = () => { logger.info({ n: n++ }, 'access'); timer = setTimeout(tick, 0); };
      process.once('SIGTERM', () => {
        clearTimeout(timer);
        logger.info({ n: n++, last: true }, 'stopped');
      });
      tick();
      process.stderr.write('READY\\n');
    } else {
      for (let n = 0; n < count; n++) logger.info({ n }, 'access');
      if (how === 'exit') process.exit(3);
      if (how === 'throw') throw new Error('crash after logging');
    }
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, how, String(count)], {
    stdio: ['ignore', fd, 'pipe'],
  });
  closeSync(fd);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const exited = once(child, 'exit') as Promise<[number | null]>;
  if (how === 'sigterm') {
    await waitUntil('the child to start logging', () => stderr.includes('READY'), { timeoutMs: 10_000 });
    // Let it log for a while (several batches and timer flushes) before the signal.
    await waitUntil('the child to log a few batches', () => read(path).length > 100_000 || undefined, {
      timeoutMs: 10_000,
    });
    child.kill('SIGTERM');
  }
  const [code] = await exited;
  return { code, lines: parse(read(path)), stderr };
}

/** Every n from 0 up, once each and in order. */
function assertAllInOrder(lines: Record<string, unknown>[], count: number): void {
  assert.equal(lines.length, count, `${count} lines`);
  const gaps = lines.map((l, i) => [i, l.n]).filter(([i, n]) => i !== n);
  assert.deepEqual(gaps.slice(0, 3), [], 'line i carries n = i');
}

test('a process that ends by itself writes every line', async () => {
  const { code, lines } = await childLogs('return', 5000);
  assert.equal(code, 0);
  assertAllInOrder(lines, 5000);
});

test('process.exit() writes every line', async () => {
  const { code, lines } = await childLogs('exit', 5000);
  assert.equal(code, 3);
  assertAllInOrder(lines, 5000);
});

test('an uncaught exception writes every line logged before it', async () => {
  const { code, lines, stderr } = await childLogs('throw', 5000);
  assert.equal(code, 1);
  assert.match(stderr, /crash after logging/);
  assertAllInOrder(lines, 5000);
});

test('a handled SIGTERM writes every line, the last one logged in the handler included', async () => {
  const { code, lines } = await childLogs('sigterm', 0);
  assert.equal(code, 0);
  const last = lines.at(-1);
  assert.equal(last?.last, true, 'the handler line is the last line');
  assert.ok(lines.length > 300, `several batches were logged (${lines.length} lines)`);
  assertAllInOrder(lines, lines.length);
});

test('a full pipe is waited for, not dropped', async () => {
  // 2 MB of lines into a 64 KiB pipe whose reader starts late: the writer waits for it. The banner first, as the
  // CLI prints it: opening process.stdout on a pipe makes the descriptor non-blocking, so a full pipe is EAGAIN.
  const script = `
    import { createLogger } from ${JSON.stringify(LOGGER)};
    process.stdout.write('banner\\n');
    const logger = createLogger();
    const pad = 'p'.repeat(150);
    for (let n = 0; n < 10000; n++) logger.info({ n, pad }, 'access');
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit') as Promise<[number | null]>;
  const ended = once(child.stdout, 'end');
  child.stdout.pause();
  // Not a wait for a condition: the reader stays away long enough for the child to fill the pipe.
  await new Promise((r) => setTimeout(r, 300));
  const chunks: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => chunks.push(c));
  child.stdout.resume();
  const [[code]] = await Promise.all([exited, ended]);
  assert.equal(code, 0);
  const [banner, ...lines] = Buffer.concat(chunks).toString('utf8').split('\n');
  assert.equal(banner, 'banner');
  assertAllInOrder(parse(lines.join('\n')), 10000);
});
