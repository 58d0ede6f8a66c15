export { findNatsServer, freePort, type NatsServer, type NatsServerOptions, startNatsServer } from './nats-server.ts';
