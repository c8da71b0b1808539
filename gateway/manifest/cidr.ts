// Addresses and CIDR blocks, as nginx's set_real_ip_from (top-level trusted_proxies) and the
// gateway's gateway.trusted_proxies read them: "127.0.0.1", "10.0.0.0/8", "::1", "fd00::/8".
// The one parser and matcher for both; the text nginx receives is one node:net accepts.
import { parseIpAddress } from '../util/ip-address';

export interface Cidr {
  /** As written in the manifest. */
  readonly text: string;
  readonly family: 4 | 6;
  /** The network's 16 bytes (IPv4 as an IPv4-mapped IPv6 address). */
  readonly bytes: readonly number[];
  /** Prefix length over the 128 bits (an IPv4 /8 is 104). */
  readonly bits: number;
}

/** Loopback: the default of gateway.trusted_proxies. */
export const LOOPBACK_CIDRS: readonly string[] = ['127.0.0.0/8', '::1/128'];

/** A Cidr, or a sentence saying why `text` is not an address or a CIDR block. */
export function parseCidr(text: string): Cidr | string {
  // Hex digits, dots and colons only: no zone ids (fe80::1%eth0), which nginx does not take.
  const m = /^([0-9A-Fa-f:.]+)(?:\/([0-9]{1,3}))?$/.exec(text);
  if (!m) return `${JSON.stringify(text)} is not an address or a CIDR block (10.0.0.0/8, 2001:db8::/32)`;
  const address = parseIpAddress(m[1]);
  if (!address) return `${JSON.stringify(m[1])} is not an IPv4 or IPv6 address`;
  const family = address.family;
  const max = family === 4 ? 32 : 128;
  const bits = m[2] === undefined ? max : Number(m[2]);
  if (bits > max) return `${JSON.stringify(text)}: an IPv${family} prefix length is at most ${max}`;
  if (m[2] !== undefined && m[2].length > 1 && m[2].startsWith('0')) return `${JSON.stringify(text)}: write the prefix length without a leading zero`;
  const total = family === 4 ? bits + 96 : bits;
  // Host bits set (10.0.0.1/8) are allowed, as nginx allows them: they are masked off.
  return { text, family, bytes: mask(address.bytes, total), bits: total };
}

export function isCidr(value: Cidr | string): value is Cidr {
  return typeof value !== 'string';
}

/** A matcher for a list of CIDRs; IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) match IPv4 blocks. */
export function cidrMatcher(cidrs: readonly Cidr[]): (address: string) => boolean {
  if (cidrs.length === 0) return () => false;
  const cache = new Map<string, boolean>();
  return (address) => {
    let hit = cache.get(address);
    if (hit === undefined) {
      const b = addressBytes(address);
      hit = b !== null && cidrs.some((c) => sameNetwork(b, c));
      if (cache.size > 4096) cache.clear(); // bounded: client addresses are unbounded
      cache.set(address, hit);
    }
    return hit;
  };
}

function sameNetwork(b: readonly number[], c: Cidr): boolean {
  const m = mask(b, c.bits);
  for (let i = 0; i < 16; i++) if (m[i] !== c.bytes[i]) return false;
  return true;
}

function mask(b: readonly number[], bits: number): number[] {
  return b.map((v, i) => {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    return v & ((0xff << (8 - keep)) & 0xff);
  });
}

/** 16 bytes of an IPv4 (mapped) or IPv6 address, bracketed or not; null when it is neither. */
export function addressBytes(address: string): number[] | null {
  const a = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  return parseIpAddress(a)?.bytes ?? null;
}
