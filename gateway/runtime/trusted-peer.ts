// Whether a request reached the gateway through a trusted proxy (gateway.trusted_proxies, default
// loopback: nginx and the gateway on one host), judged by the socket's peer address. The one
// home of that rule: client-address.ts believes such a peer's X-Real-IP / X-Forwarded-*, and the
// gateway sends X-Strangler-Target without debug_headers only to such a peer (the nginx in front
// logs it and hides it from its client).
import { cidrMatcher, type Cidr } from '../manifest/cidr';
import { remoteAddr } from './decide-route';

/** A test for peers in `trusted`; IPv4-mapped IPv6 peers (::ffff:a.b.c.d) match IPv4 blocks. */
export function trustedPeer(trusted: readonly Cidr[]): (remoteAddress: string | undefined) => boolean {
  const isTrusted = cidrMatcher(trusted);
  return (remoteAddress) => remoteAddress !== undefined && remoteAddress !== '' && isTrusted(remoteAddr(remoteAddress));
}
