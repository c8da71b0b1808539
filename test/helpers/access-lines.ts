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
