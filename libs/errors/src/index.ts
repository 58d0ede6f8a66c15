export { type ErrorDetail, isPorticoError, PorticoError, type PorticoErrorOptions } from './portico-error.ts';
