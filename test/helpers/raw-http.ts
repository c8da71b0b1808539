// One HTTP/1.1 exchange over a raw socket: the request target goes on the wire exactly as given
// (HTTP clients normalise paths), and the response is parsed just enough for assertions.
import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** The raw bytes received, head included. */
  raw: Buffer;
}

export interface RawRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Send these bytes verbatim instead of building a request. */
  rawRequest?: string | Buffer;
  timeoutMs?: number;
  /** Over TLS, with this SNI name (the certificate is not verified: the tests make their own). */
  tls?: { servername: string };
}

/** A response head (without its blank line): the status, and the headers lower-cased, repeats joined with ", ". */
export function parseResponseHead(head: Buffer): { status: number; headers: Record<string, string> } {
  const [statusLine, ...lines] = head.toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf(':');
    const name = line.slice(0, i).trim().toLowerCase();
    headers[name] = headers[name] !== undefined ? `${headers[name]}, ${line.slice(i + 1).trim()}` : line.slice(i + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1]), headers };
}

export function rawRequest(port: number, target: string, opts: RawRequestOptions = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = opts.tls
      ? tlsConnect({ port, host: '127.0.0.1', servername: opts.tls.servername, rejectUnauthorized: false })
      : connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete response to ${target} within ${opts.timeoutMs ?? 10_000} ms`));
    }, opts.timeoutMs ?? 10_000);
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', (err) => { clearTimeout(timer); reject(err); });
    socket.on('close', () => {
      clearTimeout(timer);
      const raw = Buffer.concat(chunks);
      const headEnd = raw.indexOf('\r\n\r\n');
      if (headEnd < 0) return reject(new Error(`incomplete response to ${target}: ${JSON.stringify(raw.toString('latin1'))}`));
      const { status, headers } = parseResponseHead(raw.subarray(0, headEnd));
      let body: Buffer = raw.subarray(headEnd + 4);
      if (/chunked/i.test(headers['transfer-encoding'] ?? '')) body = dechunk(body);
      resolve({ status, headers, body, raw });
    });
    if (opts.rawRequest !== undefined) {
      socket.end(opts.rawRequest);
      return;
    }
    const body = opts.body === undefined ? undefined : Buffer.from(opts.body);
    const headers: Record<string, string> = { host: 'localhost', connection: 'close', ...opts.headers };
    if (body && headers['content-length'] === undefined) headers['content-length'] = String(body.length);
    const head = `${opts.method ?? 'GET'} ${target} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
    socket.write(Buffer.from(head, 'latin1'));
    if (body) socket.write(body);
  });
}

function dechunk(buf: Buffer): Buffer {
  const out: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', pos);
    if (eol < 0) break;
    const size = parseInt(buf.subarray(pos, eol).toString('latin1'), 16);
    if (!size) break;
    out.push(buf.subarray(eol + 2, eol + 2 + size));
    pos = eol + 2 + size + 2;
  }
  return Buffer.concat(out);
}
