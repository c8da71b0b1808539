// Synthetic access log lines in the strangler_json format, for report tests.
import { formatAccessLine } from '../../gateway/runtime/access-log';

export interface LineSpec { time: string; route: string; target: string; uri: string; status?: number; seconds?: number; method?: string }

export function accessLine(s: LineSpec): string {
  return formatAccessLine({
    time: s.time, route: s.route, target: s.target, method: s.method ?? 'GET', uri: s.uri, status: s.status ?? 200, bytes: 10,
    request_time: s.seconds ?? 0.01, upstream_response_time: '', upstream_addr: '', upstream_status: '', remote_addr: '127.0.0.1',
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
