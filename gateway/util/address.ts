// Addresses given on the command line, and the URL a client on this machine uses for a listener.
import { networkInterfaces } from 'node:os';
import { parseHostPort } from '../manifest/units';

export interface Address { host: string; port: number }

/** "127.0.0.1:8090", "[::1]:8090", "localhost:8090", or "8090" (host from `fallback`); port 0 allowed. */
export function parseAddress(text: string, fallback: Address): Address {
  const port = /^[0-9]{1,5}$/.test(text) ? Number(text) : null;
  const a = port === null ? parseHostPort(text, 0) : port <= 65535 ? { host: fallback.host, port } : null;
  if (!a) throw new Error(`bad address ${JSON.stringify(text)}: expected host:port, [v6]:port or port (0..65535)`);
  return a;
}

/** The host a client on this machine connects to for a listener bound at `host`: a wildcard bind is reached on loopback. */
export function reachableHost(host: string | null): string {
  return host === null || host === '' || host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
}

/** http://host:port (or https://) for a listener bound at host:port. */
export function localUrl(host: string | null, port: number, scheme: 'http' | 'https' = 'http'): string {
  const h = reachableHost(host);
  return `${scheme}://${h.includes(':') ? `[${h}]` : h}:${port}`;
}

/**
 * URLs other machines reach a listener bound at host:port by: for a wildcard bind, one per
 * non-loopback interface address (IPv4 first); none for a loopback or specific bind, whose
 * localUrl is the one URL.
 */
export function remoteUrls(host: string | null, port: number): string[] {
  const wildcard = host === null || host === '' || host === '0.0.0.0' || host === '::';
  if (!wildcard) return [];
  const out: string[] = [];
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.internal || (host === '0.0.0.0' && a.family !== 'IPv4') || (a.family === 'IPv6' && a.address.startsWith('fe80'))) continue;
      out.push(`http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${port}`);
    }
  }
  return out.sort((a, b) => Number(a.includes('[')) - Number(b.includes('[')));
}
