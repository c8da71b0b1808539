// Append-only record of every runtime change, one JSON object per line, so "who flipped
// images to 100% at 3am" has an answer. Appends are chained to keep the file in change order.
import { promises as fsp } from 'node:fs';

export type AuditEntry = {
  time: string;
  /** The admin client's address. */
  client: string;
  /** The state version the change produced. */
  state_version: number;
} & ({
  route: string;
  action: 'set' | 'clear';
  /** Effective percent before and after the change. */
  old: number;
  new: number;
} | {
  /** PATCH /routes: every route of the one change, with its effective percent before and after. */
  action: 'batch';
  routes: Record<string, { old: number; new: number }>;
});

export class AuditLog {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(readonly file: string) {}

  append(entry: AuditEntry): Promise<void> {
    // One write(2) per line on an O_APPEND descriptor: lines never interleave.
    const line = JSON.stringify(entry) + '\n';
    const p = this.tail.then(() => fsp.appendFile(this.file, line, { encoding: 'utf8', mode: 0o600 }));
    this.tail = p.catch(() => undefined);
    return p;
  }
}
