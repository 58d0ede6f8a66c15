export { type Backend, type EchoReply, startEchoBackend, startWebSocketBackend } from './backends.ts';
export { type SpringZookeeperInstanceOptions, springZookeeperInstance } from './curator.ts';
export { type DnsmasqServer, type DnsRecords, type StartDnsmasqOptions, startDnsmasq } from './dnsmasq.ts';
export * from './grpc.ts';
export {
  type DubboProviderPeer,
  type EurekaServerPeer,
  JAVA_GRPC_SERVER_PROTO_DIR,
  JAVA_PEER_JVM_FLAGS,
  JAVA_PEERS_DIR,
  type JavaGrpcServerPeer,
  type JavaPeer,
  type JavaPeerModule,
  type JavaPeerReady,
  JavaPeersNotBuiltError,
  javaPeerJar,
  requireJavaPeerJar,
  type SpringServicePeer,
  type StartDubboProviderOptions,
  type StartJavaGrpcServerOptions,
  type StartJavaPeerOptions,
  type StartSpringServiceOptions,
  startDubboProvider,
  startEurekaServer,
  startJavaGrpcServer,
  startJavaPeer,
  startSpringService,
} from './java-peers.ts';
export { type NacosServer, type StartNacosOptions, startNacos } from './nacos.ts';
export { findNatsServer, freePort, type NatsServer, type NatsServerOptions, startNatsServer } from './nats-server.ts';
export {
  PORTICO_BIN,
  type PorticoProcess,
  type StartPorticoOptions,
  startPortico,
  writeTempConfig,
} from './portico.ts';
export * from './protos.ts';
export {
  type RawHttpResponse,
  rawHttpExchange,
  type SelfSignedCertificate,
  selfSignedCertificate,
} from './raw-http.ts';
export { type ConsulStandIn, type ConsulStandInOptions, startConsulStandIn } from './standins/consul.ts';
export { type Arrivals, readArrivals } from './streams.ts';
export { terminate } from './terminate.ts';
export { type WaitOptions, waitUntil } from './wait.ts';
export { startZooKeeper, type ZooKeeperServer } from './zookeeper.ts';
