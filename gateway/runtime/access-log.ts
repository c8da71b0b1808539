// The gateway's access log record: one line per request, in nginx's strangler_json format
// (gateway/nginx/log-format.ts), handed to a buffered writer. A separate step so the request
// path only calls record() where it records its metrics.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isAbsolute, resolve } from 'node:path';
import type { Registry } from 'prom-client';
import { LOG_FIELDS, type AccessLine } from '../nginx/log-format';
import { besideManifest } from './admin-token';
import { AccessLogWriter, type AccessLogDestination, type AccessLogWriterOptions } from './access-log-writer';

export interface AccessLog {
  /** `client`: the client's address as client-address.ts resolved it (behind a trusted proxy, the one it forwarded).
   *  requestId: the X-Request-Id sent upstream (the client's, or the one the gateway made).
   *  sentBefore: the client socket's bytesWritten when the request began (a chunked body's size is read off the socket). */
  record(req: IncomingMessage, res: ServerResponse | null, client: string, route: string, target: string, status: number, seconds: number, requestId: string, sentBefore: number): void;
  register(registry: Registry): void;
  reopen(): void;
  close(): Promise<void>;
}

/** gateway.access_log: null means the default file beside the manifest; "off" means no log. */
export function accessLogDestination(setting: string | null, manifestPath: string): AccessLogDestination | null {
  if (setting === 'off') return null;
  if (setting === 'stdout') return { kind: 'stdout' };
  if (setting === null) return { kind: 'file', path: besideManifest(manifestPath, 'access.log') };
  return { kind: 'file', path: isAbsolute(setting) ? setting : resolve(manifestPath, '..', setting) };
}

export function createAccessLog(destination: AccessLogDestination, opts: AccessLogWriterOptions = {}): AccessLog {
  const writer = new AccessLogWriter(destination, opts);
  return {
    record(req, res, client, route, target, status, seconds, requestId, sentBefore) {
      writer.append(formatAccessLine({
        time: isoTime(), route, target, method: req.method ?? '', uri: req.url ?? '', status,
        bytes: res ? bodyBytes(req, res, status, sentBefore) : 0, request_time: seconds,
        upstream_response_time: '', upstream_addr: '', upstream_status: '', remote_addr: client,
        // nginx's escape=json logs an absent header as "".
        request_id: requestId, user_agent: req.headers['user-agent'] ?? '',
      }));
    },
    register: (registry) => writer.register(registry),
    reopen: () => writer.reopen(),
    close: () => writer.close(),
  };
}

/**
 * The line nginx would write: the same keys in the same order, numbers bare, request_time to
 * the millisecond. The text around the values is made once (below), so a line is two appends
 * per field.
 */
export function formatAccessLine(l: AccessLine): string {
  let out = '';
  for (let i = 0; i < LOG_FIELDS.length; i++) {
    const f = LOG_FIELDS[i];
    const v = l[f.key as keyof AccessLine];
    out += TEXT_BEFORE[i];
    out += f.type === 'number' ? (f.key === 'request_time' ? (v as number).toFixed(3) : String(v)) : jsonText(v as string);
  }
  return out + TEXT_END;
}

/** The text before each value in LOG_FIELDS' order, a string value's quotes included; TEXT_END closes the line. */
const TEXT_BEFORE: readonly string[] = LOG_FIELDS.map((f, i) =>
  `${i === 0 ? '{' : `${LOG_FIELDS[i - 1].type === 'string' ? '"' : ''},`}"${f.key}":${f.type === 'string' ? '"' : ''}`);
const TEXT_END = `${LOG_FIELDS[LOG_FIELDS.length - 1].type === 'string' ? '"' : ''}}\n`;

/**
 * Values are binary strings (Node's header values and URIs): bytes above 0x7F go out as they
 * came, as nginx's escape=json leaves them. Escaped: what JSON (and escape=json) escapes, and
 * chars above 0xFF (not from the wire). Most values have neither: a loop over their chars is
 * cheaper than a regular expression with a range above 0xFF.
 */
function needsEscape(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || c > 0xff) return true;
  }
  return false;
}

/** A string value as the line carries it between its quotes. */
function jsonText(v: string): string {
  if (!needsEscape(v)) return v;
  const quoted = JSON.stringify(v);
  // Not a binary string: logged as its UTF-8 bytes.
  const text = /[\u0100-\uffff]/.test(quoted) ? Buffer.from(quoted, 'utf8').toString('latin1') : quoted;
  return text.slice(1, -1);
}

/**
 * $body_bytes_sent: what the client was sent after the response head (none for HEAD, 204, 304).
 * With a Content-Length, that length, also when writeHead set it (Node keeps it as
 * _contentLength). Without (a chunked body, or one delimited by closing), what the socket took
 * since the request began less the head: the chunks' framing counts, as nginx counts it.
 */
function bodyBytes(req: IncomingMessage, res: ServerResponse, status: number, sentBefore: number): number {
  if (req.method === 'HEAD' || status === 204 || status === 304) return 0;
  const length = Number((res as { _contentLength?: number | null })._contentLength ?? res.getHeader('content-length'));
  if (Number.isFinite(length) && length >= 0) return length;
  const head = (res as { _header?: string | null })._header;
  const sent = req.socket.bytesWritten - sentBefore - (typeof head === 'string' ? head.length : 0);
  return sent > 0 ? sent : 0;
}

let cachedSecond = -1;
let cachedTime = '';

/** nginx's $time_iso8601: local time with its UTC offset, to the second (cached per second). */
export function isoTime(now = Date.now()): string {
  const second = Math.floor(now / 1000);
  if (second === cachedSecond) return cachedTime;
  const d = new Date(second * 1000);
  const offset = -d.getTimezoneOffset();
  const p = (n: number) => String(Math.abs(n)).padStart(2, '0');
  cachedTime = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}` +
    `${offset < 0 ? '-' : '+'}${p(Math.trunc(offset / 60))}:${p(offset % 60)}`;
  cachedSecond = second;
  return cachedTime;
}
