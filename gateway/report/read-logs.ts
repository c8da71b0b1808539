// Access log files, line by line, streamed: plain or gzip-compressed (recognised by the gzip
// magic bytes, whatever the name), as logrotate leaves them (access.log, access.log.1,
// access.log.2.gz). Memory stays bounded by one line and the streams' buffers.
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

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
 * Calls onLine for each line of the file. A gzip stream that ends early (a file rotated while it
 * was compressed) is not an error: the lines before the damage are read, and the failure is
 * returned as a note.
 */
export async function readLogLines(path: string, onLine: (line: string) => void): Promise<string | null> {
  const gz = isGzip(path);
  const file = createReadStream(path);
  let input: Readable = file;
  let failure: string | null = null;
  if (gz) {
    const gunzip = createGunzip();
    input = file.pipe(gunzip);
    file.on('error', (err) => gunzip.destroy(err));
  }
  const lines = createInterface({ input, crlfDelay: Infinity });
  input.on('error', (err) => { failure = `${path}: ${err.message}; the lines before it were read`; lines.close(); });
  try {
    for await (const line of lines) onLine(line);
  } catch (err) {
    failure ??= `${path}: ${(err as Error).message}`;
  }
  return failure;
}
