/** Every registry type Portico can watch, by Registry `spec.type`. */
import type { SourceFactories } from '../syncer.ts';
import { consulSource } from './consul/consul-source.ts';
import { dnsSource } from './dns/dns-source.ts';
import { eurekaSource } from './eureka/eureka-source.ts';
import { nacosSource } from './nacos/nacos-source.ts';
import { staticSource } from './static/static-source.ts';
import { zookeeperSource } from './zookeeper/zookeeper-source.ts';

export const BUILTIN_SOURCES = {
  consul: consulSource,
  dns: dnsSource,
  eureka: eurekaSource,
  nacos: nacosSource,
  static: staticSource,
  zookeeper: zookeeperSource,
} satisfies Required<SourceFactories>;
