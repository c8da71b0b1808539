// nginx's duration, size and address syntax, parsed into values the Node gateway can use.
// The text is kept as written so the emitter writes what the user wrote.
import { ipFamily } from '../util/ip-address';

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
export const MAX_DURATION_MS = 86_400_000;

/**
 * nginx time syntax ("5s", "1m30s", "500ms", bare numbers are seconds); null when malformed.
 * Like nginx's ngx_parse_time, units must appear largest first and at most once ("5s5s" and
 * "500ms1s" are refused); only a trailing bare number may follow a smaller unit.
 */
export function parseDuration(text: string): number | null {
  if (!/^([0-9]{1,9}(ms|s|m|h|d)?)+$/.test(text)) return null;
  let ms = 0;
  let last = Infinity;
  for (const [, n, unit] of text.matchAll(/([0-9]+)(ms|s|m|h|d)?/g)) {
    if (unit !== undefined) {
      if (DURATION_UNITS[unit] >= last) return null;
      last = DURATION_UNITS[unit];
    }
    ms += Number(n) * DURATION_UNITS[unit ?? 's'];
  }
  return ms;
}

const AGE_UNITS: Record<string, number> = { y: 31_536_000, M: 2_592_000, w: 604_800, d: 86_400, h: 3600, m: 60, s: 1 };

/**
 * nginx time syntax in seconds, with nginx's longer units (y = 365d, M = 30d, w = 7d), largest
 * first, each at most once; a bare number is seconds. For max-age values; null when malformed.
 */
export function parseAge(text: string): number | null {
  if (!/^([0-9]{1,10}[yMwdhms]?)+$/.test(text)) return null;
  let seconds = 0;
  let last = Infinity;
  for (const [, n, unit] of text.matchAll(/([0-9]+)([yMwdhms])?/g)) {
    if (unit !== undefined) {
      if (AGE_UNITS[unit] >= last) return null;
      last = AGE_UNITS[unit];
    }
    seconds += Number(n) * AGE_UNITS[unit ?? 's'];
  }
  return seconds;
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** nginx size syntax ("512", "128k", "50m", "1g"); null when malformed. */
export function parseSize(text: string): number | null {
  const m = /^([0-9]{1,12})([kKmMgG]?)$/.exec(text);
  return m ? Number(m[1]) * SIZE_UNITS[m[2].toLowerCase()] : null;
}

export interface ParsedHostPort { host: string; port: number }

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV4 = /^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$/;
const IPV6 = /^[0-9A-Fa-f:.]{2,45}$/;

/**
 * host:port with an IPv4 address, a [bracketed] IPv6 address or a host name; null otherwise.
 * `minPort` 0 admits port 0 (a listener that lets the kernel choose, for --listen).
 */
export function parseHostPort(text: string, minPort = 1): ParsedHostPort | null {
  const m = /^(\[([^\]]+)\]|[^:\[\]]+):([0-9]{1,5})$/.exec(text);
  if (!m) return null;
  const port = Number(m[3]);
  if (port < minPort || port > 65535) return null;
  if (m[2] !== undefined) return IPV6.test(m[2]) && ipFamily(m[2]) === 6 ? { host: m[2], port } : null;
  const host = m[1];
  return IPV4.test(host) || (HOSTNAME.test(host) && !/^[0-9.]+$/.test(host)) ? { host, port } : null;
}
