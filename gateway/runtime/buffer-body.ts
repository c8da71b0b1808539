// nginx's proxy_request_buffering on: the whole request body is read before the upstream request
// opens, in memory up to client_body_buffer_size (body.buffer), then in a temp file, never past
// client_max_body_size (body.max_size). A client that stalls, sends a bad chunk or goes away
// therefore reaches no upstream, and a monolith with a fixed worker pool never waits on a slow
// upload. client_body_timeout bounds the gap between two reads, as in nginx.
import { createReadStream, createWriteStream, mkdirSync, openSync, unlink, type WriteStream } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { BodyTimeout, BodyTooLarge } from './request-body';

/** A body read to its end: in memory, or in a temp file of `size` bytes (which can be read again). */
export type BufferedBody =
  | { readonly kind: 'memory'; readonly data: Buffer }
  | { readonly kind: 'file'; readonly path: string; readonly size: number };

/** The client aborted, or its body was malformed (bad chunk size) or truncated. */
export class BodyIncomplete extends Error {
  readonly code = 'STR_BODY_INCOMPLETE';
  constructor() { super('client aborted or truncated the request body'); }
}

export interface BufferLimits {
  /** Held in memory up to this many bytes (body.buffer). */
  readonly memory: number;
  /** body.max_size; 0: unlimited (the manifest never buffers those). */
  readonly max: number;
  /** client_body_timeout: the longest gap between two reads. */
  readonly idleMs: number;
  /** Directory for temp files. */
  readonly dir: string;
}

export const DEFAULT_BODY_TEMP_PATH = join(tmpdir(), 'strangler-body');

const madeDirs = new Set<string>();
function ensureDir(dir: string): void {
  if (madeDirs.has(dir)) return;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  madeDirs.add(dir);
}

/** A fresh reader of the body for one upstream attempt: a buffer, or a new stream over the temp file. */
export function bodySource(body: BufferedBody): Buffer | Readable {
  return body.kind === 'memory' ? body.data : quiet(createReadStream(body.path));
}

/**
 * A temp file's reader an attempt may never read (its server at max_conns, a refused connect):
 * the request is over and the file unlinked before its deferred open, whose ENOENT would
 * otherwise be an unhandled 'error' that ends the process. A reader that is read reports errors
 * to undici, its listener, as before.
 */
function quiet(stream: Readable): Readable {
  return stream.on('error', () => undefined);
}

/** Closes a body reader an attempt did not read to its end, and with it the temp file's descriptor; a buffer is left alone. */
export function closeBodySource(body: unknown): void {
  if (body instanceof Readable && !body.destroyed) body.destroy();
}

/**
 * A reader for a copy that may outlive the request (a shadow copy): a temp file is opened now, so
 * releaseBody's unlink leaves it readable through the open descriptor until the reader is done.
 */
export function detachedBodySource(body: BufferedBody): Buffer | Readable {
  return body.kind === 'memory' ? body.data : quiet(createReadStream('', { fd: openSync(body.path, 'r') }));
}

/** The body's size in bytes. */
export function bodySize(body: BufferedBody): number {
  return body.kind === 'memory' ? body.data.length : body.size;
}

/** Removes the temp file, if any; safe to call more than once. */
export function releaseBody(body: BufferedBody | null): void {
  if (body?.kind === 'file') unlink(body.path, () => undefined);
}

/** Reads the whole body; rejects with BodyTooLarge, BodyTimeout or BodyIncomplete, leaving no temp file behind. */
export function bufferBody(req: IncomingMessage, limits: BufferLimits): Promise<BufferedBody> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let seen = 0;
    let file: WriteStream | null = null;
    let path = '';
    let settled = false;
    // One timer for the whole body, restarted by each read (refresh() keeps the same object).
    const timer = setTimeout(onIdle, limits.idleMs);

    function cleanup(): void {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('aborted', onAborted);
      req.off('error', onAborted);
      req.off('close', onClose);
    }
    function fail(err: Error): void {
      if (settled) return;
      settled = true;
      cleanup();
      req.pause();
      if (file !== null) {
        const p = path;
        file.destroy();
        file.once('close', () => unlink(p, () => undefined));
      }
      reject(err);
    }
    function onIdle(): void {
      fail(new BodyTimeout(limits.idleMs));
    }
    function onData(c: Buffer): void {
      timer.refresh();
      seen += c.length;
      if (limits.max > 0 && seen > limits.max) return fail(new BodyTooLarge(limits.max));
      if (file === null && seen <= limits.memory) {
        chunks.push(c);
        return;
      }
      if (file === null) {
        ensureDir(limits.dir);
        path = join(limits.dir, randomBytes(12).toString('hex'));
        file = createWriteStream(path, { flags: 'wx', mode: 0o600 });
        file.on('error', (err) => fail(err));
        for (const held of chunks) file.write(held);
        chunks.length = 0;
      }
      // The disk is behind: stop reading the client until it catches up.
      if (!file.write(c)) {
        req.pause();
        file.once('drain', () => { if (!settled) req.resume(); });
      }
    }
    function onEnd(): void {
      if (settled) return;
      settled = true;
      cleanup();
      if (file === null) return resolve({ kind: 'memory', data: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks) });
      const p = path;
      file.end(() => resolve({ kind: 'file', path: p, size: seen }));
    }
    function onAborted(): void {
      fail(new BodyIncomplete());
    }
    function onClose(): void {
      if (!req.complete) fail(new BodyIncomplete());
    }
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('aborted', onAborted);
    req.on('error', onAborted);
    req.on('close', onClose);
  });
}
