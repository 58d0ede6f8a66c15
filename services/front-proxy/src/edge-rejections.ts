/**
 * What the listeners refuse or cut (malformed heads, slow clients, HTTP/2 floods, failed TLS handshakes): each one
 * counts in `portico_edge_rejections_total{reason}` and logs at `warn`, at most one line per reason per window, so
 * an attack shows up in the log without being able to flood it.
 */
import type { Logger, ProxyMetrics } from '@portico/observability';

/** A small fixed set: metric label values never come from a client. */
export const EDGE_REJECTION_REASONS = [
  /** HTTP/1.1 parser refused the request (400). */
  'bad_request',
  /** HTTP/1.1 head over maxHeaderBytes (431). */
  'headers_too_large',
  /** The request head (or, on the plain port, the first bytes) did not arrive within headersTimeoutMs. */
  'headers_timeout',
  /** The whole HTTP/1.1 request, body included, did not arrive within requestTimeoutMs. */
  'request_timeout',
  /** An HTTP/1.1 connection in the middle of a request moved no byte for idleTimeoutMs. */
  'idle_timeout',
  /** An HTTP/2 stream moved no byte for http2StreamIdleTimeoutMs (reset with CANCEL). */
  'h2_stream_idle',
  /**
   * An HTTP/2 session ended by nghttp2 with GOAWAY: streams over the advertised limit, stream resets over the
   * rate (rapid reset, CVE-2023-44487), invalid frames or other floods. The log line's `likely` field guesses which.
   */
  'h2_session_error',
  /** A TLS handshake failed (no shared version or cipher, bad record, client gone). */
  'tls_handshake',
  /** A TLS handshake did not finish within headersTimeoutMs. */
  'tls_handshake_timeout',
] as const;

export type EdgeRejectionReason = (typeof EDGE_REJECTION_REASONS)[number];

const MESSAGES: Readonly<Record<EdgeRejectionReason, string>> = {
  bad_request: 'malformed request refused',
  headers_too_large: 'request head too large',
  headers_timeout: 'request head not received in time; connection closed',
  request_timeout: 'request not received in time; connection closed',
  idle_timeout: 'connection idle in the middle of a request; closed',
  h2_stream_idle: 'HTTP/2 stream idle; reset',
  h2_session_error: 'HTTP/2 session error (flood or protocol violation); closed with GOAWAY',
  tls_handshake: 'TLS handshake failed',
  tls_handshake_timeout: 'TLS handshake not finished in time; connection closed',
};

interface Window {
  /** Lines for this reason are suppressed until then (ms since epoch). */
  until: number;
  suppressed: number;
  timer: NodeJS.Timeout | undefined;
}

export class EdgeRejections {
  readonly #logger: Logger;
  readonly #metrics: ProxyMetrics;
  readonly #intervalMs: number;
  readonly #windows = new Map<EdgeRejectionReason, Window>();

  constructor(logger: Logger, metrics: ProxyMetrics, intervalMs: number) {
    if (!(intervalMs >= 0)) throw new TypeError(`edgeLogIntervalMs must be >= 0, got ${intervalMs}`);
    this.#logger = logger;
    this.#metrics = metrics;
    this.#intervalMs = intervalMs;
    // Every reason shows as 0 from the first scrape, so a rate() over it works before the first attack.
    for (const reason of EDGE_REJECTION_REASONS) metrics.edgeRejections.inc({ reason }, 0);
  }

  /** Counts one rejection; logs it unless a line for the same reason went out less than a window ago. */
  reject(reason: EdgeRejectionReason, fields: Record<string, unknown> = {}): void {
    this.#metrics.edgeRejections.inc({ reason });
    const now = Date.now();
    let w = this.#windows.get(reason);
    if (w === undefined) {
      w = { until: 0, suppressed: 0, timer: undefined };
      this.#windows.set(reason, w);
    }
    if (now >= w.until) {
      w.until = now + this.#intervalMs;
      this.#logger.warn({ event: 'edge-rejection', reason, ...fields }, MESSAGES[reason]);
      return;
    }
    w.suppressed++;
    // The count of suppressed lines goes out when the window ends, even if the attack stopped.
    w.timer ??= setTimeout(() => this.#flush(reason, w), w.until - now).unref();
  }

  #flush(reason: EdgeRejectionReason, w: Window): void {
    w.timer = undefined;
    if (w.suppressed === 0) return;
    this.#logger.warn(
      { event: 'edge-rejection', reason, suppressed: w.suppressed, windowMs: this.#intervalMs },
      `${MESSAGES[reason]} (${w.suppressed} more like this, not logged one by one)`,
    );
    w.suppressed = 0;
    w.until = Date.now() + this.#intervalMs;
  }

  /** Stops the pending summary timers (the counts are in the metric already). */
  close(): void {
    for (const w of this.#windows.values()) {
      if (w.timer !== undefined) clearTimeout(w.timer);
      w.timer = undefined;
    }
  }
}
