/** Every registry type Portico can watch, by Registry `spec.type`. */
import type { SourceFactories } from '../syncer.ts';
import { consulSource } from './consul.ts';
import { dnsSource } from './dns.ts';
import { eurekaSource } from './eureka.ts';
import { nacosSource } from './nacos.ts';
import { staticSource } from './static.ts';
import { zookeeperSource } from './zookeeper.ts';

export const BUILTIN_SOURCES = {
  consul: consulSource,
  dns: dnsSource,
  eureka: eurekaSource,
  nacos: nacosSource,
  static: staticSource,
  zookeeper: zookeeperSource,
} satisfies Required<SourceFactories>;
