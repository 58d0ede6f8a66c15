/** Every registry type Portico can watch, by Registry `spec.type`. */
import type { SourceFactories } from '../syncer.ts';

export const BUILTIN_SOURCES: SourceFactories = {};
