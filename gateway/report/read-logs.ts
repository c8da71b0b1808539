// Access log files, line by line, streamed: plain or gzip-compressed (recognised by the gzip
// magic bytes, whatever the name), as logrotate leaves them (access.log, access.log.1,
// access.log.2.gz). Memory stays bounded: a line longer than MAX_LINE_BYTES is not kept but
// reported as overlong (the report counts it as malformed), and the streams' buffers are fixed.
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

/** nginx's own request line and header limits are far below this. */
export const MAX_LINE_BYTES = 64 * 1024;
const NEWLINE = 0x0a;
const CHUNK_BYTES = 256 * 1024;

/**
 * The file's bytes, gunzipped when they start with gzip's magic bytes. The start is read from the
 * stream itself, not by a second read of the file: a pipe (`--log /dev/stdin`, `<(zcat …)`) can
 * be read only once. An error opening or first reading the file is thrown, naming it.
 */
async function fileBytes(path: string): Promise<AsyncIterable<Buffer>> {
  const chunks = createReadStream(path, { highWaterMark: CHUNK_BYTES })[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let headBytes = 0;
  try {
    while (headBytes < 2) {
      const next = await chunks.next();
      if (next.done) break;
      head.push(next.value as Buffer);
      headBytes += (next.value as Buffer).length;
    }
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
  const first = Buffer.concat(head);
  const all = Readable.from((async function* () {
    if (first.length > 0) yield first;
    for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield next.value as Buffer;
  })(), { objectMode: false });
  if (!(first[0] === 0x1f && first[1] === 0x8b)) return all;
  const gunzip = createGunzip();
  all.on('error', (err) => gunzip.destroy(err));
  return all.pipe(gunzip);
}

/**
 * Calls onLine for each line of the file (without its "\n" or "\r\n"), and onOverlong for each
 * line over MAX_LINE_BYTES, wherever it lies in the file. A gzip stream that ends early (a file
 * rotated while it was being compressed) is not an error: the lines before the damage are read,
 * and the failure is returned as a note.
 */
export async function readLogLines(path: string, onLine: (line: string) => void, onOverlong: () => void = () => undefined): Promise<string | null> {
  const input = await fileBytes(path);
  let carry: Buffer[] = [];
  let carried = 0;
  let overlong = false;
  const emit = (buf: Buffer, start: number, end: number) => {
    if (overlong || carried + end - start > MAX_LINE_BYTES) {
      overlong = false;
      carry = [];
      carried = 0;
      return onOverlong();
    }
    let line: string;
    if (carried > 0) {
      carry.push(buf.subarray(start, end));
      line = Buffer.concat(carry).toString('utf8');
      carry = [];
      carried = 0;
    } else {
      line = buf.toString('utf8', start, end);
    }
    onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
  };
  let failure: string | null = null;
  try {
    for await (const chunk of input) {
      const buf = chunk as Buffer;
      let start = 0;
      for (let nl = buf.indexOf(NEWLINE, start); nl !== -1; nl = buf.indexOf(NEWLINE, start)) {
        emit(buf, start, nl);
        start = nl + 1;
      }
      if (start < buf.length && !overlong) {
        carried += buf.length - start;
        if (carried > MAX_LINE_BYTES) {
          overlong = true;
          carry = [];
        } else {
          carry.push(buf.subarray(start));
        }
      }
    }
  } catch (err) {
    failure = `${path}: ${(err as Error).message}; the lines before it were read`;
  }
  if (overlong) onOverlong();
  else if (carried > 0) emit(Buffer.alloc(0), 0, 0); // a last line without a newline
  return failure;
}
