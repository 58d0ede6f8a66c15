export { type Running, type ServeOptions, serve } from './commands/serve.ts';
export { main } from './main.ts';
export { type Output, processOutput } from './output.ts';
