export {
  type FrontProxy,
  type FrontProxyOptions,
  startFrontProxy,
} from './front-proxy.ts';
