// Append-only record of every runtime change, one JSON object per line, so "who flipped
// images to 100% at 3am" has an answer. Appends are chained to keep the file in change order.
import { promises as fsp } from 'node:fs';

/** One route's percent changed (PATCH /routes/:id). */
export interface RouteAuditEntry {
  time: string;
  route: string;
  action: 'set' | 'clear';
  /** Effective percent before and after the change. */
  old: number;
  new: number;
  /** The admin client's address. */
  client: string;
  /** The state version the change produced. */
  state_version: number;
}

/** Several routes changed as one (PATCH /routes, e.g. the kill switch): one entry, every route's before and after. */
export interface BulkAuditEntry {
  time: string;
  action: 'bulk';
  routes: Record<string, { old: number; new: number }>;
  client: string;
  state_version: number;
}

/** A rollout's action or decision (rollout-controller.ts), with the figures behind it. */
export interface RolloutAuditEntry {
  time: string;
  action: 'rollout';
  route: string;
  /** start, pause, resume, abort (an operator) or advance, promote, hold, rollback, gate_passed (the rollout). */
  result: string;
  state: string;
  step: number;
  percent: number;
  reason: string;
  figures?: unknown;
  /** The admin client's address, or "rollout". */
  client: string;
  state_version: number;
}

export type AuditEntry = RouteAuditEntry | BulkAuditEntry | RolloutAuditEntry;

/** Where audit entries go: this file, or the Redis stream (redis-state-store.ts). */
export interface AuditSink {
  append(entry: AuditEntry): Promise<void>;
  /** The last `limit` entries, oldest first. */
  last(limit: number): Promise<AuditEntry[]>;
}

export class AuditLog implements AuditSink {
  private pending: Promise<unknown> = Promise.resolve();

  constructor(readonly file: string) {}

  append(entry: AuditEntry): Promise<void> {
    // One write(2) per line on an O_APPEND descriptor: lines never interleave.
    const line = JSON.stringify(entry) + '\n';
    const p = this.pending.then(() => fsp.appendFile(this.file, line, { encoding: 'utf8', mode: 0o600 }));
    this.pending = p.catch(() => undefined);
    return p;
  }

  /**
   * The last `limit` entries, oldest first. Reads at most the file's last `maxBytes`, so a
   * long-lived log costs the same to tail as a new one; a line that does not parse is skipped.
   */
  async last(limit: number, maxBytes = 256 * 1024): Promise<AuditEntry[]> {
    let fh;
    try {
      fh = await fsp.open(this.file, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    try {
      const { size } = await fh.stat();
      const start = Math.max(0, size - maxBytes);
      const buf = Buffer.alloc(size - start);
      await fh.read(buf, 0, buf.length, start);
      const lines = buf.toString('utf8').split('\n');
      if (start > 0) lines.shift(); // the first line may be cut
      const entries: AuditEntry[] = [];
      for (const line of lines) {
        if (!line.trim()) continue;
        try { entries.push(JSON.parse(line) as AuditEntry); } catch { /* a torn or foreign line */ }
      }
      return entries.slice(-limit);
    } finally {
      await fh.close();
    }
  }
}
