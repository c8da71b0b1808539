// undici connection pools for the manifest's upstreams: one Pool per server and connect
// timeout, round-robin across an upstream's servers as nginx's default balancer does.
//
// `keepalive` follows nginx's meaning: N > 0 keeps connections open for reuse, 0 closes each
// one after its request. Like nginx's, it does not cap concurrency: a pool never queues a
// request behind slow ones, so a slow function cannot starve the fast routes of an upstream.
import { Pool } from 'undici';
import type { RouteTable, Upstream } from '../manifest/route-table';

export interface ServerPool {
  readonly pool: Pool;
  readonly address: string;
  /** false: send each request with `Connection: close` (keepalive 0). */
  readonly keepalive: boolean;
}

export class UpstreamPools {
  private readonly pools = new Map<string, ServerPool>();
  private upstreams: ReadonlyMap<string, Upstream> = new Map();
  private readonly next = new Map<string, number>();

  /** connections: at most this many per server (null: unbounded, as nginx). */
  constructor(table: RouteTable, private readonly connections: number | null = null) {
    this.use(table);
  }

  /** After a reload: pools of servers still named are kept (and their idle connections). */
  use(table: RouteTable): void {
    this.upstreams = table.upstreams;
  }

  /** The servers to try for one request, starting with the next in round-robin order. */
  serversFor(upstream: string, connectMs: number): ServerPool[] {
    const up = this.upstreams.get(upstream);
    if (!up) return [];
    const n = up.servers.length;
    const start = (this.next.get(upstream) ?? 0) % n;
    this.next.set(upstream, start + 1);
    const out: ServerPool[] = [];
    for (let i = 0; i < n; i++) {
      const s = up.servers[(start + i) % n];
      out.push(this.pool(s.host, s.port, connectMs, up.keepalive > 0));
    }
    return out;
  }

  private pool(host: string, port: number, connectMs: number, keepalive: boolean): ServerPool {
    const key = `${host}|${port}|${connectMs}|${keepalive}`;
    let p = this.pools.get(key);
    if (p === undefined) {
      const address = `${host.includes(':') ? `[${host}]` : host}:${port}`;
      p = {
        address,
        keepalive,
        pool: new Pool(`http://${address}`, {
          connections: this.connections,
          pipelining: 1,
          connect: { timeout: connectMs },
          keepAliveTimeout: 60_000,
          keepAliveMaxTimeout: 600_000,
          // The route's read timeout is set per request; these are only the upper bounds.
          headersTimeout: 0,
          bodyTimeout: 0,
        }),
      };
      this.pools.set(key, p);
    }
    return p;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.pools.values()].map((p) => p.pool.close()));
    this.pools.clear();
  }

  /** After the grace period: requests still running are cut. */
  async destroy(): Promise<void> {
    await Promise.allSettled([...this.pools.values()].map((p) => p.pool.destroy()));
    this.pools.clear();
  }
}
