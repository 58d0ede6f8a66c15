export { type ConfigAppliedEvent, type ConfigRejectedEvent, proxyChannels } from './channels.ts';
