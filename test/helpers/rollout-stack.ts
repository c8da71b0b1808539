// A rollout under test: scripted legacy and function upstreams whose answers the test sets (a
// share of failures, 404s), a manifest with a rolled-out route, gateways started in-process on it,
// steady traffic from sticky users, and polling GET /routes/:id/rollout for a state.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { startGateway, type GatewayHandle } from '../../gateway/runtime/serve-gateway';
import { pollUntil } from './poll';
import { startScriptedUpstream, type ScriptedUpstream } from './scripted-upstream';

export const ROLLOUT_TOKEN = 'rollout-test-token';

/** How the function answers: the share (0..1) of requests that fail with 502, that answer 404; `same`: the body legacy sends. */
export interface FunctionBehaviour { fail: number; notFound: number; same: boolean }

export interface RolloutStack {
  legacy: ScriptedUpstream;
  functions: ScriptedUpstream;
  behaviour: FunctionBehaviour;
  manifestPath: string;
  dir: string;
  close(): Promise<void>;
}

export async function startRolloutStack(rollout: string, opts: { shadow?: boolean; fallback?: boolean } = {}): Promise<RolloutStack> {
  const legacy = await startScriptedUpstream();
  const functions = await startScriptedUpstream();
  const behaviour: FunctionBehaviour = { fail: 0, notFound: 0, same: false };
  let n = 0;
  legacy.on('/', (_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end('{"side":"legacy"}'));
  functions.on('/', (_req, res) => {
    // Deterministic, evenly spread shares: the k-th request fails when k * fail crosses a whole number.
    const k = n++;
    const hits = (share: number) => Math.floor((k + 1) * share) > Math.floor(k * share);
    const status = hits(behaviour.fail) ? 502 : hits(behaviour.notFound) ? 404 : 200;
    res.writeHead(status, { 'content-type': 'application/json' }).end(behaviour.same ? '{"side":"legacy"}' : '{"side":"function"}');
  });
  const dir = mkdtempSync(join(tmpdir(), 'strangler-rollout-'));
  const manifestPath = join(dir, 'routes.yaml');
  writeFileSync(manifestPath, `version: 1
listen: 8080
debug_headers: true
upstreams:
  legacy: { servers: ["127.0.0.1:${legacy.port}"] }
  functions: { servers: ["127.0.0.1:${functions.port}"] }
gateway: { listen: "127.0.0.1:8090", admin: "127.0.0.1:8091" }
routes:
  - id: orders
    match: { prefix: /orders }
    to: function:orders
    canary:
      percent: 0
      sticky: "cookie:session_id"
      rollout: ${rollout}${opts.shadow ? '\n    shadow: {}' : ''}${opts.fallback ? '\n    fallback: legacy' : ''}
  - id: plain
    match: { prefix: /plain }
    to: function:plain
    canary: { percent: 0 }
`);
  return { legacy, functions, behaviour, manifestPath, dir, close: async () => { await Promise.all([legacy.close(), functions.close()]); } };
}

export function startRolloutGateway(s: RolloutStack, extra: { state?: string; workers?: number; env?: NodeJS.ProcessEnv } = {}): Promise<GatewayHandle> {
  return startGateway({
    manifestPath: s.manifestPath, watch: false, listen: '127.0.0.1:0', admin: '127.0.0.1:0', state: extra.state, reconcileMs: 200, workers: extra.workers,
    env: { STRANGLER_ADMIN_TOKEN: ROLLOUT_TOKEN, ...extra.env },
  });
}

export async function adminCall(gw: GatewayHandle, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await request(`http://127.0.0.1:${gw.admin.port}${path}`, {
    method: method as 'GET',
    headers: { authorization: `Bearer ${ROLLOUT_TOKEN}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.statusCode, body: await res.body.json() };
}

export async function rolloutOf(gw: GatewayHandle, route = 'orders'): Promise<any> {
  const r = await adminCall(gw, 'GET', `/routes/${route}/rollout`);
  if (r.status !== 200) throw new Error(`GET /routes/${route}/rollout: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

export async function act(gw: GatewayHandle, action: string, route = 'orders'): Promise<{ status: number; body: any }> {
  return adminCall(gw, 'POST', `/routes/${route}/rollout`, { action });
}

/** Polls until the rollout is in `state` (the bound is generous: it counts decisions, not time). */
export function untilState(gw: GatewayHandle, state: string, ms = 30_000): Promise<any> {
  return pollUntil(`rollout state ${state}`, async () => {
    const r = await rolloutOf(gw);
    return r.state === state ? r : null;
  }, ms);
}

/** Users who keep sending requests, each with its own session cookie; records which side served each. */
export class Traffic {
  /** Per user, the sides in the order they served it. */
  readonly sides = new Map<string, string[]>();
  sent = 0;
  /** Answers with a 5xx status. */
  failed = 0;
  private running = true;
  private readonly loops: Promise<void>[] = [];

  constructor(ports: readonly number[], users = 40, concurrency = 4) {
    for (let c = 0; c < concurrency; c++) {
      this.loops.push((async () => {
        for (let i = c; this.running; i += concurrency) {
          const user = `u${i % users}`;
          const port = ports[i % ports.length];
          try {
            const res = await request(`http://127.0.0.1:${port}/orders/${i}`, { headers: { cookie: `session_id=${user}` } });
            await res.body.dump();
            if (res.statusCode >= 500) this.failed++;
            const side = String(res.headers['x-strangler-target']);
            const list = this.sides.get(user) ?? [];
            if (list[list.length - 1] !== side) list.push(side);
            this.sides.set(user, list);
            this.sent++;
          } catch { /* a gateway closing: the loop stops soon */ }
        }
      })());
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }
}
