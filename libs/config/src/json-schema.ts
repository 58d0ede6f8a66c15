import { z } from 'zod';
import { resourceSchemas } from './resource.ts';

/** One JSON Schema for any Portico document, generated from the zod schemas (what editors use). */
export function configJsonSchema(): Record<string, unknown> {
  const any = z.union(Object.values(resourceSchemas) as unknown as [z.ZodType, z.ZodType, ...z.ZodType[]]);
  const schema = z.toJSONSchema(any, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Record<
    string,
    unknown
  >;
  return { ...schema, $id: 'https://portico.dev/schemas/v1/config.json', title: 'Portico config document' };
}
