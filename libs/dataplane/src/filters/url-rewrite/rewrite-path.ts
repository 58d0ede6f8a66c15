import type { PathModifier } from '@portico/config';
import { replacePrefix } from '../../paths.ts';

export function rewritePath(path: string, modifier: PathModifier, matchedPrefix: string | undefined): string {
  if (modifier.type === 'ReplaceFullPath') return modifier.replaceFullPath;
  return replacePrefix(path, matchedPrefix ?? '', modifier.replacePrefixMatch);
}
