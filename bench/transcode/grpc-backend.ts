/**
 * The bench's gRPC backend in its own process: the test kit's grpc-js server (portico.test.Echo, with server
 * reflection) on 127.0.0.1. Prints `READY <port>` when it listens; stops on SIGTERM.
 *
 *   node bench/transcode/grpc-backend.ts [port]
 */
import { startGrpcServer } from '@portico/testkit';

const server = await startGrpcServer({ port: Number(process.argv[2] ?? 0) });
process.stdout.write(`READY ${server.port}\n`);
process.once('SIGTERM', () => {
  void server.close().then(() => process.exit(0));
});
