export { type RunningTranscoder, type TranscoderServiceOptions, transcoderService } from './service.ts';
