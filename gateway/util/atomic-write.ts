// Replace a file so that a crash at any moment leaves the old content or the new, never a mix:
// write a temp file beside it, fsync it, rename over the target, fsync the directory.
// Two forms: synchronous for the CLI, and asynchronous for a server, whose fsyncs (milliseconds
// on a busy disk) must not stall every request on the event loop.
import { closeSync, fsyncSync, openSync, promises as fsp, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** Temp files of `file` start with this (and end in .tmp): what a killed writer can leave behind. */
export function atomicTempPrefix(file: string): string {
  return `.${basename(file)}.`;
}

function tempPathFor(file: string): string {
  return join(dirname(file), `${atomicTempPrefix(file)}${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * `durable: false` skips both fsyncs: the file is still whole (old or new) after this process is
 * killed at any moment, but not necessarily after the machine loses power. For a copy of state kept
 * elsewhere too, where a fsync's milliseconds on the event loop cost more than they protect.
 */
export function atomicWriteFileSync(file: string, data: string | Buffer, mode = 0o644, o: { durable?: boolean } = {}): void {
  const durable = o.durable ?? true;
  const tmp = tempPathFor(file);
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    if (durable) fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(tmp, file);
  } catch (err) {
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw err;
  }
  if (durable) fsyncDir(dirname(file));
}

/** atomicWriteFileSync with every step on libuv's thread pool. */
export async function atomicWriteFile(file: string, data: string | Buffer, mode = 0o644): Promise<void> {
  const tmp = tempPathFor(file);
  const fh = await fsp.open(tmp, 'w', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
    await fh.close();
    await fsp.rename(tmp, file);
  } catch (err) {
    await fh.close().catch(() => undefined); // already closed when the rename failed
    await fsp.unlink(tmp).catch(() => undefined);
    throw err;
  }
  try {
    const dir = await fsp.open(dirname(file), 'r');
    try { await dir.sync(); } finally { await dir.close(); }
  } catch { /* as fsyncDir */ }
}

export function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try { fsyncSync(fd); } finally { closeSync(fd); }
  } catch { /* some filesystems refuse fsync on directories; the rename is still atomic */ }
}
