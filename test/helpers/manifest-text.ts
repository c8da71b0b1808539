// A valid base manifest as data (tests mutate a fresh copy and write it out as text), and
// `nginx -t` on a rendered config without starting nginx.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { compileManifest } from '../../gateway/manifest/compile-manifest';
import { formatDiagnostic } from '../../gateway/manifest/errors';
import type { RouteTable } from '../../gateway/manifest/route-table';
import { findNginx } from './nginx';

export type ManifestData = Record<string, any>;

/** The table of a manifest that must compile; fails with every diagnostic otherwise. */
export function acceptedManifest(text: string): RouteTable {
  const { table, diagnostics } = compileManifest(text, 'routes.yaml');
  assert.ok(table, `refused:\n${diagnostics.map(formatDiagnostic).join('\n')}`);
  return table;
}

/** Every kind of value the manifest has: each string field, number and nested object. */
export function baseManifest(): ManifestData {
  return {
    version: 1,
    listen: '127.0.0.1:8080',
    server_name: 'api.example.no www.example.no',
    debug_headers: true,
    upstreams: {
      legacy: { servers: ['127.0.0.1:8081'], keepalive: 64 },
      functions: { servers: ['127.0.0.1:8082'], keepalive: 64 },
      search: { servers: ['127.0.0.1:9200'] },
    },
    gateway: { listen: '127.0.0.1:8090', admin: '127.0.0.1:8091' },
    defaults: {
      timeouts: { connect: '5s', send: '60s', read: '60s' },
      buffers: { size: '128k', count: 4, each: '256k', busy: '256k' },
      body: { max_size: '50m', buffer: '128k' },
    },
    routes: [
      {
        id: 'track', match: { prefix: '/api/v1/track' }, methods: ['GET', 'HEAD'], to: 'function:track-package',
        canary: { percent: 25, sticky: 'cookie:session_id', salt: 'v1' }, fallback: 'legacy',
      },
      { id: 'orders', match: { exact: '/api/v1/orders' }, methods: ['POST'], to: 'async:order-intake' },
      { id: 'pdf', match: { regex: '^/docs/.+\\.pdf$' }, to: 'function:generate-report', timeouts: { read: '300s' } },
      { id: 'search', match: { prefix: '/search/' }, to: 'upstream:search', canary: { percent: 50, sticky: 'header:X-User' } },
      { id: 'images', match: { prefix: '/images' }, to: 'function:image-resizer', dynamic: true, body: { max_size: '10m' } },
    ],
  };
}

/** The smallest manifest head: version, listen, legacy and functions (six lines with `routes:`). */
export const MANIFEST_HEAD: readonly string[] = [
  'version: 1',
  'listen: 8080',
  'upstreams:',
  '  legacy: { servers: ["127.0.0.1:8081"] }',
  '  functions: { servers: ["127.0.0.1:8082"] }',
];

/** MANIFEST_HEAD, then `routes:` and the given lines; the first route line is line 7. */
export function withRoutes(...lines: string[]): string {
  return [...MANIFEST_HEAD, 'routes:', ...lines, ''].join('\n');
}

/** JSON is YAML 1.2: every string, control characters included, round-trips exactly. */
export function manifestText(m: unknown): string {
  return JSON.stringify(m, null, 2) + '\n';
}

export interface NginxCheck { ok: boolean; output: string }

/** `nginx -t` on a full config in a throw-away prefix; nothing is started. */
export function nginxCheck(confText: string): NginxCheck {
  const bin = findNginx();
  if (!bin) throw new Error('nginx not found: call requireNginx(this) in a before hook');
  const prefix = mkdtempSync(join(tmpdir(), 'strangler-check-'));
  try {
    chmodSync(prefix, 0o755);
    for (const d of ['logs', 'tmp']) mkdirSync(join(prefix, d));
    const conf = join(prefix, 'nginx.conf');
    writeFileSync(conf, confText);
    const r = spawnSync(bin, ['-t', '-q', '-p', prefix + '/', '-c', conf], { encoding: 'latin1', timeout: 30_000 });
    return { ok: r.status === 0, output: (r.stderr ?? '').trim() };
  } finally {
    rmSync(prefix, { recursive: true, force: true });
  }
}
