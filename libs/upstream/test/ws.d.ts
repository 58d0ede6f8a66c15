// Just what the tests use of ws 8 (it ships no types and @types/ws is not installed).
declare module 'ws' {
  import type { EventEmitter } from 'node:events';
  import type { Server } from 'node:http';
  export class WebSocketServer extends EventEmitter {
    constructor(options: { server: Server });
    close(cb?: () => void): void;
  }
  export interface WebSocket extends EventEmitter {
    send(data: string | Buffer): void;
  }
}
