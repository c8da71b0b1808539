// The checks nginx makes on a request before it looks at locations: request-line and header
// sizes, duplicate unique headers, Transfer-Encoding, HTTP version, TRACE.
import type { IncomingMessage } from 'node:http';

/** nginx's large_client_header_buffers 4 8k: a longer request line is 414, a longer header line 400. */
export const HEADER_BUFFER = 8192;
const LARGE_HEADER_BUFFERS = 4;
/** client_header_buffer_size 1k: the head is read here first, and moves to the 8k buffers when full. */
const SMALL_HEADER_BUFFER = 1024;
/** nginx 1.22 answers 400 past 1,000 header lines (measured); Node keeps only about that many. */
const MAX_HEADERS = 1000;
/** Headers nginx 1.22 refuses to see twice (ngx_http_process_unique_header_line, Host). */
const UNIQUE_HEADERS = new Map(['host', 'content-length', 'transfer-encoding', 'authorization', 'expect', 'content-range',
  'if-modified-since', 'if-unmodified-since', 'if-match', 'if-none-match', 'if-range'].map((name, i) => [name, 1 << i] as const));

export type RefusalStatus = 400 | 405 | 414 | 501 | 505;

/** A status to refuse the request with, as nginx would, or 0. */
export function refusal(req: IncomingMessage): RefusalStatus | 0 {
  // "METHOD SP target SP HTTP/1.x CRLF": the whole line, its CRLF too, must fit one 8k buffer.
  const line = req.method!.length + req.url!.length + 12;
  if (line > HEADER_BUFFER) return 414;
  if (req.httpVersionMajor !== 1) return 505; // Node parses "HTTP/2.0" request lines; nginx does not
  const raw = req.rawHeaders;
  let seen = 0; // one bit per unique header: no allocation on the request path
  // nginx refuses more than about 1,000 header lines; Node would silently keep only the first ~1,000.
  if (raw.length > 2 * MAX_HEADERS) return 400;
  // The head must fit nginx's buffers: 1k first, then at most 4 × 8k, a line never split.
  let used = line;
  let large = line > SMALL_HEADER_BUFFER ? 1 : 0;
  for (let i = 0; i < raw.length; i += 2) {
    const len = raw[i].length + raw[i + 1].length + 4;
    if (len > HEADER_BUFFER) return 400;
    if (large === 0 && used + len <= SMALL_HEADER_BUFFER) used += len;
    else if (large > 0 && used + len <= HEADER_BUFFER) used += len;
    else if (++large > LARGE_HEADER_BUFFERS) return 400;
    else used = len;
    const bit = UNIQUE_HEADERS.get(raw[i].toLowerCase());
    if (bit !== undefined) {
      if (seen & bit) return 400; // "client sent duplicate header line"
      seen |= bit;
    }
  }
  const te = req.headers['transfer-encoding'];
  if (te !== undefined) {
    if (req.httpVersionMinor === 0) return 400;
    if (te.trim().toLowerCase() !== 'chunked') return 501;
  }
  if (req.method === 'TRACE') return 405;
  return 0;
}
