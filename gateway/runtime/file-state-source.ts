// The state file as a StateSource: a watch on its directory (the gateway replaces the file by
// rename, which a watch on the file itself would miss) plus a periodic re-read that compares
// versions, because watches lose events (network filesystems, overflowing inotify queues).
// Host reports are small JSON files beside the state file, one per nginx host.
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { atomicWriteFileSync } from '../util/atomic-write';
import { watchFile } from '../util/watch-file';
import type { HostReport, HostReports, StateBackend, StateSnapshot, StateSource } from './state-source';
import { readStateFile } from './state-store';

export const DEFAULT_POLL_MS = 1000;

export interface FileStateSourceOptions {
  /** The periodic re-read (default 1 s). */
  pollMs?: number;
  /** A state file that turned unreadable after the start: the last good state stays in force. */
  onError?: (err: Error) => void;
}

function snapshotOf(file: string): StateSnapshot {
  const s = readStateFile(file);
  return { version: s.version, routes: Object.fromEntries(s.routes) };
}

/** Throws StateFileError when the file exists and is unusable (as the gateway refuses it too). */
export function openFileStateSource(file: string, opts: FileStateSourceOptions = {}): StateSource {
  let current = snapshotOf(file);
  const listeners = new Set<(s: StateSnapshot) => void>();
  let lastError = '';
  const check = () => {
    let next: StateSnapshot;
    try {
      next = snapshotOf(file);
    } catch (err) {
      // Report a problem once, not every poll.
      if ((err as Error).message !== lastError) opts.onError?.(err as Error);
      lastError = (err as Error).message;
      return;
    }
    lastError = '';
    if (next.version === current.version) return;
    current = next;
    for (const l of listeners) l(next);
  };
  const watcher = watchFile(file, check, 5, () => undefined); // without a watch, the poll alone
  const poll = setInterval(check, opts.pollMs ?? DEFAULT_POLL_MS);
  poll.unref();
  return {
    description: file,
    current: () => current,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      clearInterval(poll);
      watcher.close();
      listeners.clear();
    },
  };
}

/** Host reports live in `<state file>.hosts/`, one JSON file per host. */
export function hostReportDir(stateFile: string): string {
  return `${stateFile}.hosts`;
}

export function fileHostReports(stateFile: string): HostReports {
  const dir = hostReportDir(stateFile);
  const fileFor = (host: string) => join(dir, `${host.replace(/[^A-Za-z0-9._-]/g, '_')}.json`);
  return {
    async publish(report) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      atomicWriteFileSync(fileFor(report.host), JSON.stringify(report, null, 2) + '\n', 0o600);
    },
    async list() {
      let names: string[];
      try { names = readdirSync(dir); } catch { return []; }
      const out: HostReport[] = [];
      for (const n of names.filter((x) => x.endsWith('.json')).sort()) {
        try {
          const r = JSON.parse(readFileSync(join(dir, n), 'utf8')) as HostReport;
          if (r && typeof r.host === 'string' && typeof r.state_version === 'number') out.push(r);
        } catch { /* a half-removed or foreign file: not a report */ }
      }
      return out;
    },
  };
}

export function openFileBackend(file: string, opts: FileStateSourceOptions = {}): StateBackend {
  return { source: openFileStateSource(file, opts), reports: fileHostReports(file) };
}

