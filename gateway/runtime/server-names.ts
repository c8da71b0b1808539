// nginx's server_name matching, for `default_server: refuse`: which Host names this server
// answers. Exact names, a leading wildcard (*.example.com: any name below example.com), the
// special form .example.com (example.com and any name below), and a trailing wildcard
// (www.example.*). Case-insensitive; the host is nginx's $host (lower-cased, no port, no
// trailing dot).

import { asciiLower } from './nginx-uri';

export type ServerNameMatcher = (host: string | undefined) => boolean;

export function serverNameMatcher(serverName: string): ServerNameMatcher {
  const exact = new Set<string>();
  const suffixes: string[] = [];
  const prefixes: string[] = [];
  for (const raw of serverName.split(' ')) {
    const name = asciiLower(raw);
    if (name === '_' || name === '') continue; // nginx's "invalid name": never matches a Host
    if (name.startsWith('*.')) suffixes.push(name.slice(1));
    else if (name.startsWith('.')) { exact.add(name.slice(1)); suffixes.push(name); }
    else if (name.endsWith('.*')) prefixes.push(name.slice(0, -1));
    else exact.add(name);
  }
  return (host) => {
    if (host === undefined) return false;
    if (exact.has(host)) return true;
    // ngx_hash_find_wc_head: "*.example.com" takes any host ending in ".example.com", even
    // ".example.com" itself (an empty first label), but not "example.com".
    if (suffixes.some((s) => host.endsWith(s))) return true;
    return prefixes.some((p) => host.startsWith(p) && host.length > p.length);
  };
}
