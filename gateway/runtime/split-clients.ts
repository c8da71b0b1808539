// nginx's `split_clients`, bucket for bucket (ngx_http_split_clients_module.c, ngx_murmurhash.c),
// so a sticky canary sends a given user to the same side whether nginx or the Node gateway routes.
//
// Strings are hashed as nginx sees bytes: a string whose chars are all <= 0xFF is taken as a
// latin1 "binary string", one char per byte (what Node gives for header and cookie values, which
// it decodes as latin1); a string with any char above 0xFF is hashed as its UTF-8 encoding.
import { formatSplitPercent, percentToHundredths } from '../manifest/percent';

// The percent rule's home is gateway/manifest/percent.ts; re-exported for split_clients' users.
export { formatSplitPercent, percentToHundredths };

const M = 0x5bd1e995;

/** ngx_murmur_hash2: MurmurHash2, seed 0, little-endian 4-byte blocks; unsigned 32-bit result. */
export function murmurHash2(data: Uint8Array): number {
  const n = data.length;
  let h = n | 0; // h = 0 ^ len (uint32)
  let i = 0;
  const end = n & ~3;
  while (i < end) {
    let k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
    i += 4;
  }
  return finish(h, n & 3, n & 3 ? data[i] : 0, (n & 3) > 1 ? data[i + 1] : 0, (n & 3) > 2 ? data[i + 2] : 0);
}

/** The tail bytes (nginx's fall-through switch) and the final avalanche. */
function finish(h: number, rest: number, b0: number, b1: number, b2: number): number {
  if (rest === 3) h ^= b2 << 16;
  if (rest >= 2) h ^= b1 << 8;
  if (rest >= 1) {
    h ^= b0;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h >>> 0;
}

/**
 * MurmurHash2 of the bytes of `a` followed by those of `b` (binary strings), without building the
 * concatenation: this runs on every canaried request. Returns -1 if a char is above 0xFF.
 */
function murmurHash2Binary2(a: string, b: string): number {
  const la = a.length;
  const n = la + b.length;
  const at = (j: number) => (j < la ? a.charCodeAt(j) : b.charCodeAt(j - la));
  let h = n | 0;
  let i = 0;
  const end = n & ~3;
  while (i < end) {
    let c0: number, c1: number, c2: number, c3: number;
    if (i + 4 <= la) {
      c0 = a.charCodeAt(i); c1 = a.charCodeAt(i + 1); c2 = a.charCodeAt(i + 2); c3 = a.charCodeAt(i + 3);
    } else {
      c0 = at(i); c1 = at(i + 1); c2 = at(i + 2); c3 = at(i + 3);
    }
    if ((c0 | c1 | c2 | c3) > 0xff) return -1;
    let k = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
    i += 4;
  }
  const rest = n & 3;
  const b0 = rest ? at(i) : 0;
  const b1 = rest > 1 ? at(i + 1) : 0;
  const b2 = rest > 2 ? at(i + 2) : 0;
  if ((b0 | b1 | b2) > 0xff) return -1;
  return finish(h, rest, b0, b1, b2);
}

/** Bytes of a key: Buffers as they are; strings per the binary-string convention above. */
export function keyBytes(key: string | Uint8Array): Uint8Array {
  if (typeof key !== 'string') return key;
  for (let i = 0; i < key.length; i++) {
    if (key.charCodeAt(i) > 0xff) return Buffer.from(key, 'utf8');
  }
  return Buffer.from(key, 'latin1');
}

/** murmurHash2 of `a` then `b`, with the string convention of this module. */
export function hashKey(a: string | Uint8Array, b: string | Uint8Array = ''): number {
  if (typeof a === 'string' && typeof b === 'string') {
    const h = murmurHash2Binary2(a, b);
    if (h !== -1) return h;
  }
  const ab = keyBytes(a);
  const bb = keyBytes(b);
  return murmurHash2(bb.length ? Buffer.concat([ab, bb]) : ab);
}

// ---------------------------------------------------------------------------------------------
// Percents and thresholds

/** One `split_clients` line's left side: a percent (25, 33.33, "12.5%") or "*" for the rest. */
export type SplitPart = number | string;

const MAX_INT = Number.MAX_SAFE_INTEGER;

/**
 * ngx_atofp(text, len - 1, 2) on "NN.NN%": the percent in hundredths. Digits past the second
 * decimal are ignored (truncated, not rounded), as nginx does; "0%" (and anything that truncates
 * to 0) is invalid, like a non-number. Returns 0 for "*".
 */
export function parseSplitPercent(text: string): number {
  if (text === '*') return 0;
  if (text.length < 2 || text[text.length - 1] !== '%') throw new Error(`invalid percent value "${text}"`);
  let value = 0;
  let point = 2;
  let dot = false;
  for (let i = 0; i < text.length - 1; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e /* . */) {
      if (dot) throw new Error(`invalid percent value "${text}"`);
      dot = true;
      continue;
    }
    if (c < 0x30 || c > 0x39) throw new Error(`invalid percent value "${text}"`);
    if (point === 0) continue;
    value = value * 10 + (c - 0x30);
    if (value > MAX_INT / 100) throw new Error(`invalid percent value "${text}"`);
    if (dot) point--;
  }
  while (point-- > 0) value *= 10;
  if (value === 0) throw new Error(`invalid percent value "${text}"`);
  return value;
}

function partHundredths(p: SplitPart): number {
  if (typeof p === 'string') return parseSplitPercent(p.trim());
  const h = percentToHundredths(p);
  if (h === 0) throw new Error(`invalid percent value "${p}%"`);
  return h;
}

/**
 * The values nginx stores for each part (ngx_conf_split_clients_block): a running uint32
 * `last += percent * (uint64_t) 0xffffffff / 10000` (integer division, i.e. truncation) for
 * percent parts, 0 for "*" (which matches any hash). Throws where nginx refuses the block:
 * a total above 100%, including any percent part after a "*".
 */
export function splitClientsThresholds(parts: readonly SplitPart[]): number[] {
  let sum = 0;
  let last = 0n;
  const out: number[] = [];
  for (const p of parts) {
    const h = partHundredths(p);
    sum = h ? sum + h : 10000;
    if (sum > 10000) throw new Error('percent total is greater than 100%');
    if (h) {
      last = (last + (BigInt(h) * 0xffffffffn) / 10000n) & 0xffffffffn;
      out.push(Number(last));
    } else {
      out.push(0);
    }
  }
  return out;
}

/**
 * Index of the part nginx picks for `key` (ngx_http_split_clients_variable): the first whose
 * threshold is above the hash, or which is "*" (0). -1 when none does, where nginx yields the
 * empty string. Note the percent parts of a 100% total without "*" can leave the very top
 * hashes unmatched, since each part's share is truncated.
 */
export function splitClientsBucket(key: string | Uint8Array, thresholds: readonly number[]): number {
  const hash = hashKey(key);
  for (let i = 0; i < thresholds.length; i++) {
    const t = thresholds[i];
    if (hash < t || t === 0) return i;
  }
  return -1;
}

/**
 * Which side a canaried request goes to: the route's share is the first part of
 * `split_clients "${key}${salt}" $v { P% to; * legacy; }`. `keyValue` is the sticky key's value
 * as nginx's variable holds it (e.g. the raw cookie value, "" when absent), `percent` the share
 * sent to `to` (0..100, at most two decimals). 0 is always legacy and 100 always `to` (nginx
 * refuses a 0% part, and a lone 100% part would leave hash 0xffffffff unmatched, so the compiler
 * emits no split_clients for either).
 */
export function canarySide(keyValue: string, salt: string, percent: number): 'to' | 'legacy' {
  const h = percentToHundredths(percent);
  if (h <= 0) return 'legacy';
  if (h >= 10000) return 'to';
  // h * 0xffffffff < 2^53 is exact, and truncating the quotient is exact too (its fractional
  // part, when not 0, is at least 1e-4, far above the double spacing below 2^32).
  const threshold = Math.floor((h * 0xffffffff) / 10000);
  return hashKey(keyValue, salt) < threshold ? 'to' : 'legacy';
}
