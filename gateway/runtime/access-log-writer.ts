// A buffered, asynchronous line writer for the gateway's access log. Requests only append to a
// bounded in-memory buffer; one write at a time drains it to the file (or stdout) off the request
// path, in batches like nginx's `access_log … buffer=64k flush=…`: when 64 KiB are waiting or
// `flushMs` after the first waiting line, whichever comes first (one write per request cost more
// CPU than the request itself). A slow or full disk therefore never stalls a request: once the buffer holds `maxBytes`,
// new lines are dropped and counted (strangler_access_log_dropped_lines_total), as are lines a
// failed write lost. reopen() closes and reopens the file between two writes, for logrotate
// (SIGUSR1, as nginx). A line is encoded into the batch's buffer as it is appended: kept as
// strings until the batch was written, every line outlived a few scavenges and was promoted to
// the old generation, where only a full collection frees it. A line is a binary string, one char
// per byte (as Node gives header values): written as latin1, the bytes a client sent reach the
// file as they came, as nginx logs them.
import { close, open, write } from 'node:fs';
import { Counter, type Registry } from 'prom-client';

export type AccessLogDestination = { readonly kind: 'file'; readonly path: string } | { readonly kind: 'stdout' };

export interface AccessLogWriterOptions {
  /** Lines waiting for the disk beyond this many bytes are dropped (default 4 MiB). */
  maxBytes?: number;
  /** Told once per kind of failure (open, write), not once per line. */
  onError?: (message: string) => void;
  /** Longest a line waits for a batch to fill (default 200 ms). */
  flushMs?: number;
}

/** A batch this large is written at once. */
const BATCH_BYTES = 64 * 1024;

export const DEFAULT_ACCESS_LOG_BUFFER = 4 * 1024 * 1024;

export class AccessLogWriter {
  /** Lines written to the destination, dropped (buffer full or write failed). */
  written = 0;
  dropped = 0;
  /** Encoded lines waiting: filled buffers, then the one filling (`fill`, `fillBytes` used). */
  private full: Buffer[] = [];
  private fill: Buffer | null = null;
  private fillBytes = 0;
  private pendingLines = 0;
  private pendingBytes = 0;
  /** A written batch's buffer, kept for the next one. */
  private spare: Buffer | null = null;
  private fd: number | null = null;
  private busy = false;
  private reopenWanted = false;
  private closed = false;
  private drained: (() => void)[] = [];
  private readonly maxBytes: number;
  private readonly onError: (message: string) => void;
  private lastError = '';
  private readonly flushMs: number;
  private timer: NodeJS.Timeout | null = null;

  constructor(readonly destination: AccessLogDestination, opts: AccessLogWriterOptions = {}) {
    this.maxBytes = opts.maxBytes ?? DEFAULT_ACCESS_LOG_BUFFER;
    this.onError = opts.onError ?? (() => undefined);
    this.flushMs = opts.flushMs ?? 200;
  }

  /** Adds the writer's counters to a Prometheus registry. */
  register(registry: Registry): void {
    const self = this;
    new Counter({
      name: 'strangler_access_log_dropped_lines_total', help: 'Access log lines dropped: the write buffer was full (slow disk) or a write failed',
      registers: [registry], collect() { this.reset(); this.inc(self.dropped); },
    });
    new Counter({
      name: 'strangler_access_log_lines_total', help: 'Access log lines written',
      registers: [registry], collect() { this.reset(); this.inc(self.written); },
    });
  }

  /** `line`, a binary string, ends in "\n". Never blocks: queued, or dropped when the buffer is full. */
  append(line: string): void {
    const bytes = line.length;
    if (this.closed || this.pendingBytes + bytes > this.maxBytes) {
      this.dropped++;
      return;
    }
    if (this.fill === null || bytes > this.fill.length - this.fillBytes) {
      if (this.fill !== null && this.fillBytes > 0) this.full.push(this.fill.subarray(0, this.fillBytes));
      this.fill = bytes > BATCH_BYTES ? Buffer.allocUnsafe(bytes) : this.takeBuffer();
      this.fillBytes = 0;
    }
    this.fill.write(line, this.fillBytes, 'latin1');
    this.fillBytes += bytes;
    this.pendingBytes += bytes;
    this.pendingLines++;
    if (this.busy) return; // the running drain takes it
    if (this.full.length > 0) this.startDrain();
    else if (this.timer === null) this.timer = setTimeout(() => this.startDrain(), this.flushMs).unref();
  }

  private takeBuffer(): Buffer {
    const b = this.spare ?? Buffer.allocUnsafeSlow(BATCH_BYTES);
    this.spare = null;
    return b;
  }

  private startDrain(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.busy) return;
    this.busy = true;
    void this.drain();
  }

  /** Reopen the file before the next write (logrotate moved it away). */
  reopen(): void {
    if (this.destination.kind !== 'file') return;
    this.reopenWanted = true;
    this.startDrain();
  }

  /** Writes everything waiting; resolves once it is written (or dropped). */
  async flush(): Promise<void> {
    while (this.busy || this.pendingLines > 0 || this.reopenWanted) {
      const cycle = new Promise<void>((resolve) => this.drained.push(resolve));
      this.startDrain();
      await cycle;
    }
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    if (this.fd !== null && this.destination.kind === 'file') {
      const fd = this.fd;
      this.fd = null;
      await new Promise<void>((resolve) => close(fd, () => resolve()));
    }
  }

  private fail(kind: string, err: Error): void {
    const message = `access log ${this.destination.kind === 'file' ? this.destination.path : 'stdout'}: ${kind}: ${err.message}`;
    if (message !== this.lastError) this.onError(message);
    this.lastError = message;
  }

  /** One batch: what is waiting now. Lines that arrive meanwhile wait for the next batch. */
  private async drain(): Promise<void> {
    try {
      if (this.reopenWanted) {
        this.reopenWanted = false;
        if (this.fd !== null && this.destination.kind === 'file') await closeFd(this.fd);
        this.fd = null;
      }
      if (this.pendingLines > 0) {
        const filled = this.fill;
        const batch = this.fillBytes > 0 ? [...this.full, filled!.subarray(0, this.fillBytes)] : this.full;
        const lines = this.pendingLines;
        this.full = [];
        this.fill = null;
        this.fillBytes = 0;
        this.pendingLines = 0;
        this.pendingBytes = 0;
        try {
          const fd = await this.openFd();
          for (const buf of batch) await writeAll(fd, buf);
          this.written += lines;
          this.lastError = '';
        } catch (err) {
          this.dropped += lines;
          this.fail('write failed, lines dropped', err as Error);
        }
        if (filled !== null && filled.length === BATCH_BYTES) this.spare = filled;
      }
    } finally {
      this.busy = false;
      for (const resolve of this.drained.splice(0)) resolve();
      if (this.reopenWanted || this.full.length > 0) this.startDrain();
      else if (this.pendingLines > 0 && this.timer === null && !this.closed) this.timer = setTimeout(() => this.startDrain(), this.flushMs).unref();
    }
  }

  private async openFd(): Promise<number> {
    if (this.destination.kind === 'stdout') return 1;
    if (this.fd === null) {
      const path = this.destination.path;
      this.fd = await new Promise<number>((resolve, reject) => open(path, 'a', 0o640, (err, fd) => (err ? reject(err) : resolve(fd))));
    }
    return this.fd;
  }
}

function closeFd(fd: number): Promise<void> {
  return new Promise((resolve) => close(fd, () => resolve()));
}

/** fs.write may write less than asked (pipes, signals): loop until all of it is out. */
async function writeAll(fd: number, buf: Buffer): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    off += await new Promise<number>((resolve, reject) => write(fd, buf, off, buf.length - off, null, (err, n) => {
      if (err && (err as NodeJS.ErrnoException).code === 'EAGAIN') return setTimeout(() => resolve(0), 5);
      return err ? reject(err) : resolve(n);
    }));
  }
}
