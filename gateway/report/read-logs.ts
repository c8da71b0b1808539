// Access log files, line by line, streamed: plain or gzip-compressed (recognised by the gzip
// magic bytes, whatever the name), as logrotate leaves them (access.log, access.log.1,
// access.log.2.gz). Memory stays bounded: a line longer than MAX_LINE_BYTES is not kept but
// reported as overlong (the report counts it as malformed), and the streams' buffers are fixed.
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

/** nginx's own request line and header limits are far below this. */
export const MAX_LINE_BYTES = 64 * 1024;
const NEWLINE = 0x0a;

function isGzip(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(2);
    return readSync(fd, head, 0, 2, 0) === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

/**
 * Calls onLine for each line of the file (without its "\n" or "\r\n"), and onOverlong for each
 * line over MAX_LINE_BYTES. A gzip stream that ends early (a file rotated while it was being
 * compressed) is not an error: the lines before the damage are read, and the failure is
 * returned as a note.
 */
export async function readLogLines(path: string, onLine: (line: string) => void, onOverlong: () => void = () => undefined): Promise<string | null> {
  const file = createReadStream(path, { highWaterMark: 256 * 1024 });
  let input: Readable = file;
  if (isGzip(path)) {
    const gunzip = createGunzip();
    file.on('error', (err) => gunzip.destroy(err));
    input = file.pipe(gunzip);
  }
  let carry: Buffer[] = [];
  let carried = 0;
  let overlong = false;
  const emit = (buf: Buffer, start: number, end: number) => {
    if (overlong) {
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
