// The client's address behind a trusted proxy (gateway.trusted_proxies, nginx in front): what
// nginx's realip module gives with `real_ip_header X-Real-IP` and, without that header, the
// rightmost X-Forwarded-For entry that is not itself a trusted proxy (real_ip_recursive on).
// From any other peer the socket's address is the client, and forwarding headers are ignored.
import { ipFamily } from '../util/ip-address';
import { cidrMatcher, type Cidr } from '../manifest/cidr';
import { remoteAddr } from './decide-route';
import { trustedPeer } from './trusted-peer';

export interface ClientAddress {
  /** For sticky: ip, logs and metrics. */
  readonly address: string;
  /** The peer is a trusted proxy: its X-Real-IP and X-Forwarded-* go upstream as received. */
  readonly viaTrustedProxy: boolean;
}

export type ClientAddressOf = (peer: string, rawHeaders: readonly string[]) => ClientAddress;

export function clientAddressResolver(trusted: readonly Cidr[]): ClientAddressOf {
  const isTrusted = cidrMatcher(trusted);
  const fromTrustedPeer = trustedPeer(trusted);
  return (peer, rawHeaders) => {
    const socketAddress = remoteAddr(peer);
    if (!fromTrustedPeer(peer)) return { address: socketAddress, viaTrustedProxy: false };
    let realIp = '';
    let xff = '';
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const name = rawHeaders[i];
      if (name.length === 9 && name.toLowerCase() === 'x-real-ip') realIp = rawHeaders[i + 1].trim();
      else if (name.length === 15 && name.toLowerCase() === 'x-forwarded-for') xff = xff ? `${xff}, ${rawHeaders[i + 1]}` : rawHeaders[i + 1];
    }
    if (realIp && ipFamily(realIp)) return { address: remoteAddr(realIp), viaTrustedProxy: true };
    if (xff) {
      const hops = xff.split(',').map((h) => h.trim()).filter(Boolean);
      for (let i = hops.length - 1; i >= 0; i--) {
        if (!ipFamily(hops[i])) break; // garbage: stop where nginx stops, at the last good address
        const a = remoteAddr(hops[i]);
        if (!isTrusted(a) || i === 0) return { address: a, viaTrustedProxy: true };
      }
    }
    return { address: socketAddress, viaTrustedProxy: true };
  };
}
