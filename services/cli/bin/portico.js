#!/usr/bin/env node
// The `portico` binary. Plain JS so it starts without a build; Node 24 runs the TypeScript it imports.
// The version check comes first and the sources are imported only after it: an older Node would otherwise
// stop at the first .ts import with "Unknown file extension".
import { nodeVersionProblem } from './node-version.js';

const problem = nodeVersionProblem(process.versions.node);
if (problem !== undefined) {
  process.stderr.write(`${problem}\n`);
  process.exitCode = 1;
} else {
  const { main } = await import('../src/main.ts');
  process.exitCode = await main(process.argv.slice(2));
}
