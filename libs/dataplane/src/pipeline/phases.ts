/**
 * The phases a request passes through, and the shape of everything that acts in them. A Route filter or a policy
 * compiles once per snapshot into `Phases`: plain functions the runner calls in order, with no per-request
 * allocation of its own.
 *
 *   request   before a backend is picked; may answer (a redirect, a CORS preflight, a refused credential), may be
 *             async (a token check against a key server)
 *   forward   the upstream request is built: edit its head and path, or copy it (a mirror)
 *   response  the response head on its way to the client
 */
import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import type { Readable } from 'node:stream';
import type { PorticoError } from '@portico/errors';
import type { HeaderMap } from '../forwarding.ts';
import type { Resolved } from '../resolve.ts';

/** What the listener a request came in on looks like to filters (redirects keep the scheme and port). */
export interface Listener {
  readonly scheme: 'http' | 'https';
  readonly port: number;
}

/** The request as filters and policies see it: an HTTP request or an Upgrade handshake. */
export interface ExchangeView {
  readonly req: IncomingMessage | Http2ServerRequest;
  readonly resolved: Resolved;
  readonly listener: Listener;
  /** The client address (the socket peer, or what a trusted proxy in front says). */
  readonly client: string;
  readonly requestId: string;
  /** True for an HTTP/1.1 Upgrade handshake (WebSocket): answers go to the raw socket. */
  readonly upgrade: boolean;
  /** Answers the request here and ends it; the pipeline stops. The body is text (JSON or empty). */
  respond(status: number, headers: HeaderMap, body?: string): void;
  /** Answers with a JSON error (4xx/5xx) and ends it; the pipeline stops. */
  fail(err: PorticoError): void;
}

/** The upstream request while the forward phase builds it. */
export interface ForwardRequest {
  readonly method: string;
  /** Without the query. */
  path: string;
  /** Without '?'; '' when none. */
  query: string;
  /** Flat [name, value, ...]: the incoming end-to-end fields, then Host and the forwarding fields. */
  readonly headers: string[];
  /** null when the request has none; a filter that reads it (a mirror) replaces it with what it hands on. */
  body: Readable | null;
}

/** true: the hook answered (the pipeline stops). A promise: the runner waits, then goes on or stops. */
export type Verdict = boolean | undefined | Promise<boolean | undefined>;

export interface Phases {
  request?: (ex: ExchangeView) => Verdict;
  forward?: (fwd: ForwardRequest, ex: ExchangeView) => void;
  response?: (headers: HeaderMap, ex: ExchangeView) => void;
}

/** A rule's or a backend's phases, flattened in run order once per snapshot. */
export interface PhaseLists {
  readonly request: ReadonlyArray<(ex: ExchangeView) => Verdict>;
  readonly forward: ReadonlyArray<(fwd: ForwardRequest, ex: ExchangeView) => void>;
  readonly response: ReadonlyArray<(headers: HeaderMap, ex: ExchangeView) => void>;
}

export const NO_PHASES: PhaseLists = Object.freeze({
  request: Object.freeze([]),
  forward: Object.freeze([]),
  response: Object.freeze([]),
});

/** Flattens phases in the order given (the order they run in). */
export function phaseLists(all: readonly Phases[]): PhaseLists {
  if (all.length === 0) return NO_PHASES;
  const request: Array<(ex: ExchangeView) => Verdict> = [];
  const forward: Array<(fwd: ForwardRequest, ex: ExchangeView) => void> = [];
  const response: Array<(headers: HeaderMap, ex: ExchangeView) => void> = [];
  for (const p of all) {
    if (p.request !== undefined) request.push(p.request);
    if (p.forward !== undefined) forward.push(p.forward);
    if (p.response !== undefined) response.push(p.response);
  }
  if (request.length === 0 && forward.length === 0 && response.length === 0) return NO_PHASES;
  return { request, forward, response };
}
