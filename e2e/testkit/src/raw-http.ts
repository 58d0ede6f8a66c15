/**
 * Raw HTTP for hostile-client tests: exact bytes on a socket (no client library to fix them up), and a
 * self-signed certificate from the openssl binary for TLS listeners.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RawHttpResponse {
  /** 0 when the server closed without a status line. */
  status: number;
  head: string;
  body: string;
}

/**
 * Writes `bytes` as they are once connected and reads until the server closes: send `Connection: close` (or expect
 * the server to close), as the socket stays open for writing and a half-closed one may get no answer.
 */
export function rawHttpExchange(port: number, bytes: string | Buffer, host = '127.0.0.1'): Promise<RawHttpResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host, () =>
      socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes),
    );
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      const head = split === -1 ? text : text.slice(0, split);
      const body = split === -1 ? '' : text.slice(split + 4);
      resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0), head, body });
    });
  });
}

export interface SelfSignedCertificate {
  cert: string;
  key: string;
  certFile: string;
  keyFile: string;
}

/** A one-day RSA certificate for `commonName` (also its DNS subjectAltName), PEMs and their files. */
export function selfSignedCertificate(commonName: string): SelfSignedCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'portico-cert-'));
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  const args = ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${commonName}`];
  args.push('-addext', `subjectAltName=DNS:${commonName}`, '-keyout', keyFile, '-out', certFile);
  try {
    execFileSync('openssl', args, { stdio: 'ignore' });
  } catch (err) {
    throw new Error('these tests need the openssl binary (apt-get install openssl)', { cause: err });
  }
  return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8'), certFile, keyFile };
}
