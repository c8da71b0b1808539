// What the primary of `strangler serve --workers N` and its workers say to each other over the
// cluster's IPC channel. Workers get the manifest text and compile it themselves (compiling is
// deterministic, so every worker holds the same frozen table as the primary), and the runtime
// overrides as the state file holds them.
import type { StateSnapshot } from './runtime-state';
import type { RouteStats } from './gateway-metrics';
import type { ShadowReport } from './shadow-report';

export type ToWorker =
  | { readonly t: 'start'; readonly manifestPath: string; readonly manifestText: string; readonly state: StateSnapshot; readonly host: string; readonly port: number; readonly applyDelayMs: number }
  | { readonly t: 'table'; readonly seq: number; readonly manifestText: string }
  | { readonly t: 'state'; readonly seq: number; readonly state: StateSnapshot }
  | { readonly t: 'stats'; readonly seq: number }
  /** A shadowed route's results; with reset, forgets them. */
  | { readonly t: 'shadow'; readonly seq: number; readonly route: string; readonly reset: boolean }
  /** Reopen the access log (SIGUSR1 reached the primary: logrotate). */
  | { readonly t: 'reopen' }
  | { readonly t: 'close'; readonly graceMs: number };

export type FromWorker =
  | { readonly t: 'listening'; readonly port: number }
  | { readonly t: 'failed'; readonly message: string; readonly code?: string }
  | { readonly t: 'ack'; readonly seq: number; readonly error?: string }
  /** Per-route stats, and the worker's metrics as prom-client's JSON (summed by AggregatorRegistry). */
  | { readonly t: 'stats'; readonly seq: number; readonly stats: [string, RouteStats][]; readonly metrics: unknown[] }
  | { readonly t: 'shadow'; readonly seq: number; readonly report: ShadowReport }
  | { readonly t: 'log'; readonly line: string };
