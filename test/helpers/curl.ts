// curl as an HTTPS client (HTTP/1.1 and HTTP/2 through ALPN, SNI through --resolve): what an
// operator checks a public edge with.
import { execFile } from 'node:child_process';
import { parseResponseHead } from './raw-http';

export interface CurlResponse {
  /** "1.1" or "2". */
  version: string;
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface CurlOptions {
  /** curl's --http1.1 or --http2 (default: curl's own choice). */
  http?: '1.1' | '2';
  /** Request headers as "Name: value". */
  headers?: string[];
  /** Connect `host:port` of the URL to 127.0.0.1 (SNI and Host stay the URL's). */
  resolve?: { host: string; port: number };
  /** A PEM file to trust; without it the certificate is not verified (-k). */
  cacert?: string;
}

/** Resolves with the response, or rejects with curl's exit code and message (e.g. 35: TLS handshake failed, 52: empty reply). */
export function curl(url: string, opts: CurlOptions = {}): Promise<CurlResponse> {
  const args = ['-sS', '-i', '--max-time', '20', opts.cacert ? '--cacert' : '-k', ...(opts.cacert ? [opts.cacert] : [])];
  if (opts.http) args.push(opts.http === '2' ? '--http2' : '--http1.1');
  if (opts.resolve) args.push('--resolve', `${opts.resolve.host}:${opts.resolve.port}:127.0.0.1`);
  for (const h of opts.headers ?? []) args.push('-H', h);
  args.push(url);
  return new Promise((resolve, reject) => {
    execFile('curl', args, { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) return reject(Object.assign(new Error(`curl ${url}: ${stderr.trim() || err.message}`), { exitCode: (err as { code?: unknown }).code }));
      const at = stdout.indexOf('\r\n\r\n');
      const head = stdout.slice(0, at);
      const [, version] = /^HTTP\/([0-9.]+) /.exec(head) ?? [];
      const { status, headers } = parseResponseHead(Buffer.from(head, 'latin1'));
      resolve({ version, status, headers, body: stdout.slice(at + 4) });
    });
  });
}
