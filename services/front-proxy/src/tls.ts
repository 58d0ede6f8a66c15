/**
 * SNI certificate selection from Certificate resources: exact name, then the longest wildcard, then the default.
 * Every context carries the same protocol policy (versions, ciphers), so the certificate SNI picks never changes
 * what a client can negotiate.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContext, type SecureVersion } from 'node:tls';
import type { Certificate } from '@portico/config';

/**
 * TLS 1.3's AEAD suites, then for TLS 1.2 only ECDHE key exchange (forward secrecy) with AES-GCM or
 * ChaCha20-Poly1305: no RSA key exchange, no CBC, no DHE (slow, and needs its own parameters). This is Mozilla's
 * "intermediate" profile without DHE; every client of the last decade offers one of these.
 */
export const FORWARD_SECRET_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** What every secure context of the proxy is made with. */
export interface TlsPolicy {
  minVersion: SecureVersion;
  /** OpenSSL cipher list; `TLS_*` names are TLS 1.3 suites. */
  ciphers: string;
  /** The server's order wins, so a client listing a weak suite first still gets a strong one. */
  honorCipherOrder: true;
}

export function checkTlsPolicy(policy: TlsPolicy): void {
  if (policy.minVersion !== 'TLSv1.2' && policy.minVersion !== 'TLSv1.3')
    throw new TypeError(`tlsMinVersion must be "TLSv1.2" or "TLSv1.3", got ${JSON.stringify(policy.minVersion)}`);
  try {
    createSecureContext(policy);
  } catch (err) {
    throw new TypeError(`tlsCiphers is not a cipher list OpenSSL accepts: ${(err as Error).message}`);
  }
}

export interface CertificateStore {
  /** The context for a server name, or the default one. */
  lookup(servername: string): SecureContext | undefined;
  /**
   * Options of the context for clients that send no SNI (Node's server default context takes options, not a
   * context): the default certificate's PEMs with the policy.
   */
  readonly defaultOptions: ({ cert: string; key: string } & TlsPolicy) | undefined;
  readonly errors: { name: string; message: string }[];
}

function pem(source: { pem?: string | undefined; file?: string | undefined }): string {
  return source.pem ?? readFileSync(source.file!, 'utf8');
}

export function buildCertificateStore(certificates: readonly Certificate[], policy: TlsPolicy): CertificateStore {
  const exact = new Map<string, SecureContext>();
  const wildcard = new Map<string, SecureContext>();
  const errors: { name: string; message: string }[] = [];
  let fallback: SecureContext | undefined;
  let defaultOptions: ({ cert: string; key: string } & TlsPolicy) | undefined;
  for (const cert of certificates) {
    let context: SecureContext;
    let options: { cert: string; key: string } & TlsPolicy;
    try {
      options = { cert: pem(cert.spec.certificate), key: pem(cert.spec.privateKey), ...policy };
      context = createSecureContext(options);
    } catch (err) {
      // One unreadable certificate must not take the others down.
      errors.push({ name: cert.metadata.name, message: (err as Error).message });
      continue;
    }
    if (cert.spec.hostnames.length === 0 && fallback === undefined) {
      fallback = context;
      defaultOptions = options;
    }
    for (const host of cert.spec.hostnames) {
      if (host.startsWith('*.')) wildcard.set(host.slice(1), context);
      else exact.set(host, context);
    }
  }
  return {
    defaultOptions,
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
