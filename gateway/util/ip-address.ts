// IPv4 and IPv6 address text, accepted exactly as node:net's isIP accepts it (a property test
// holds the two together). Not node:net itself: its IPv6 check is a regular expression whose first
// use costs about 10 ms to compile, a tenth of `strangler validate`, which checks addresses.

export interface IpAddress {
  readonly family: 4 | 6;
  /** 16 bytes; an IPv4 address as its IPv4-mapped IPv6 form (::ffff:a.b.c.d). */
  readonly bytes: number[];
}

/** 4, 6, or 0 for text that is neither, as node:net's isIP answers. */
export function ipFamily(text: string): 0 | 4 | 6 {
  return ipv4Bytes(text) ? 4 : ipv6Bytes(text) ? 6 : 0;
}

export function parseIpAddress(text: string): IpAddress | null {
  const v4 = ipv4Bytes(text);
  if (v4) return { family: 4, bytes: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...v4] };
  const v6 = ipv6Bytes(text);
  return v6 ? { family: 6, bytes: v6 } : null;
}

/** Dotted quad, each part 0–255 without a leading zero. */
function ipv4Bytes(text: string): number[] | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^(?:0|[1-9][0-9]{0,2})$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    out.push(n);
  }
  return out;
}

const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;

/** Eight groups, or fewer with one "::"; the last two may be written as a dotted quad; a zone id (%eth0) is allowed and dropped. */
function ipv6Bytes(text: string): number[] | null {
  const zone = text.indexOf('%');
  if (zone >= 0 && !/^%[0-9A-Za-z.:-]+$/.test(text.slice(zone))) return null;
  const s = zone >= 0 ? text.slice(0, zone) : text;
  const gap = s.indexOf('::');
  if (gap >= 0 && s.indexOf('::', gap + 1) >= 0) return null;
  const head = gap >= 0 ? s.slice(0, gap) : s;
  const tail = gap >= 0 ? s.slice(gap + 2) : '';
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === '' ? [] : tail.split(':');
  if (gap < 0 && head === '') return null;
  // A dotted quad may end the address: the last group of the tail, or of the head with no "::".
  const last = gap >= 0 ? tailGroups : headGroups;
  let quad: number[] | null = null;
  if (last.length > 0 && last[last.length - 1].includes('.')) {
    quad = ipv4Bytes(last.pop()!);
    if (!quad) return null;
  }
  const words: number[] = [];
  for (const g of [...headGroups, ...tailGroups]) {
    if (!HEX_GROUP.test(g)) return null;
    words.push(parseInt(g, 16));
  }
  const written = words.length + (quad ? 2 : 0);
  if (gap < 0 ? written !== 8 : written > 7) return null;
  const zeros = 8 - written;
  const all = [...words.slice(0, headGroups.length), ...Array<number>(gap >= 0 ? zeros : 0).fill(0), ...words.slice(headGroups.length)];
  const out: number[] = [];
  for (const w of all) out.push(w >> 8, w & 0xff);
  if (quad) out.push(...quad);
  return out;
}
