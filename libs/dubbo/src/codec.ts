import {
  DubboError,
  DubboProtocolError,
  DubboServiceExceptionError,
  DubboStatusError,
  DubboTimeoutError,
} from './errors.ts';
import { fromHessian } from './from-hessian.ts';
import { encodeHessian, HessianReader, typed } from './hessian.ts';
import { parameterDescriptor } from './java-types.ts';

/** The protocol version Dubbo 2.7 and 3.x consumers send; providers answer with attachments from 2.0.2 on. */
export const DUBBO_VERSION = '2.0.2';
/** Dubbo's "no version": the service key of an unversioned service. */
const NO_VERSION = '0.0.0';

/** Dubbo's Response status byte. */
export const DubboStatus = {
  OK: 20,
  CLIENT_TIMEOUT: 30,
  SERVER_TIMEOUT: 31,
  BAD_REQUEST: 40,
  BAD_RESPONSE: 50,
  SERVICE_NOT_FOUND: 60,
  SERVICE_ERROR: 70,
  SERVER_ERROR: 80,
  CLIENT_ERROR: 90,
  SERVER_THREADPOOL_EXHAUSTED_ERROR: 100,
} as const;

/** The first value of an OK response body: what follows it. */
export const ResponseFlag = {
  WITH_EXCEPTION: 0,
  VALUE: 1,
  NULL_VALUE: 2,
  WITH_EXCEPTION_WITH_ATTACHMENTS: 3,
  VALUE_WITH_ATTACHMENTS: 4,
  NULL_VALUE_WITH_ATTACHMENTS: 5,
} as const;

export type Attachments = Record<string, string | number | boolean>;

export interface DubboInvocation {
  /** The service interface, e.g. `com.example.DemoService` (also the service path). */
  interface: string;
  version?: string;
  group?: string;
  method: string;
  /** Java parameter types (`java.lang.String`, `int`, `java.util.List<com.example.Item>`). */
  parameterTypes: readonly string[];
  /** Hessian-ready arguments (see `jsonToJava`), one per parameter type. */
  args: readonly unknown[];
  /** Extra attachments, sent next to path, interface, version, group and timeout. */
  attachments?: Attachments;
  /**
   * True (the default): a generic call, `$invoke(method, parameterTypes, args)` with `generic=true`, so the provider
   * converts map arguments to its POJOs and answers POJOs as maps. False: the method itself is called.
   */
  generic?: boolean;
}

export const GENERIC_METHOD = '$invoke';
const GENERIC_PARAMETER_TYPES = ['java.lang.String', 'java.lang.String[]', 'java.lang.Object[]'] as const;

/** The request body: version, path, service version, method, descriptor, arguments, attachments, in one stream. */
export function encodeRequestBody(call: DubboInvocation, timeoutMs: number): Buffer {
  if (call.args.length !== call.parameterTypes.length) {
    throw new TypeError(
      `${call.method}: ${call.args.length} arguments for ${call.parameterTypes.length} parameter types`,
    );
  }
  const generic = call.generic ?? true;
  const version = call.version ?? '';
  const attachments: Record<string, string> = {};
  for (const [k, v] of Object.entries(call.attachments ?? {})) attachments[k] = String(v);
  attachments.path = call.interface;
  attachments.interface = call.interface;
  if (version) attachments.version = version;
  if (call.group) attachments.group = call.group;
  attachments.timeout = String(timeoutMs);
  const method = generic ? GENERIC_METHOD : call.method;
  const types = generic ? GENERIC_PARAMETER_TYPES : call.parameterTypes;
  const args = generic
    ? [call.method, typed('[string', call.parameterTypes.map(erasure)), typed('[object', call.args)]
    : call.args;
  if (generic) attachments.generic = 'true';
  return encodeHessian([
    DUBBO_VERSION,
    call.interface,
    version || NO_VERSION,
    method,
    parameterDescriptor(types),
    ...args,
    attachments,
  ]);
}

/** `java.util.List<com.example.Item>` -> `java.util.List`: generic calls name erased parameter types. */
function erasure(type: string): string {
  const lt = type.indexOf('<');
  if (lt < 0) return type;
  const dims = type.slice(type.lastIndexOf('>') + 1).trim();
  return type.slice(0, lt).trim() + dims;
}

export interface DubboResult {
  /** The return value as plain JS (see `fromHessian`): null for void and null. */
  value: unknown;
  attachments: Record<string, unknown>;
}

/**
 * Decodes an answer: an OK body into its value (or throws the Java exception as `DubboServiceExceptionError`);
 * any other status into the matching `DubboError`.
 */
export function decodeResponse(status: number, body: Buffer, endpoint?: string): DubboResult {
  const reader = new HessianReader(body);
  if (status !== DubboStatus.OK) {
    let message = '';
    try {
      message = String(fromHessian(reader.read()) ?? '');
    } catch {
      message = '(no readable error message)';
    }
    throw statusError(status, message, endpoint);
  }
  let flag: unknown;
  try {
    flag = fromHessian(reader.read());
    switch (flag) {
      case ResponseFlag.VALUE:
      case ResponseFlag.VALUE_WITH_ATTACHMENTS: {
        const value = fromHessian(reader.read());
        const attachments = flag === ResponseFlag.VALUE_WITH_ATTACHMENTS ? readAttachments(reader) : {};
        return { value, attachments };
      }
      case ResponseFlag.NULL_VALUE:
      case ResponseFlag.NULL_VALUE_WITH_ATTACHMENTS: {
        const attachments = flag === ResponseFlag.NULL_VALUE_WITH_ATTACHMENTS ? readAttachments(reader) : {};
        return { value: null, attachments };
      }
      case ResponseFlag.WITH_EXCEPTION:
      case ResponseFlag.WITH_EXCEPTION_WITH_ATTACHMENTS: {
        const { javaClass, javaMessage } = describeException(reader.readPlain());
        throw new DubboServiceExceptionError(javaClass, javaMessage, endpoint);
      }
    }
  } catch (err) {
    if (err instanceof DubboError) throw err;
    throw new DubboProtocolError(`cannot decode the response body: ${(err as Error).message}`, {
      endpoint,
      cause: err,
    });
  }
  throw new DubboProtocolError(`unknown response flag ${String(flag)}`, { endpoint });
}

function readAttachments(reader: HessianReader): Record<string, unknown> {
  if (reader.done) return {};
  const value = fromHessian(reader.read());
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

const GENERIC_EXCEPTIONS = new Set([
  'org.apache.dubbo.rpc.service.GenericException',
  'com.alibaba.dubbo.rpc.service.GenericException',
]);

/**
 * The Java class and message of a thrown exception (read untyped: hessian.js makes it an Error named after the
 * class, with detailMessage as message, or the class name when there is none).
 *
 * A generic call's provider wraps the method's exception in GenericException, whose detailMessage is Dubbo's
 * `StringUtils.toString(cause)`: `X\nX\n\tat ...` where X is the cause's `class: message`. The cause is reported.
 */
export function describeException(raw: unknown): { javaClass: string; javaMessage: string } {
  if (!(raw instanceof Error)) {
    const fields = fromHessian(raw) as Record<string, unknown> | null;
    return { javaClass: 'java.lang.Throwable', javaMessage: String(fields?.detailMessage ?? '') };
  }
  const javaClass = raw.name;
  const javaMessage = raw.message === javaClass ? '' : raw.message;
  if (GENERIC_EXCEPTIONS.has(javaClass)) return wrappedCause(javaMessage) ?? { javaClass, javaMessage };
  return { javaClass, javaMessage };
}

function wrappedCause(detail: string): { javaClass: string; javaMessage: string } | undefined {
  const stackAt = detail.indexOf('\n\tat ');
  const head = stackAt < 0 ? detail : detail.slice(0, stackAt);
  // head is "X\nX": the cause's toString() twice.
  const half = (head.length - 1) / 2;
  const line = Number.isInteger(half) && head.slice(0, half) === head.slice(half + 1) ? head.slice(0, half) : head;
  const match = /^([\w$.]+)(?:: ([\s\S]*))?$/.exec(line);
  if (!match) return undefined;
  return { javaClass: match[1] as string, javaMessage: match[2] ?? '' };
}

/** The error for a non-OK status byte, with the HTTP status a transcoder answers. */
export function statusError(dubboStatus: number, message: string, endpoint?: string): DubboError {
  // The provider's message carries its Java stack trace: clients get the first line only.
  const text = message.split('\n', 1)[0]?.trim() || `dubbo status ${dubboStatus}`;
  switch (dubboStatus) {
    case DubboStatus.CLIENT_TIMEOUT:
    case DubboStatus.SERVER_TIMEOUT:
      return new DubboTimeoutError(`provider reported a timeout: ${text}`, endpoint);
    case DubboStatus.BAD_REQUEST:
      return new DubboStatusError('PORTICO_ERR_DUBBO_BAD_REQUEST', 400, dubboStatus, text, endpoint);
    case DubboStatus.SERVICE_NOT_FOUND:
      return new DubboStatusError('PORTICO_ERR_DUBBO_SERVICE_NOT_FOUND', 404, dubboStatus, text, endpoint);
    case DubboStatus.SERVICE_ERROR:
      // Dubbo reports an unexported service or an unknown method as SERVICE_ERROR with this wording.
      if (/Not found exported service|Not found invoker|No such method|not found method/i.test(text)) {
        return new DubboStatusError('PORTICO_ERR_DUBBO_SERVICE_NOT_FOUND', 404, dubboStatus, text, endpoint);
      }
      return new DubboStatusError('PORTICO_ERR_DUBBO_SERVICE_ERROR', 500, dubboStatus, text, endpoint);
    case DubboStatus.SERVER_THREADPOOL_EXHAUSTED_ERROR:
      return new DubboStatusError('PORTICO_ERR_DUBBO_PROVIDER_BUSY', 503, dubboStatus, text, endpoint);
    case DubboStatus.BAD_RESPONSE:
      return new DubboStatusError('PORTICO_ERR_DUBBO_BAD_RESPONSE', 502, dubboStatus, text, endpoint);
    case DubboStatus.SERVER_ERROR:
      return new DubboStatusError('PORTICO_ERR_DUBBO_SERVER_ERROR', 502, dubboStatus, text, endpoint);
    case DubboStatus.CLIENT_ERROR:
      return new DubboStatusError('PORTICO_ERR_DUBBO_CLIENT_ERROR', 502, dubboStatus, text, endpoint);
    default:
      return new DubboStatusError('PORTICO_ERR_DUBBO_UNKNOWN_STATUS', 502, dubboStatus, text, endpoint);
  }
}
