/**
 * The callable services of a FileRegistry, and their methods by gRPC path. The reflection and health services
 * are infrastructure, not API: they are left out.
 */
import type { DescMethod, DescService, FileRegistry } from '@bufbuild/protobuf';

const HIDDEN_PACKAGES = ['grpc.reflection.', 'grpc.health.'];

export class ServiceCatalog {
  readonly #registry: FileRegistry;
  readonly #services: DescService[] = [];
  /** Keyed `pkg.Service/Method`. */
  readonly #methods = new Map<string, DescMethod>();

  constructor(registry: FileRegistry) {
    this.#registry = registry;
    for (const desc of registry) {
      if (desc.kind !== 'service' || HIDDEN_PACKAGES.some((prefix) => desc.typeName.startsWith(prefix))) continue;
      this.#services.push(desc);
      for (const method of desc.methods) this.#methods.set(`${desc.typeName}/${method.name}`, method);
    }
  }

  get registry(): FileRegistry {
    return this.#registry;
  }

  services(): DescService[] {
    return [...this.#services];
  }

  /** `/pkg.Service/Method` (the gRPC path) or `pkg.Service/Method`. */
  method(path: string): DescMethod | undefined {
    return this.#methods.get(path.startsWith('/') ? path.slice(1) : path);
  }
}
