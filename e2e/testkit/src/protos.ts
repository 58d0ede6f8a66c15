/**
 * Compiles .proto files into a serialized google.protobuf.FileDescriptorSet with the `buf` CLI (protoc is not
 * installed here). The set is self-contained: every import is included, method options such as
 * `google.api.http` are kept, and `google/api/http.proto` and `google/api/annotations.proto` from
 * e2e/testkit/protos are importable from the compiled files.
 *
 * buf builds one workspace: a temp dir whose buf.yaml lists two modules, symlinks to the given dir and to the
 * test kit's protos, so neither is copied and file names stay relative to the given dir.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** e2e/testkit/protos: google/api/http.proto and google/api/annotations.proto. */
export const TESTKIT_PROTOS_DIR: string = resolve(fileURLToPath(import.meta.url), '../../protos');

const BUF_BIN = resolve(fileURLToPath(import.meta.url), '../../../../node_modules/.bin/buf');
const INSTALL_HINT = 'buf not found: run `npm install` at the repo root (devDependency @bufbuild/buf)';

/**
 * The FileDescriptorSet (binary) of every .proto file under `dir`, or only of `files` (paths relative to `dir`)
 * and their imports.
 */
export async function protoDescriptorSet(dir: string, files?: readonly string[]): Promise<Uint8Array> {
  if (!existsSync(BUF_BIN)) throw new Error(INSTALL_HINT);
  const source = resolve(dir);
  const workspace = mkdtempSync(join(tmpdir(), 'portico-buf-'));
  try {
    symlinkSync(source, join(workspace, 'protos'));
    const modules = ['protos'];
    // A dir that brings its own google/api files (or is the test kit's dir) must not get a second copy.
    if (!existsSync(join(source, 'google/api/http.proto'))) {
      symlinkSync(TESTKIT_PROTOS_DIR, join(workspace, 'testkit'));
      modules.push('testkit');
    }
    writeFileSync(
      join(workspace, 'buf.yaml'),
      `version: v2\nmodules:\n${modules.map((m) => `  - path: ${m}\n`).join('')}`,
    );
    const out = join(workspace, 'out.binpb');
    const paths = (files ?? []).flatMap((file) => ['--path', join('protos', file)]);
    try {
      await run(BUF_BIN, ['build', workspace, ...paths, '--as-file-descriptor-set', '-o', out], { cwd: workspace });
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr?.trim();
      throw new Error(`buf build of ${source} failed: ${stderr || (error as Error).message}`, { cause: error });
    }
    return new Uint8Array(readFileSync(out));
  } finally {
    rmSync(workspace, { recursive: true, force: true });
  }
}
