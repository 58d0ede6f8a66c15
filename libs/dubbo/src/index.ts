export { type DubboCall, DubboClient, type DubboClientOptions, type DubboEndpoint } from './client.ts';
export {
  type Attachments,
  DUBBO_VERSION,
  type DubboInvocation,
  type DubboResult,
  DubboStatus,
  decodeResponse,
  describeException,
  encodeRequestBody,
  GENERIC_METHOD,
  ResponseFlag,
  statusError,
} from './codec.ts';
export { type ConnectionState, DubboConnection } from './connection.ts';
export * from './errors.ts';
export * from './frame.ts';
export { fromHessian } from './from-hessian.ts';
export { javaToJson } from './java-to-json.ts';
export { formatJavaType, type JavaType, parameterDescriptor, parseJavaType } from './java-types.ts';
export {
  type JavaTypeDefinition,
  type JavaTypeDefinitions,
  type JsonToJavaOptions,
  jsonToJava,
} from './json-to-java.ts';
export * from './metadata.ts';
export * from './rpc-mapping.ts';
export * from './transcoder.ts';
