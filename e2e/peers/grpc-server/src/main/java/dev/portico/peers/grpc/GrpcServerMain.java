package dev.portico.peers.grpc;

import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.ProtoReflectionService;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.grpc.util.TransmitStatusRuntimeExceptionInterceptor;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * A grpc-java server of portico.java.v1.Library on 127.0.0.1, with server reflection v1 and v1alpha.
 *
 * <p>Arguments: --port=N (default 0: any free port). Prints "PEER READY grpc=<port>" once listening. On SIGTERM it
 * stops taking calls, gives running ones a second (open WatchShelf streams are then cancelled) and exits.
 */
public final class GrpcServerMain {
  private GrpcServerMain() {}

  public static void main(String[] argv) throws IOException, InterruptedException {
    int port = 0;
    for (String a : argv) {
      if (a.startsWith("--port=")) {
        port = Integer.parseInt(a.substring("--port=".length()));
      } else {
        System.err.println("usage: [--port=N]   (0 or absent: any free port)");
        System.exit(2);
      }
    }

    Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port))
        .addService(ServerInterceptors.intercept(
            new LibraryService(BookStore.seeded()), TransmitStatusRuntimeExceptionInterceptor.instance()))
        // Both serve the descriptors protoc embedded in the generated classes, method options included.
        .addService(ProtoReflectionServiceV1.newInstance())
        .addService(v1alphaReflection())
        .build()
        .start();

    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      server.shutdown();
      try {
        if (!server.awaitTermination(1, TimeUnit.SECONDS)) server.shutdownNow().awaitTermination(2, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "grpc-server-shutdown"));

    System.out.println("PEER READY grpc=" + server.getPort());
    System.out.flush();
    server.awaitTermination();
  }

  /** grpc-java marks the v1alpha service deprecated in favour of v1; clients such as grpcurl still ask it first. */
  @SuppressWarnings("deprecation")
  private static io.grpc.BindableService v1alphaReflection() {
    return ProtoReflectionService.newInstance();
  }
}
