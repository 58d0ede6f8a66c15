package com.example;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.dubbo.config.ApplicationConfig;
import org.apache.dubbo.config.ProtocolConfig;
import org.apache.dubbo.config.RegistryConfig;
import org.apache.dubbo.config.ServiceConfig;
import org.apache.dubbo.config.bootstrap.DubboBootstrap;

/**
 * A Dubbo 3.3 provider of {@link DemoService} (discovery tests) and {@link TypesService} (type mapping tests), both
 * on the same protocols, registries, version and group.
 *
 * <p>Arguments (--key=value): registry (zookeeper://127.0.0.1:2181 or nacos://127.0.0.1:8848, required), name (app
 * name, default dubbo-provider), version, group, weight (default 100), tri-port (default 50051), dubbo-port (default
 * 20880), host (an address to bind and register; 127.x is refused by Dubbo). Registers both interface-level and application-level (register-mode all).
 * Prints "PEER READY" once every service is exported and registered.
 */
public final class DubboProviderMain {
  private DubboProviderMain() {}

  public static void main(String[] argv) {
    Map<String, String> args = parse(argv);
    String registry = args.get("registry");
    if (registry == null || registry.isEmpty()) {
      System.err.println("usage: --registry=zookeeper://HOST:PORT|nacos://HOST:PORT [--name=APP] [--version=V]"
          + " [--group=G] [--weight=N] [--tri-port=N] [--dubbo-port=N] [--host=IP]");
      System.exit(2);
    }
    String name = args.getOrDefault("name", "dubbo-provider");
    // Dubbo refuses to register a 127.x address: without --host it binds 0.0.0.0 and registers the machine's
    // first non-loopback IPv4 address (127.0.0.1 only when there is none).
    String host = args.get("host");
    int triPort = Integer.parseInt(args.getOrDefault("tri-port", "50051"));
    int dubboPort = Integer.parseInt(args.getOrDefault("dubbo-port", "20880"));

    ApplicationConfig application = new ApplicationConfig(name);
    application.setRegisterMode("all");
    // Several providers run on one machine: no QoS port (22222 by default) and a short graceful-shutdown wait.
    application.setQosEnable(false);
    application.setShutwait("1000");
    application.setLogger("slf4j");

    // A killed provider's ephemeral nodes go when its ZooKeeper session expires (default 60 s). The parameter goes
    // in the address so the config-center and metadata clients derived from it (which share one ZooKeeper
    // connection with the registry) get it too.
    if (!registry.contains("session=")) registry += (registry.contains("?") ? "&" : "?") + "session=4000";
    RegistryConfig registryConfig = new RegistryConfig(registry);

    ProtocolConfig tri = new ProtocolConfig("tri", triPort);
    if (host != null) tri.setHost(host);
    ProtocolConfig dubbo = new ProtocolConfig("dubbo", dubboPort);
    if (host != null) dubbo.setHost(host);
    List<ProtocolConfig> protocols = new ArrayList<>(List.of(tri, dubbo));

    ServiceConfig<DemoService> service = new ServiceConfig<>();
    service.setInterface(DemoService.class);
    service.setRef(new DemoServiceImpl(name + ":" + triPort));
    configure(service, protocols, args);

    ServiceConfig<TypesService> types = new ServiceConfig<>();
    types.setInterface(TypesService.class);
    types.setRef(new TypesServiceImpl());
    configure(types, protocols, args);
    // TypesService#sleep outlives a caller's timeout on purpose; the provider-side timeout must not cut it short.
    types.setTimeout(60_000);

    DubboBootstrap bootstrap = DubboBootstrap.getInstance()
        .application(application)
        .registry(registryConfig)
        .protocols(protocols)
        .service(service)
        .service(types);
    bootstrap.start();
    System.out.println("PEER READY tri=" + triPort + " dubbo=" + dubboPort + " registry=" + registry);
    System.out.flush();
    bootstrap.await();
  }

  private static void configure(ServiceConfig<?> service, List<ProtocolConfig> protocols, Map<String, String> args) {
    service.setProtocols(protocols);
    if (args.containsKey("version")) service.setVersion(args.get("version"));
    if (args.containsKey("group")) service.setGroup(args.get("group"));
    service.setWeight(Integer.parseInt(args.getOrDefault("weight", "100")));
  }

  private static Map<String, String> parse(String[] argv) {
    Map<String, String> out = new HashMap<>();
    for (String a : argv) {
      if (!a.startsWith("--") || a.indexOf('=') < 0) {
        System.err.println("bad argument (want --key=value): " + a);
        System.exit(2);
      }
      int eq = a.indexOf('=');
      out.put(a.substring(2, eq), a.substring(eq + 1));
    }
    return out;
  }
}
