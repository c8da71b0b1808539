// Property: every manifest the generator below can produce (random routes of every match kind,
// target, method list, canary, fallback, dynamic flag and override) is accepted by the compiler,
// and its rendered nginx.conf passes `nginx -t`. A smaller sample also runs through a real nginx
// and the Node gateway side by side, and both must route a set of paths identically.
//
//   STRANGLER_PROPERTY_RUNS=500 npm test          more manifests through nginx -t (default 60)
//   STRANGLER_PROPERTY_EQUIV_RUNS=20 npm test     more manifests through nginx and the gateway (default 4)
//   STRANGLER_PROPERTY_SEED=123 | random   replay a failing run, or explore (the default seed is fixed)
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compileManifest } from '../gateway/manifest/compile-manifest';
import { formatDiagnostic } from '../gateway/manifest/errors';
import { renderNginxConfig } from '../gateway/nginx/render-config';
import { startGateway, type GatewayHandle } from '../gateway/runtime/serve-gateway';
import { DEFAULT_FUNCTIONS } from '../monolith-fixture/functions';
import { manifestText, nginxCheck, type ManifestData } from './helpers/manifest-text';
import { requireNginx } from './helpers/nginx';
import { rawRequest, type RawResponse } from './helpers/raw-http';
import { startStack, type StackPorts } from './helpers/stack';
import { propertySeed } from './helpers/property-seed';

const RUNS = Number(process.env.STRANGLER_PROPERTY_RUNS ?? 60);
const EQUIV_RUNS = Number(process.env.STRANGLER_PROPERTY_EQUIV_RUNS ?? 4);
const SEED = propertySeed();

// ---------------------------------------------------------------------------------------------
// Generators

/** Characters a match path may hold besides letters and digits. */
const PATH_PUNCT = ['.', '_', '~', '!', '*', "'", '(', ')', '+', ',', '=', '@', ':', '&', '-'];
const segment = fc.string({
  unit: fc.oneof(fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCZ0123456789'), fc.constantFrom(...PATH_PUNCT)),
  minLength: 1, maxLength: 6,
}).filter((s) => s !== '.' && s !== '..');
/** A normalised path below a per-route root, so no two routes claim the same location. */
const pathUnder = (root: string) => fc.array(segment, { minLength: 0, maxLength: 3 }).map((segs) => [root, ...segs].join('/'));

/** Regex shapes PCRE and JavaScript read alike; `R` is replaced by the route's root. */
const REGEX_SHAPES = ['^R/', '^R/.+\\.pdf$', '^R/[0-9]{1,3}$', '^R/(a|b)/', '^R/[^/]+/x$', '^R(/|$)', '^R/\\w+-\\d*$', "^R/[;#\"'{} ]"];

const match = (root: string) => fc.oneof(
  pathUnder(root).chain((p) => fc.boolean().map((slash) => ({ prefix: slash ? `${p}/` : p }))),
  pathUnder(root).chain((p) => fc.boolean().map((slash) => ({ exact: slash ? `${p}/` : p }))),
  fc.constantFrom(...REGEX_SHAPES).map((shape) => ({ regex: shape.replace('R', root.replace(/[.*+?()[\]{}|\\^$]/g, '\\$&')) })),
);

const target = fc.oneof(
  fc.constant('legacy'),
  fc.constantFrom(...DEFAULT_FUNCTIONS).map((f) => `function:${f}`),
  fc.constantFrom(...DEFAULT_FUNCTIONS).map((f) => `async:${f}`),
  fc.constant('upstream:search'),
);

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const percent = fc.oneof(fc.constantFrom(0, 100, 50), fc.integer({ min: 0, max: 10_000 }).map((n) => n / 100));
const name = (chars: string) => fc.string({ unit: fc.constantFrom(...chars), minLength: 1, maxLength: 12 });
const sticky = fc.oneof(
  fc.constant(undefined),
  fc.constant('ip'),
  name('abcdefghijklmnopqrstuvwxyzABC0123456789_').map((n) => `cookie:${n}`),
  name('abcdefghijklmnopqrstuvwxyzABC0123456789-').map((n) => `header:${n}`),
);
// nginx would read `$remote_addrv1` (ip) or `$request_idv1` (random) as one variable: after
// those keys the generator starts a salt with a separator until the emitter braces them.
const salt = fc.string({ unit: fc.constantFrom(...'abcXYZ019._:-'), maxLength: 10 });
const canary = fc.record({ percent, sticky, salt }, { requiredKeys: ['percent'] }).map((c) => {
  const out: Record<string, unknown> = { percent: c.percent };
  if (c.sticky !== undefined) out.sticky = c.sticky;
  if (c.salt !== undefined) out.salt = c.sticky?.includes(':') ? c.salt : c.salt.replace(/^[A-Za-z0-9_]/, '.');
  return out;
});

const DURATIONS = ['500ms', '1s', '5s', '30s', '1m', '1m30s', '300s', '2h', '1d', '90'];
const overrides = fc.record({
  timeouts: fc.record({ connect: fc.constantFrom(...DURATIONS), send: fc.constantFrom(...DURATIONS), read: fc.constantFrom(...DURATIONS) }, { requiredKeys: [] }),
  body: fc.record({ max_size: fc.constantFrom('0', '1k', '10m', '2g'), buffer: fc.constantFrom('8k', '128k', '1m') }, { requiredKeys: [] }),
  // Whole buffer sets only: nginx's busy-buffers rules hold for each.
  buffers: fc.constantFrom(
    { size: '4k', count: 8, each: '4k', busy: '8k' },
    { size: '64k', count: 4, each: '64k', busy: '128k' },
    { size: '128k', count: 16, each: '256k', busy: '1m' },
  ),
}, { requiredKeys: [] });

interface GenOptions { equivalence: boolean }

function route(i: number, opts: GenOptions) {
  const root = `/r${i}`;
  return fc.record({
    match: match(root),
    to: target,
    methods: fc.option(fc.subarray(METHODS, { minLength: 1 }), { nil: undefined }),
    canary: fc.option(canary, { nil: undefined }),
    fallback: fc.option(fc.oneof(fc.constant('legacy' as unknown), fc.boolean().map((b) => ({ to: 'legacy', non_idempotent: b }))), { nil: undefined }),
    dynamic: fc.option(fc.boolean(), { nil: undefined }),
    overrides,
  }).map((r) => {
    const out: ManifestData = { id: `route-${i}`, match: r.match, to: r.to };
    if (r.methods) out.methods = r.methods;
    if (r.to !== 'legacy') {
      if (r.canary) out.canary = { ...r.canary };
      if (r.fallback !== undefined) out.fallback = r.fallback;
    }
    // Random buckets differ between two servers by design, and so does a request without the
    // sticky key: compare splits on the keys every sample request carries.
    if (opts.equivalence && out.canary && out.canary.sticky !== 'ip') {
      out.canary.sticky = String(out.canary.sticky ?? '').startsWith('header:') ? 'header:X-User' : 'cookie:session_id';
    }
    if (r.dynamic !== undefined) out.dynamic = r.dynamic;
    Object.assign(out, r.overrides);
    return out;
  });
}

function manifestArb(ports: StackPorts, opts: GenOptions): fc.Arbitrary<ManifestData> {
  return fc.integer({ min: 1, max: 8 }).chain((n) => fc.record({
    routes: fc.tuple(...Array.from({ length: n }, (_, i) => route(i, opts))),
    debug_headers: opts.equivalence ? fc.constant(true) : fc.boolean(),
    server_name: fc.constantFrom(undefined, '_', 'api.example.no', 'api.example.no *.example.no www.example.*'),
    defaults: fc.option(overrides, { nil: undefined }),
    keepalive: fc.constantFrom(0, 1, 64),
  })).map((g) => {
    const m: ManifestData = {
      version: 1,
      listen: `127.0.0.1:${ports.nginx}`,
      debug_headers: g.debug_headers,
      upstreams: {
        legacy: { servers: [`127.0.0.1:${ports.legacy}`], keepalive: g.keepalive },
        functions: { servers: [`127.0.0.1:${ports.functions}`] },
        search: { servers: [`127.0.0.1:${ports.search}`], keepalive: g.keepalive },
      },
      gateway: { listen: `127.0.0.1:${ports.gateway}`, admin: `127.0.0.1:${ports.admin}` },
      routes: g.routes,
    };
    if (g.server_name !== undefined) m.server_name = g.server_name;
    if (g.defaults !== undefined) m.defaults = g.defaults;
    return m;
  });
}

function compileOrFail(text: string) {
  const { table, diagnostics } = compileManifest(text, 'routes.yaml');
  const errors = diagnostics.filter((d) => d.severity === 'error');
  assert.ok(table && errors.length === 0, `generated manifest refused:\n${errors.map(formatDiagnostic).join('\n')}\n${text}`);
  return table;
}

const fcParams = (numRuns: number) => ({ numRuns, seed: SEED, endOnFailure: true });

// ---------------------------------------------------------------------------------------------

describe('property: generated manifests compile and nginx accepts them', function () {
  this.timeout(120_000);
  before(function () {
    requireNginx(this);
  });

  it(`accepts ${RUNS} random manifests and nginx -t passes each rendered config`, () => {
    const ports: StackPorts = { nginx: 18080, legacy: 18081, functions: 18082, search: 18083, gateway: 18090, admin: 18091, dead: 18099 };
    let checked = 0;
    fc.assert(fc.property(manifestArb(ports, { equivalence: false }), (m) => {
      const text = manifestText(m);
      const table = compileOrFail(text);
      const conf = renderNginxConfig(table);
      const check = nginxCheck(conf);
      assert.ok(check.ok, `nginx -t refused the config of\n${text}\n${check.output}`);
      checked++;
    }), fcParams(RUNS));
    assert.equal(checked >= RUNS, true);
  });
});

// ---------------------------------------------------------------------------------------------

/** Paths that hit, miss and straddle each route's match. */
function samplePaths(m: ManifestData): string[] {
  const out = new Set<string>(['/', '/health', '/r', '/nothing/here?x=1']);
  const enc = (p: string) => p.replace(/[^A-Za-z0-9._~!*'()+,=@:&/-]/g, (c) => encodeURIComponent(c));
  for (const r of m.routes as ManifestData[]) {
    const root = `/r${String(r.id).split('-')[1]}`;
    const path: string | undefined = r.match.prefix ?? r.match.exact;
    if (path !== undefined) {
      const p = enc(path);
      const base = p.endsWith('/') ? p.slice(0, -1) : p;
      for (const s of [p, `${base}/`, `${base}/x`, `${base}/a/b.pdf?q=1`, `${base}x`, base || '/']) out.add(s);
    }
    for (const s of ['', '/', '/7', '/a/', '/b/c', '/doc.pdf', '/12', '/x/x', '/w-1', '/;x']) out.add(`${root}${enc(s)}`);
  }
  return [...out];
}

interface Seen { status: number; route?: string; target?: string; servedBy?: string; fn?: string; url?: string; location?: string }

function observe(res: RawResponse): Seen {
  const seen: Seen = { status: res.status, route: res.headers['x-strangler-route'], target: res.headers['x-strangler-target'] };
  try {
    const body = JSON.parse(res.body.toString('utf8'));
    seen.servedBy = body.served_by;
    seen.fn = body.function;
    seen.url = body.url;
  } catch { /* not an echo */ }
  // Both answer refused requests themselves; only the status class is part of the promise.
  if (res.status >= 400 && !seen.servedBy) return { status: Math.floor(res.status / 100) * 100 };
  // nginx's own redirect of P to P/ (a prefix location ending in a slash) carries no debug
  // headers, so only the status and the Location are compared.
  if (res.status === 301 && !seen.servedBy) return { status: 301, location: res.headers.location?.replace(/^https?:\/\/[^/]+/, '') };
  return seen;
}

describe('property: nginx and the gateway route generated manifests alike', function () {
  this.timeout(300_000);
  before(function () {
    requireNginx(this);
  });

  it(`routes sample paths of ${EQUIV_RUNS} random manifests identically`, async () => {
    let compared = 0;
    await fc.assert(fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 - 1 }), async (seed) => {
      let manifest: ManifestData | undefined;
      const stack = await startStack((ports) => {
        // The manifest needs the stack's ports: draw it from the seed once they are known.
        [manifest] = fc.sample(manifestArb(ports, { equivalence: true }), { numRuns: 1, seed });
        return manifestText(manifest);
      });
      let gateway: GatewayHandle | undefined;
      try {
        gateway = await startGateway({ manifestPath: stack.manifestPath, watch: false, env: { STRANGLER_ADMIN_TOKEN: 'property-test-token' } });
        const mismatches: string[] = [];
        for (const path of samplePaths(manifest!)) {
          for (const method of ['GET', 'POST']) {
            const opts = {
              method, body: method === 'POST' ? '{"n":1}' : undefined,
              headers: { 'content-type': 'application/json', cookie: 'session_id=u1; sid=u2', 'x-user': 'u3' },
            };
            const port = gateway.listen.port;
            const responses: RawResponse[] = await Promise.all([rawRequest(stack.ports.nginx, path, opts), rawRequest(port, path, opts)]);
            compared++;
            const sn: Seen = observe(responses[0]);
            const sg: Seen = observe(responses[1]);
            try {
              assert.deepEqual(sg, sn);
            } catch {
              mismatches.push(`${method} ${path}\n    nginx:   ${JSON.stringify(sn)}\n    gateway: ${JSON.stringify(sg)}`);
            }
          }
        }
        assert.deepEqual(mismatches, [], `manifest:\n${stack.manifestText}\n${mismatches.slice(0, 20).join('\n')}`);
      } finally {
        await gateway?.close(1000);
        await stack.stop();
      }
    }), fcParams(EQUIV_RUNS));
    console.log(`      property equivalence: ${EQUIV_RUNS} manifests, ${compared} requests compared`);
  });
});
