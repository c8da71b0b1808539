// The shadow tests' rig: a gateway in this process serving a manifest with shadowed routes between
// two scripted upstreams (legacy, and the functions at /function/NAME), and the routes' shadow
// results as its admin API reports them.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { startGateway, type GatewayHandle } from '../../gateway/runtime/serve-gateway';
import type { ShadowReport } from '../../gateway/runtime/shadow-report';
import { pollUntil } from './poll';
import { startScriptedUpstream, type ScriptedUpstream } from './scripted-upstream';

export const SHADOW_RIG_TOKEN = 'shadow-rig-token';

export interface ShadowRig {
  readonly legacy: ScriptedUpstream;
  readonly functions: ScriptedUpstream;
  readonly gateway: GatewayHandle;
  /** The manifest's directory (the gateway's files beside it). */
  readonly dir: string;
  /** The gateway's traffic address for a path. */
  url(path: string): string;
  /** An admin API call with the admin token. */
  admin(method: string, path: string): Promise<{ status: number; body: ShadowReport & Record<string, unknown> }>;
  results(route: string): Promise<ShadowReport>;
  /** Waits until the route has settled `n` copies (compared, failed or skipped after being sent). */
  settled(route: string, n: number): Promise<ShadowReport>;
  close(): Promise<void>;
}

/** A manifest of the rig's two upstreams with these routes (YAML list items, one per line or block). */
export function rigManifest(p: { legacy: number; functions: number }, routes: string): string {
  return `version: 1
listen: 8080
upstreams:
  legacy: { servers: ["127.0.0.1:${p.legacy}"] }
  functions: { servers: ["127.0.0.1:${p.functions}"] }
routes:
${routes}
`;
}

/** `manifest` gets the two upstreams' ports and the directory the manifest is written to. */
export async function startShadowRig(manifest: (p: { legacy: number; functions: number; dir: string }) => string): Promise<ShadowRig> {
  const legacy = await startScriptedUpstream();
  const functions = await startScriptedUpstream();
  const dir = mkdtempSync(join(tmpdir(), 'strangler-shadow-'));
  const manifestPath = join(dir, 'routes.yaml');
  writeFileSync(manifestPath, manifest({ legacy: legacy.port, functions: functions.port, dir }));
  let gateway: GatewayHandle;
  try {
    gateway = await startGateway({ manifestPath, listen: '127.0.0.1:0', admin: '127.0.0.1:0', watch: false, env: { STRANGLER_ADMIN_TOKEN: SHADOW_RIG_TOKEN } });
  } catch (err) {
    await Promise.all([legacy.close(), functions.close()]);
    throw err;
  }
  const admin: ShadowRig['admin'] = async (method, path) => {
    const res = await request(`http://127.0.0.1:${gateway.admin.port}${path}`, { method, headers: { authorization: `Bearer ${SHADOW_RIG_TOKEN}` } });
    return { status: res.statusCode, body: await res.body.json() as ShadowReport & Record<string, unknown> };
  };
  const results = async (route: string) => (await admin('GET', `/routes/${route}/shadow`)).body;
  return {
    legacy, functions, gateway, dir, admin, results,
    url: (path) => `http://127.0.0.1:${gateway.listen.port}${path}`,
    settled: (route, n) => pollUntil(`${n} settled copies of ${route}`, async () => {
      const r = await results(route);
      const skipped = Object.values(r.skipped).reduce((a, b) => a + b, 0);
      return r.compared + r.errors + skipped >= n ? r : null;
    }),
    close: async () => {
      await gateway.close(500);
      await Promise.all([legacy.close(), functions.close()]);
    },
  };
}
