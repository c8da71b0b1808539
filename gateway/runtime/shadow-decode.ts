// A compressed answer is compared by what it says, not by its bytes: a monolith that gzips for
// clients that accept it and a function that answers plain (or in br, or gzip at another level)
// give the same answer in other bytes. Bodies are decoded before the comparison with zlib's
// asynchronous API, on libuv's threadpool rather than the event loop the users' requests share,
// and never beyond max_body decoded (a few KiB of gzip can hold gigabytes). A coding zlib has no
// decoder for (zstd, compress), or a body that does not decode, is compared as it came, and its
// summary says so.
import { brotliDecompress, gunzip, inflate, inflateRaw } from 'node:zlib';
import type { CapturedAnswer } from './shadow-compare';

type Decoder = (body: Buffer, opts: { maxOutputLength: number }, done: (err: Error | null, out: Buffer) => void) => void;

/** deflate as browsers read it: zlib-wrapped as RFC 9110 says, or raw, as some servers send it. */
const inflateEither: Decoder = (body, opts, done) => inflate(body, opts, (err, out) => {
  if (err && (err as NodeJS.ErrnoException).code === 'Z_DATA_ERROR') inflateRaw(body, opts, done);
  else done(err, out);
});

const DECODERS: Readonly<Record<string, Decoder>> = { gzip: gunzip, 'x-gzip': gunzip, deflate: inflateEither, br: brotliDecompress };

/** The content-codings applied to an answer's body, in the order they were applied; `identity` is none. */
export function contentCodings(a: CapturedAnswer): string[] {
  const v = a.headers['content-encoding'];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v.join(',') : v).split(',').map((c) => c.trim().toLowerCase()).filter((c) => c !== '' && c !== 'identity');
}

export type DecodeResult = { readonly kind: 'answer'; readonly answer: CapturedAnswer } | { readonly kind: 'too_large' };

/** The answer with its body decoded (the last coding applied is undone first); too_large past `limit` bytes. */
export function decodeAnswer(a: CapturedAnswer, limit: number, done: (r: DecodeResult) => void): void {
  const codings = contentCodings(a);
  const opts = { maxOutputLength: limit };
  const undo = (body: Buffer, i: number): void => {
    if (i < 0) return done({ kind: 'answer', answer: { ...a, body } });
    const decoder = DECODERS[codings[i]];
    if (decoder === undefined) return done({ kind: 'answer', answer: { ...a, undecoded: `${codings.join(', ')}: no decoder for ${codings[i]}` } });
    decoder(body, opts, (err, out) => {
      if (err === null) return undo(out, i - 1);
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return done({ kind: 'too_large' });
      done({ kind: 'answer', answer: { ...a, undecoded: `${codings.join(', ')}: ${codings[i]} did not decode (${err.message})` } });
    });
  };
  // No body (HEAD, 204, 304) has nothing to decode, whatever its Content-Encoding says.
  undo(a.body, a.body.length === 0 ? -1 : codings.length - 1);
}

/** Whether two answers' bodies can only be compared decoded: one is encoded, and their bytes or codings differ. */
export function needDecoding(a: CapturedAnswer, b: CapturedAnswer): boolean {
  if (a.headers['content-encoding'] === undefined && b.headers['content-encoding'] === undefined) return false;
  const ca = contentCodings(a);
  const cb = contentCodings(b);
  if (ca.length === 0 && cb.length === 0) return false; // identity
  return ca.join() !== cb.join() || !a.body.equals(b.body);
}
