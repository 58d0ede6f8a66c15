/** Reads -f files (a directory means its *.yaml, *.yml and *.json files) and validates every document. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { findDuplicates } from '@portico/admin-api';
import { parseDocuments, type Resource } from '@portico/config';
import type { ErrorDetail } from '@portico/errors';
import { CliFileError } from './errors.ts';

export interface Loaded {
  files: string[];
  resources: Resource[];
  errors: ErrorDetail[];
}

function expand(path: string): string[] {
  let stat: ReturnType<typeof statSync>;
  try {
    stat = statSync(path);
  } catch (err) {
    throw new CliFileError(path, err);
  }
  if (!stat.isDirectory()) return [path];
  return readdirSync(path)
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .sort()
    .map((f) => join(path, f));
}

export function loadFiles(paths: readonly string[]): Loaded {
  const files = paths.flatMap(expand);
  const resources: Resource[] = [];
  const errors: ErrorDetail[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new CliFileError(file, err);
    }
    const parsed = parseDocuments(text, file);
    resources.push(...parsed.resources);
    errors.push(...parsed.errors);
  }
  errors.push(...findDuplicates(resources));
  return { files, resources, errors };
}

/** `<file>#<doc> (<Kind>/<name>) <field.path>: <reason>` */
export function formatError(d: ErrorDetail): string {
  const where = [d.document, d.path].filter(Boolean).join(' ');
  return where === '' ? d.message : `${where}: ${d.message}`;
}
