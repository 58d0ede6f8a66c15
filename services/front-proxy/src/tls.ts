/** SNI certificate selection from Certificate resources: exact name, then the longest wildcard, then the default. */
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { Certificate } from '@portico/config';

export interface CertificateStore {
  /** The context for a server name, or the default one. */
  lookup(servername: string): SecureContext | undefined;
  /** PEMs of the certificate for clients that send no SNI (Node's server default context takes options). */
  readonly defaultPems: { cert: string; key: string } | undefined;
  readonly errors: { name: string; message: string }[];
}

function pem(source: { pem?: string | undefined; file?: string | undefined }): string {
  return source.pem ?? readFileSync(source.file!, 'utf8');
}

export function buildCertificateStore(certificates: readonly Certificate[]): CertificateStore {
  const exact = new Map<string, SecureContext>();
  const wildcard = new Map<string, SecureContext>();
  const errors: { name: string; message: string }[] = [];
  let fallback: SecureContext | undefined;
  let defaultPems: { cert: string; key: string } | undefined;
  for (const cert of certificates) {
    let context: SecureContext;
    let pems: { cert: string; key: string };
    try {
      pems = { cert: pem(cert.spec.certificate), key: pem(cert.spec.privateKey) };
      context = createSecureContext(pems);
    } catch (err) {
      // One unreadable certificate must not take the others down.
      errors.push({ name: cert.metadata.name, message: (err as Error).message });
      continue;
    }
    if (cert.spec.hostnames.length === 0 && fallback === undefined) {
      fallback = context;
      defaultPems = pems;
    }
    for (const host of cert.spec.hostnames) {
      if (host.startsWith('*.')) wildcard.set(host.slice(1), context);
      else exact.set(host, context);
    }
  }
  return {
    defaultPems,
    errors,
    lookup(servername) {
      const name = servername.toLowerCase();
      const hit = exact.get(name);
      if (hit !== undefined) return hit;
      for (let dot = name.indexOf('.'); dot !== -1; dot = name.indexOf('.', dot + 1)) {
        const w = wildcard.get(name.slice(dot));
        if (w !== undefined) return w;
      }
      return fallback;
    },
  };
}
