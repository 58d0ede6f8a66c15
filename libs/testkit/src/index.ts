export { type Backend, type EchoReply, startEchoBackend, startWebSocketBackend } from './backends.ts';
export { type DnsmasqServer, type DnsRecords, type StartDnsmasqOptions, startDnsmasq } from './dnsmasq.ts';
export { findNatsServer, freePort, type NatsServer, type NatsServerOptions, startNatsServer } from './nats-server.ts';
export {
  PORTICO_BIN,
  type PorticoProcess,
  type StartPorticoOptions,
  startPortico,
  writeTempConfig,
} from './portico.ts';
export { type ConsulStandIn, type ConsulStandInOptions, startConsulStandIn } from './standins/consul.ts';
export { startZooKeeper, type ZooKeeperServer } from './zookeeper.ts';
