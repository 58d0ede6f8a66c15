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
  // A finished command exits even if a library left a handle open: nats.js keeps the socket of a connect that
  // timed out on a server that never spoke (nats-io/nats.js#64), which held `portico front-proxy` up after it
  // had reported the failure.
  process.exit(await main(process.argv.slice(2)));
}
