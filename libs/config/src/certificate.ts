/** Certificate: a TLS certificate the front proxy serves for the given SNI host names (PEM inline or a file path). */
import { z } from 'zod';
import { Hostname } from './common.ts';

const Pem = z
  .strictObject({ pem: z.string().min(1).optional(), file: z.string().min(1).optional() })
  .refine((p) => (p.pem === undefined) !== (p.file === undefined), { message: 'set exactly one of pem or file' });

export const CertificateSpec = z.strictObject({
  /** SNI names this certificate answers; empty = the default certificate. */
  hostnames: z.array(Hostname).max(64).default([]),
  certificate: Pem,
  privateKey: Pem,
});

export type CertificateSpec = z.infer<typeof CertificateSpec>;
