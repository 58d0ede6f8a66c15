/** The backend kinds the data plane knows, by backendRef `kind`. A new kind is one folder and one line here. */
import type { BackendRef } from '@portico/config';
import { directResponseKind } from './direct-response/index.ts';
import { dubboKind } from './dubbo/index.ts';
import { echoKind } from './echo/index.ts';
import { grpcKind } from './grpc/index.ts';
import type { BackendKindModule } from './kind.ts';
import { serviceKind } from './service/index.ts';

export const BACKEND_KINDS: { readonly [K in NonNullable<BackendRef['kind']>]: BackendKindModule } = {
  Service: serviceKind,
  Echo: echoKind,
  DirectResponse: directResponseKind,
  Grpc: grpcKind,
  Dubbo: dubboKind,
};
