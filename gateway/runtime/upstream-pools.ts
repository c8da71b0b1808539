// Connections to the manifest's upstreams: one ServerConnections per server and limits,
// round-robin across an upstream's servers as nginx's default balancer does.
//
// `keepalive` follows nginx's meaning: N > 0 keeps up to N idle connections for reuse, 0 closes
// each one after its request. Like nginx's, it does not cap concurrency: a request is never
// queued behind slow ones, so a slow function cannot starve the fast routes of an upstream.
// `max_conns` does cap all connections to a server, as nginx's `server … max_conns=`.
import type { RouteTable, Upstream } from '../manifest/route-table';
import { ServerConnections } from './server-connections';

/** One server as a route reaches it: the server's connections (shared by every route) and the route's connect timeout for a new one. */
export interface ServerPool {
  readonly pool: ServerConnections;
  readonly address: string;
  /** false: send each request with `Connection: close` (keepalive 0). */
  readonly keepalive: boolean;
  readonly connectMs: number;
}

export class UpstreamPools {
  /** One per server and limits: max_conns counts every route's connections to it, whatever their connect timeouts. */
  private readonly pools = new Map<string, { readonly address: string; readonly pool: ServerConnections }>();
  private upstreams: ReadonlyMap<string, Upstream> = new Map();
  private readonly next = new Map<string, number>();
  /** serversOf's lists by connect timeout; an upstream's record is new after a reload, and the old one's entry goes with it. */
  private byUpstream = new WeakMap<Upstream, Map<number, readonly ServerPool[]>>();

  /** connections: at most this many per server, as a max_conns (null: only the manifest's max_conns, as nginx). */
  constructor(table: RouteTable, private readonly connections: number | null = null) {
    this.use(table);
  }

  /**
   * The largest response head a new connection takes: nginx's proxy_buffer_size (buffers.size),
   * the largest of the table's, as a connection serves every route. undici's own default, 16 KiB,
   * made a 20 KiB head (many Set-Cookie lines) a 502 where nginx relays it.
   */
  private maxHeaderBytes = 0;

  /** After a reload: pools of servers still named are kept (and their idle connections). */
  use(table: RouteTable): void {
    this.upstreams = table.upstreams;
    this.maxHeaderBytes = Math.max(table.defaults.buffers.size.bytes, ...table.routes.map((r) => r.buffers.size.bytes));
  }

  /** The servers to try for one request, starting with the next in round-robin order. */
  serversFor(upstream: string, connectMs: number): readonly ServerPool[] {
    const up = this.upstreams.get(upstream);
    if (!up) return [];
    const servers = this.serversOf(up, connectMs);
    const n = servers.length;
    if (n === 1) return servers;
    const start = (this.next.get(upstream) ?? 0) % n;
    this.next.set(upstream, start + 1);
    const out: ServerPool[] = [];
    for (let i = 0; i < n; i++) out.push(servers[(start + i) % n]);
    return out;
  }

  /** An upstream's pools in its servers' order, kept per table record: a request does not look them up by key. */
  private serversOf(up: Upstream, connectMs: number): readonly ServerPool[] {
    let byTimeout = this.byUpstream.get(up);
    if (byTimeout === undefined) this.byUpstream.set(up, byTimeout = new Map());
    let servers = byTimeout.get(connectMs);
    if (servers === undefined) {
      servers = Object.freeze(up.servers.map((s) => this.pool(s.host, s.port, connectMs, up.keepalive, up.max_conns)));
      byTimeout.set(connectMs, servers);
    }
    return servers;
  }

  private pool(host: string, port: number, connectMs: number, keepalive: number, maxConns: number): ServerPool {
    const key = `${host}|${port}|${keepalive}|${maxConns}`;
    let p = this.pools.get(key);
    if (p === undefined) {
      const address = `${host.includes(':') ? `[${host}]` : host}:${port}`;
      // A cap on this set of pools (the shadow copies') is one more max_conns: the tighter wins.
      const cap = this.connections === null ? maxConns : maxConns > 0 ? Math.min(maxConns, this.connections) : this.connections;
      p = { address, pool: new ServerConnections(`http://${address}`, address, { keepalive, maxConns: cap, maxHeaderBytes: () => this.maxHeaderBytes }) };
      this.pools.set(key, p);
    }
    return { address: p.address, pool: p.pool, keepalive: keepalive > 0, connectMs };
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.pools.values()].map((p) => p.pool.close()));
    this.forget();
  }

  /** After the grace period: requests still running are cut. */
  async destroy(): Promise<void> {
    await Promise.allSettled([...this.pools.values()].map((p) => p.pool.destroy()));
    this.forget();
  }

  private forget(): void {
    this.pools.clear();
    this.byUpstream = new WeakMap();
  }
}
