// A strangler stack for integration tests: the legacy and function-gateway fixtures on free
// ports, a manifest written for those ports, compiled, and (optionally) a real nginx running it.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileManifest } from '../../gateway/manifest/compile-manifest';
import { formatDiagnostic } from '../../gateway/manifest/errors';
import type { RouteTable } from '../../gateway/manifest/route-table';
import { startGateway, type GatewayHandle } from '../../gateway/runtime/serve-gateway';
import { renderNginxConfig } from '../../gateway/nginx/render-config';
import { startFunctions, type FunctionsFixture, type FunctionsOptions } from '../../monolith-fixture/functions';
import { startLegacy, type LegacyFixture } from '../../monolith-fixture/legacy';
import { freePort } from './net';
import { startNginx, type RunningNginx } from './nginx';

export interface StackPorts { nginx: number; legacy: number; functions: number; search: number; gateway: number; admin: number; dead: number }

export interface Stack {
  ports: StackPorts;
  legacy: LegacyFixture;
  /** A second monolith-like service, for `upstream:search` routes (answers with instance "search"). */
  search: LegacyFixture;
  functions: FunctionsFixture;
  table: RouteTable;
  manifestText: string;
  /** The manifest written to a temp dir, for CLI tests. */
  manifestPath: string;
  nginx: RunningNginx | null;
  stop(): Promise<void>;
}

export async function startStack(manifest: (ports: StackPorts) => string, opts: { nginx?: boolean; functions?: FunctionsOptions } = {}): Promise<Stack> {
  const legacy = await startLegacy();
  const search = await startLegacy({ name: 'search' });
  const functions = await startFunctions({ startWarm: true, ...opts.functions });
  const ports: StackPorts = {
    nginx: await freePort(), legacy: legacy.port, functions: functions.port, search: search.port,
    gateway: await freePort(), admin: await freePort(), dead: await freePort(),
  };
  const manifestText = manifest(ports);
  const { table, diagnostics } = compileManifest(manifestText, 'routes.yaml');
  if (!table) throw new Error(`test manifest invalid:\n${diagnostics.map(formatDiagnostic).join('\n')}`);
  const dir = mkdtempSync(join(tmpdir(), 'strangler-stack-'));
  const manifestPath = join(dir, 'routes.yaml');
  writeFileSync(manifestPath, manifestText);
  let nginx: RunningNginx | null = null;
  try {
    if (opts.nginx !== false) nginx = await startNginx(renderNginxConfig(table), { ports: [ports.nginx] });
  } catch (err) {
    await Promise.all([legacy.close(), search.close(), functions.close()]);
    throw err;
  }
  return {
    ports, legacy, search, functions, table, manifestText, manifestPath, nginx,
    async stop() {
      await nginx?.stop();
      await Promise.all([legacy.close(), search.close(), functions.close()]);
    },
  };
}

/** A stack with nginx and an in-process gateway serving its manifest: the parity tests' setup. */
export interface StackWithGateway { stack: Stack; gateway: GatewayHandle }

export async function startStackWithGateway(manifest: (ports: StackPorts) => string, token: string,
  opts: { functions?: FunctionsOptions } = {}): Promise<StackWithGateway> {
  const stack = await startStack(manifest, opts);
  try {
    return { stack, gateway: await startGateway({ manifestPath: stack.manifestPath, watch: false, env: { STRANGLER_ADMIN_TOKEN: token } }) };
  } catch (err) {
    await stack.stop();
    throw err;
  }
}

/** Stops what startStackWithGateway started (either may be missing when `before` failed). */
export async function stopStackWithGateway(s: Partial<StackWithGateway>): Promise<void> {
  await s.gateway?.close(1000);
  await s.stack?.stop();
}
