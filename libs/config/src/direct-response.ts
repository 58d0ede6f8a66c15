/**
 * DirectResponse: an answer the front proxy gives itself, named by a Route backendRef of kind DirectResponse
 * (maintenance pages, `410 Gone` for a retired API, a fixed robots.txt).
 */
import { z } from 'zod';
import { HeaderName } from './common.ts';

/** Fields the proxy writes from the spec itself or that would break the answer's framing. */
const OWNED = new Set(['content-length', 'content-type', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade']);

export const DirectResponseSpec = z.strictObject({
  status: z.number().int().min(200).max(599),
  contentType: z.string().min(1).max(256).default('text/plain; charset=utf-8'),
  /** UTF-8 text, at most 64 KiB. */
  body: z
    .string()
    .default('')
    .refine((b) => Buffer.byteLength(b) <= 64 * 1024, { message: 'at most 64 KiB' }),
  headers: z
    .array(
      z.strictObject({
        name: HeaderName.refine((n) => !OWNED.has(n.toLowerCase()), {
          message: 'set by the proxy (use contentType for Content-Type)',
        }),
        value: z.string().max(4096),
      }),
    )
    .max(16)
    .optional(),
});

export type DirectResponseSpec = z.infer<typeof DirectResponseSpec>;
