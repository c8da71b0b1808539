// Whether a request reached the gateway through the nginx in front of it, judged by the socket's
// peer address. For now that means a loopback peer (127.0.0.0/8, ::1, and their IPv4-mapped
// forms), i.e. nginx and the gateway on one host. Stand-in until gateway.trusted_proxies (CIDRs,
// default loopback) exists: this one function is what that check replaces. Until then a gateway
// in another container (deploy/) is not trusted, and nginx logs its routes' target as `gateway`.

/** True for a peer the gateway trusts to be its nginx: today, a loopback address. */
export function fromTrustedProxy(remoteAddress: string | undefined): boolean {
  if (remoteAddress === undefined) return false;
  const v4 = remoteAddress.startsWith('::ffff:') ? remoteAddress.slice(7) : remoteAddress;
  return v4.startsWith('127.') || remoteAddress === '::1';
}
