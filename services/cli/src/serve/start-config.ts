/** --config FILE: read and checked before anything listens, written into the bus once it is open. */
import { applyResources } from '@portico/admin-api';
import type { ConfigBus } from '@portico/bus';
import type { Logger } from '@portico/observability';
import { CliConfigError } from '../errors.ts';
import { formatError, loadFiles } from '../load.ts';
import type { Output } from '../output.ts';

export type StartConfig = ReturnType<typeof loadFiles> & { file: string };

/** A broken file stops the start (each error printed) instead of serving half of it. */
export function loadStartConfig(file: string | undefined, out: Output): StartConfig | undefined {
  if (file === undefined) return undefined;
  const loaded = loadFiles([file]);
  if (loaded.errors.length > 0) {
    for (const e of loaded.errors) out.err(formatError(e));
    throw new CliConfigError(`${file} has ${loaded.errors.length} error(s); not starting`);
  }
  return { ...loaded, file };
}

export async function applyStartConfig(bus: ConfigBus, config: StartConfig, logger: Logger): Promise<void> {
  const results = await applyResources(bus, config.resources);
  logger.info(
    { config: config.file, results: results.map((r) => `${r.kind.toLowerCase()}/${r.name} ${r.result}`) },
    'config applied',
  );
}
