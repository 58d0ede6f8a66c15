/**
 * The data-plane core the services share: resolve a request to its compiled rule, run the pipeline of phases
 * (policies and Route filters), pick a backend and hand the request to the handler of its kind, with forwarding,
 * paths, clusters and the discovered index. The front proxy only adds listeners.
 */
export { checkAuthority, hostOfAuthority, requestAuthority } from './authority.ts';
export { type EchoReply, echoReply } from './backends/echo/index.ts';
export { type InProcessAnswer, inProcessBackend } from './backends/in-process.ts';
export { BACKEND_KINDS } from './backends/index.ts';
export type { BackendHandler, BackendKindModule, BackendTarget } from './backends/kind.ts';
export { type ConfigAppliedEvent, type ConfigRejectedEvent, proxyChannels } from './channels.ts';
export * from './errors.ts';
export { Exchange, type HandlerContext } from './exchange.ts';
export type { FilterModule } from './filters/filter.ts';
export { FILTERS } from './filters/index.ts';
export {
  clientAddress,
  endToEndResponseHeaders,
  forwardedHeadList,
  type HeaderMap,
  requestIdOf,
  TrustedProxies,
  trustedProxiesFrom,
} from './forwarding.ts';
export { createRequestHandler, loggedTarget, type ProxyResponse, sendError } from './http-exchange.ts';
export { DEFAULT_PATH_POLICY, type PathPolicy, parseTarget, resolvePathPolicy, type Target } from './paths.ts';
export {
  type ExchangeView,
  type ForwardRequest,
  type Listener,
  type PhaseLists,
  type Phases,
  phaseLists,
  type Verdict,
} from './pipeline/phases.ts';
export {
  type AttachedPolicy,
  NO_POLICIES,
  POLICY_ORDER,
  type PolicyAttachments,
  type PolicyCategory,
  type PolicySource,
} from './pipeline/policies.ts';
export { type ProxyRequest, type Resolved, resolveRoute } from './resolve.ts';
export { ClusterSet } from './snapshot/clusters.ts';
export type { CompileEnv, ServiceBackendRef } from './snapshot/compile-env.ts';
export { pickBackend } from './snapshot/pick.ts';
export {
  type CompiledBackend,
  type CompiledRule,
  type CompileOptions,
  compileSnapshot,
  type Snapshot,
} from './snapshot/snapshot.ts';
export { createUpgradeHandler, shouldUpgrade, upgradeProtocols } from './upgrade.ts';
