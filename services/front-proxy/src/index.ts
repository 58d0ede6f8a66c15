export { BadRequestError, NoRouteError, ProxyError } from './errors.ts';
export {
  CONFIG_APPLIED_CHANNEL,
  CONFIG_REJECTED_CHANNEL,
  type FrontProxy,
  type FrontProxyOptions,
  startFrontProxy,
} from './front-proxy.ts';
