/** Before `bash e2e/peers/build.sh` has run, a test that needs a Java peer fails at once with one clear line. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { JavaPeersNotBuiltError, requireJavaPeerJar } from '../src/java-peers.ts';

const dir = mkdtempSync(join(tmpdir(), 'portico-peers-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const jar = (m: string) => join(dir, m, 'target', `${m}.jar`);
// Only the Eureka server is "built".
mkdirSync(join(dir, 'eureka-server', 'target'), { recursive: true });
writeFileSync(jar('eureka-server'), '');

test('a built jar is returned as is', () => {
  assert.equal(requireJavaPeerJar(jar('eureka-server'), dir), jar('eureka-server'));
});

test('a missing jar throws one error naming every missing jar and the build command, with no stack frames', () => {
  assert.throws(
    () => requireJavaPeerJar(jar('dubbo-provider'), dir),
    (err: unknown) => {
      assert.ok(err instanceof JavaPeersNotBuiltError);
      assert.deepEqual(err.missing, [
        jar('spring-service'),
        jar('dubbo-provider'),
        jar('nacos-server'),
        jar('grpc-server'),
      ]);
      assert.match(
        err.message,
        /^the Java test peers are not built \(missing .*spring-service\.jar, .*dubbo-provider\.jar, .*nacos-server\.jar, .*grpc-server\.jar\); run: bash e2e\/peers\/build\.sh$/,
      );
      assert.equal(err.stack, `JavaPeersNotBuiltError: ${err.message}`);
      return true;
    },
  );
});

test('every test of a file whose before() needs a missing peer fails with the hint and no stack trace', () => {
  const file = join(dir, 'needs-peers.test.ts');
  const kit = fileURLToPath(new URL('../src/java-peers.ts', import.meta.url));
  writeFileSync(
    file,
    `import { before, test } from 'node:test';
import { requireJavaPeerJar } from ${JSON.stringify(kit)};
before(() => { requireJavaPeerJar(${JSON.stringify(jar('spring-service'))}, ${JSON.stringify(dir)}); });
test('first', () => {});
test('second', () => {});
`,
  );
  // Without NODE_TEST_CONTEXT, or the child runner thinks it is nested in this one and runs nothing.
  const res = spawnSync(process.execPath, ['--test', '--test-reporter=spec', file], {
    encoding: 'utf8',
    timeout: 20_000,
    env: { ...process.env, NODE_TEST_CONTEXT: undefined },
  });
  assert.equal(res.status, 1, res.stdout + res.stderr);
  const hints = res.stdout.match(/run: bash e2e\/peers\/build\.sh/g) ?? [];
  assert.ok(hints.length >= 2, `each failing test names the build command:\n${res.stdout}`);
  assert.doesNotMatch(res.stdout, /^\s+at /m, 'no stack frames');
  assert.match(res.stdout, /ℹ fail 2/);
  assert.match(res.stdout, /ℹ cancelled 0/);
});
