/** Shared by the call tests: the demo protos' registry, message codecs and a listener that records a call. */
import {
  createFileRegistry,
  type FileRegistry,
  fromBinary,
  fromJson,
  type JsonValue,
  toBinary,
  toJson,
} from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import type { Metadata } from '@grpc/grpc-js';
import { protoDescriptorSet, TESTKIT_PROTOS_DIR } from '@portico/testkit';
import type { GrpcCall, GrpcCallListener, GrpcCallStatus } from '../src/index.ts';

export async function demoRegistry(): Promise<FileRegistry> {
  const bytes = await protoDescriptorSet(TESTKIT_PROTOS_DIR, ['portico/test/echo.proto']);
  return createFileRegistry(fromBinary(FileDescriptorSetSchema, bytes));
}

export interface Codec {
  encode(type: string, json: JsonValue): Uint8Array;
  /** proto3 JSON with every field, defaults included, under proto field names. */
  decode(type: string, bytes: Uint8Array): Record<string, unknown>;
}

export function codec(registry: FileRegistry): Codec {
  const schema = (type: string) => {
    const desc = registry.getMessage(`portico.test.${type}`);
    if (desc === undefined) throw new Error(`no message portico.test.${type}`);
    return desc;
  };
  return {
    encode: (type, json) => toBinary(schema(type), fromJson(schema(type), json)),
    decode: (type, bytes) =>
      toJson(schema(type), fromBinary(schema(type), bytes), {
        alwaysEmitImplicit: true,
        useProtoFieldName: true,
      }) as Record<string, unknown>,
  };
}

/** What a call delivered, in order; `ended` resolves with the final status. */
export interface Recording {
  events: string[];
  headers: Metadata | undefined;
  messages: Buffer[];
  status: GrpcCallStatus | undefined;
  ended: Promise<GrpcCallStatus>;
  drains: number;
}

/** A listener that records; with `pauseAfter: n` it returns false on the n-th message. */
export function recorder(opts: { pauseAfter?: number } = {}): { listener: GrpcCallListener; rec: Recording } {
  let resolve!: (status: GrpcCallStatus) => void;
  const rec: Recording = {
    events: [],
    headers: undefined,
    messages: [],
    status: undefined,
    ended: new Promise((r) => {
      resolve = r;
    }),
    drains: 0,
  };
  const listener: GrpcCallListener = {
    onHeaders(metadata) {
      rec.events.push('headers');
      rec.headers = metadata;
    },
    onMessage(message: Buffer, _call: GrpcCall) {
      if (rec.status !== undefined) throw new Error('message after the end');
      rec.events.push('message');
      rec.messages.push(message);
      return rec.messages.length !== opts.pauseAfter;
    },
    onEnd(status) {
      if (rec.status !== undefined) throw new Error('ended twice');
      rec.events.push('end');
      rec.status = status;
      resolve(status);
    },
    onDrain() {
      rec.drains += 1;
    },
  };
  return { listener, rec };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
