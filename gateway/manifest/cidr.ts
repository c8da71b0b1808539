// Addresses and CIDR blocks (trusted_proxies): "10.0.0.1", "10.0.0.0/8", "2001:db8::/32".
// Parsed with node:net so the text nginx receives (set_real_ip_from) is one node:net accepts.
import { isIPv4, isIPv6 } from 'node:net';

export interface Cidr {
  readonly family: 4 | 6;
  /** The address as written, without the prefix length. */
  readonly address: string;
  /** Prefix length; 32 or 128 for a single address. */
  readonly bits: number;
  /** As written: what set_real_ip_from receives. */
  readonly text: string;
}

/** A Cidr, or a sentence saying why `text` is not an address or a CIDR block. */
export function parseCidr(text: string): Cidr | string {
  // Hex digits, dots and colons only: no zone ids (fe80::1%eth0), which nginx does not take.
  const m = /^([0-9A-Fa-f:.]+)(?:\/([0-9]{1,3}))?$/.exec(text);
  if (!m) return `${JSON.stringify(text)} is not an address or a CIDR block (10.0.0.0/8, 2001:db8::/32)`;
  const family = isIPv4(m[1]) ? 4 : isIPv6(m[1]) ? 6 : 0;
  if (family === 0) return `${JSON.stringify(m[1])} is not an IPv4 or IPv6 address`;
  const max = family === 4 ? 32 : 128;
  const bits = m[2] === undefined ? max : Number(m[2]);
  if (bits > max) return `${JSON.stringify(text)}: an IPv${family} prefix length is at most ${max}`;
  if (m[2] !== undefined && m[2].length > 1 && m[2].startsWith('0')) return `${JSON.stringify(text)}: write the prefix length without a leading zero`;
  return { family, address: m[1], bits, text };
}

export function isCidr(value: Cidr | string): value is Cidr {
  return typeof value !== 'string';
}
