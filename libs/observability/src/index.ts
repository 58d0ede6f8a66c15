export { type AccessLogWriter, type AccessRecord, accessLogWriter } from './access-log.ts';
export { type ChannelDescriptor, defineChannel } from './channel.ts';
export { ClusterMetricsRegistry, mergeExpositions, shareWorkerMetrics } from './cluster-metrics.ts';
export { createLogger, flushLogger, type Logger, type LoggerOptions } from './logger.ts';
export {
  createMetricsRegistry,
  type DiscoveredSetView,
  ProxyMetrics,
  REQUEST_DURATION_BUCKETS,
  Registry,
  type RouteObserver,
} from './metrics.ts';
export {
  formatTraceparent,
  newRequestId,
  newSpanId,
  newTraceId,
  nextTraceparent,
  parseTraceparent,
  type TraceContext,
} from './trace-context.ts';
