// Access log lines in the strangler_json format: synthetic ones for report tests, and reading the
// lines nginx or the gateway wrote.
import { existsSync, readFileSync } from 'node:fs';
import { formatAccessLine } from '../../gateway/runtime/access-log';

export type LoggedLine = Record<string, unknown>;

/**
 * Every complete line of a log file another process writes (none while it does not exist yet);
 * latin1 reads each byte as one char. A line still being written (no "\n" yet) is left for the
 * next read: the writer's batch may be read half-way.
 */
export function loggedLines(path: string, encoding: 'utf8' | 'latin1' = 'utf8'): LoggedLine[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, encoding).split('\n').slice(0, -1).filter(Boolean).map((l) => JSON.parse(l) as LoggedLine);
}

/** The first line for `uri` after the first `after` lines, polled for until it is written. */
export async function lineFor(path: string, uri: string, after = 0, encoding: 'utf8' | 'latin1' = 'utf8'): Promise<LoggedLine> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const found = loggedLines(path, encoding).slice(after).find((l) => l.uri === uri);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no line for ${uri} in ${path}`);
    await new Promise((r) => setTimeout(r, 10)); // polling a file another process writes
  }
}

export interface LineSpec { time: string; route: string; target: string; uri: string; status?: number; seconds?: number; method?: string }

export function accessLine(s: LineSpec): string {
  return formatAccessLine({
    time: s.time, route: s.route, target: s.target, method: s.method ?? 'GET', uri: s.uri, status: s.status ?? 200, bytes: 10,
    request_time: s.seconds ?? 0.01, upstream_response_time: '', upstream_addr: '', upstream_status: '', remote_addr: '127.0.0.1',
    request_id: '0123456789abcdef0123456789abcdef', user_agent: 'curl/8.0',
  });
}

/** `n` copies of one line. */
export function lines(n: number, s: LineSpec): string {
  return accessLine(s).repeat(n);
}

/** The manifest the report tests read: two function routes and one that gets no traffic. */
export const REPORT_MANIFEST = `version: 1
listen: 8080
upstreams:
  legacy: { servers: ["127.0.0.1:8081"] }
  functions: { servers: ["127.0.0.1:8082"] }
routes:
  - id: track
    match: { prefix: /api/v1/track }
    to: function:track-package
  - id: images
    match: { prefix: /images/ }
    to: function:image-resizer
    canary: { percent: 75 }
  - id: old
    match: { exact: /old }
    to: function:old
`;
