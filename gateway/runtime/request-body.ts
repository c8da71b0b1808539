// The client's request body on its way upstream, with nginx's client_max_body_size (413).
// It is relayed through a stream of our own rather than handed to undici as is: when an
// upstream fails, undici destroys the body stream it was given, and destroying the client's
// request would leave no socket to answer 502 on.
import type { IncomingMessage } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';

export class BodyTooLarge extends Error {
  readonly code = 'STR_BODY_TOO_LARGE';
  constructor(readonly limit: number) { super(`request body over ${limit} bytes`); }
}

/** The body's length from Content-Length (0 without one); null when Transfer-Encoding makes it unknown. */
export function bodyLength(req: IncomingMessage): number | null {
  if (req.headers['transfer-encoding'] !== undefined) return null;
  return Number(req.headers['content-length'] ?? 0);
}

/** The client sent nothing for client_body_timeout: nginx closes the connection without an answer (408 in its log). */
export class BodyTimeout extends Error {
  readonly code = 'STR_BODY_TIMEOUT';
  constructor(readonly ms: number) { super(`no request body data for ${ms} ms`); }
}

/** Counts bytes as they pass and fails the stream past `limit` (0: unlimited). */
class LimitedBody extends Transform {
  private seen = 0;
  constructor(private readonly limit: number) { super(); }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.emit('progress');
    this.seen += chunk.length;
    if (this.limit > 0 && this.seen > this.limit) return cb(new BodyTooLarge(this.limit));
    cb(null, chunk);
  }
}

/**
 * A stream copy of the request body; backpressure reaches the client through the pipe. A client
 * that sends nothing for `idleMs` (client_body_timeout) fails the stream and loses its connection.
 */
export function relayBody(req: IncomingMessage, limit: number, idleMs: number): Transform {
  const out = new LimitedBody(limit);
  let timer = setTimeout(onIdle, idleMs);
  function onIdle(): void {
    out.destroy(new BodyTimeout(idleMs));
    req.socket.destroy();
  }
  out.on('progress', () => {
    clearTimeout(timer);
    timer = setTimeout(onIdle, idleMs);
  });
  const stop = () => clearTimeout(timer);
  req.once('end', stop);
  out.once('close', stop);
  req.on('aborted', () => out.destroy(new Error('client aborted the request body')));
  req.pipe(out);
  return out;
}

/** The whole body in memory, stopping at `limit` (0: unlimited): the admin API's small JSON bodies (traffic uses bufferBody). */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let seen = 0;
    const onData = (c: Buffer) => {
      seen += c.length;
      if (limit > 0 && seen > limit) {
        req.off('data', onData);
        req.pause();
        reject(new BodyTooLarge(limit));
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    // Most small bodies arrive in one chunk: hand that on rather than copy it.
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
    req.once('error', reject);
    req.once('aborted', () => reject(new Error('client aborted the request body')));
  });
}

/** nginx's lingering_time: how long the rest of an unwanted body is read before the connection is cut. */
export const LINGER_MS = 30_000;

/**
 * The gateway answered before the client finished sending (the upstream failed mid-upload).
 * Closing with the rest unread makes the kernel reset the connection, and a reset can destroy
 * the answer before the client reads it; so, as nginx's lingering close does, read and discard
 * the rest, and cut the connection only if it has not ended within `maxMs`.
 */
export function discardRest(req: IncomingMessage, maxMs = LINGER_MS): void {
  if (req.complete) return;
  req.unpipe();
  req.resume();
  const timer = setTimeout(() => req.socket.destroy(), maxMs);
  timer.unref();
  const done = () => clearTimeout(timer);
  req.once('end', done);
  req.once('close', done);
}
