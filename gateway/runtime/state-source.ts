// How a process that does not own the runtime state follows it (the nginx agent): the current
// snapshot, and a callback on each change. Where the state lives (a file, Redis) is the
// backend's business; the agent sees only these interfaces. Each nginx host also publishes what
// it has applied, as a HostReport, where every gateway's `status` can read it.
import type { StateFile } from './state-store';

export type StateSnapshot = Readonly<StateFile>;

export interface StateSource {
  /** Where the state comes from, for logs: the file path or the Redis URL. */
  readonly description: string;
  /** The latest snapshot seen. */
  current(): StateSnapshot;
  /** Called with each newer snapshot (version grew); returns an unsubscribe function. */
  subscribe(listener: (snapshot: StateSnapshot) => void): () => void;
  close(): Promise<void>;
}

/** What one nginx host (its agent) has applied, and its last failure. */
export interface HostReport {
  /** Stable per host and config: "<hostname>:<conf path>". */
  readonly host: string;
  readonly pid: number;
  readonly conf: string;
  /** The state version nginx serves (the last config it took). */
  readonly state_version: number;
  readonly manifest_sha256: string;
  readonly applied_at: string;
  /** The last attempt that did not take, while the previous config keeps serving; null when the last attempt took. */
  readonly failure: { readonly state_version: number; readonly manifest_sha256: string; readonly at: string; readonly message: string } | null;
  /** When the agent last wrote this report (it rewrites it every heartbeat). */
  readonly seen_at: string;
}

export interface HostReports {
  publish(report: HostReport): Promise<void>;
  list(): Promise<HostReport[]>;
}

/** A backend: the state to follow and where hosts report. */
export interface StateBackend {
  readonly source: StateSource;
  readonly reports: HostReports;
}

/** `--state` values naming a Redis server. */
export function isRedisUrl(spec: string): boolean {
  return /^rediss?:\/\//i.test(spec);
}
