#!/usr/bin/env node
// The `portico` binary. Plain JS so it starts without a build; Node 24 runs the TypeScript it imports.
import { main } from '../src/main.ts';

process.exitCode = await main(process.argv.slice(2));
