export {
  type FrontProxy,
  type FrontProxyOptions,
  startFrontProxy,
} from './front-proxy.ts';
export { type FrontProxyServiceOptions, frontProxyService, type RunningFrontProxy } from './service.ts';
