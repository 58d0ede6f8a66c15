/**
 * Discovered service names, one convention per registry, shared by the syncer (which writes them) and the front
 * proxy (which looks a backendRef up by them). README: "Discovered service names".
 */
import type { RegistrySpec } from './registry.ts';

/** Dubbo interface-level: `providers:<interface>:<version>:<group>` (Dubbo's own service key shape). */
export function dubboServiceName(iface: string, version = '', group = ''): string {
  return `providers:${iface}:${version}:${group}`;
}

export const NACOS_DEFAULT_GROUP = 'DEFAULT_GROUP';
export const NACOS_DEFAULT_NAMESPACE = 'public';

/** Nacos: `<service>.<group>.<namespace>`. */
export function nacosServiceName(
  service: string,
  group = NACOS_DEFAULT_GROUP,
  namespace = NACOS_DEFAULT_NAMESPACE,
): string {
  return `${service}.${group}.${namespace}`;
}

/** Eureka app names are case-insensitive (the server upper-cases them); Portico names them in lower case. */
export function eurekaServiceName(app: string): string {
  return app.toLowerCase();
}

export interface ServiceRef {
  name: string;
  version?: string | undefined;
  group?: string | undefined;
}

/** The names a backendRef may mean in a registry, most specific first; the first that exists wins. */
export function candidateServiceNames(spec: RegistrySpec, ref: ServiceRef): string[] {
  switch (spec.type) {
    case 'zookeeper':
      if (ref.name.startsWith('providers:')) return [ref.name];
      if (ref.version !== undefined || ref.group !== undefined)
        return [dubboServiceName(ref.name, ref.version, ref.group)];
      // A Spring Cloud / Dubbo application name, else a Dubbo interface without version and group.
      return [ref.name, dubboServiceName(ref.name)];
    case 'nacos': {
      const namespace = spec.namespace ?? NACOS_DEFAULT_NAMESPACE;
      if (ref.group !== undefined) return [nacosServiceName(ref.name, ref.group, namespace)];
      return [ref.name, nacosServiceName(ref.name, NACOS_DEFAULT_GROUP, namespace)];
    }
    case 'eureka':
      return [eurekaServiceName(ref.name)];
    default:
      return [ref.name];
  }
}
