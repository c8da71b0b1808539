// The location plan is the one place both runtimes learn nginx's locations from: the emitter
// renders exactly its locations, in its order; the gateway's matcher answers with its entries; a
// duplicate location is refused by validation reading the same plan.
import assert from 'node:assert/strict';
import { compileManifest } from '../gateway/manifest/compile-manifest';
import { locationPlan, planLocations } from '../gateway/manifest/location-plan';
import type { RouteTable } from '../gateway/manifest/route-table';
import { renderNginxConfig } from '../gateway/nginx/render-config';
import { buildRouteMatcher } from '../gateway/runtime/route-matcher';

const MANIFEST = `
version: 1
listen: 8080
upstreams:
  legacy: { servers: ["127.0.0.1:8081"] }
  functions: { servers: ["127.0.0.1:8082"] }
  search: { servers: ["127.0.0.1:8083"] }
routes:
  - { id: track, match: { prefix: /api/v1/track }, to: "function:track-package" }
  - { id: orders, match: { exact: /api/v1/orders }, to: "async:order-intake" }
  - { id: images, match: { prefix: /images/ }, to: "function:resize" }
  - { id: docs, match: { regex: "^/docs/.*\\\\.pdf$" }, to: "function:pdf" }
  - { id: search, match: { prefix: /search }, to: "upstream:search" }
  - { id: old, match: { prefix: /old }, to: legacy }
`;

function table(text = MANIFEST): RouteTable {
  const { table: t, diagnostics } = compileManifest(text, 'routes.yaml');
  assert.ok(t, diagnostics.map((d) => d.message).join('\n'));
  return t;
}

describe('location plan', () => {
  it('lists the server block\'s locations with what proxy_pass does in each, the function path computed once', () => {
    const plan = planLocations(table());
    assert.deepEqual(plan.map((l) => [l.kind, l.name, l.route.id, l.pass]), [
      ['prefix', '/', 'default', { kind: 'as_is', upstream: 'legacy' }],
      ['exact', '/api/v1/track', 'track', { kind: 'uri_part', upstream: 'functions', uriPart: '/function/track-package' }],
      ['prefix', '/api/v1/track/', 'track', { kind: 'uri_part', upstream: 'functions', uriPart: '/function/track-package/' }],
      ['exact', '/api/v1/orders', 'orders', { kind: 'uri_part', upstream: 'functions', uriPart: '/async-function/order-intake' }],
      ['prefix', '/images/', 'images', { kind: 'uri_part', upstream: 'functions', uriPart: '/function/resize/' }],
      ['regex', '^/docs/.*\\.pdf$', 'docs', { kind: 'rewrite', upstream: 'functions', base: '/function/pdf' }],
      ['exact', '/search', 'search', { kind: 'as_is', upstream: 'search' }],
      ['prefix', '/search/', 'search', { kind: 'as_is', upstream: 'search' }],
      ['exact', '/old', 'old', { kind: 'as_is', upstream: 'legacy' }],
      ['prefix', '/old/', 'old', { kind: 'as_is', upstream: 'legacy' }],
    ]);
    assert.ok(Object.isFrozen(plan) && plan.every((l) => Object.isFrozen(l) && Object.isFrozen(l.pass)));
  });

  it('is computed once per table', () => {
    const t = table();
    assert.equal(locationPlan(t), locationPlan(t));
  });

  it('is what the emitter renders: the same locations, in the same order', () => {
    const t = table();
    const conf = renderNginxConfig(t, { manifestName: 'routes.yaml' });
    const rendered = [...conf.matchAll(/^\s*location (?:(=|~) )?("(?:[^"\\]|\\.)*"|[^\s{]+) \{$/gm)]
      .map((m) => [m[1] === '=' ? 'exact' : m[1] === '~' ? 'regex' : 'prefix', m[2].startsWith('"') ? JSON.parse(m[2]) : m[2]])
      .filter(([, name]) => !name.startsWith('@'));
    assert.deepEqual(rendered, locationPlan(t).map((l) => [l.kind, l.name]));
  });

  it('is what the gateway matches against: every answer is a planned location', () => {
    const t = table();
    const plan = locationPlan(t);
    const m = buildRouteMatcher(t);
    for (const [uri, name, redirect] of [
      ['/api/v1/track', '/api/v1/track', false], ['/api/v1/track/7', '/api/v1/track/', false], ['/images', '/images/', true],
      ['/docs/a.pdf', '^/docs/.*\\.pdf$', false], ['/nothing', '/', false], ['/search/x', '/search/', false],
    ] as const) {
      const r = m.match(uri);
      assert.equal(r.location.name, name, uri);
      assert.equal(r.redirect, redirect, uri);
      const planned = plan.find((l) => l.name === name && l.kind === r.location.kind);
      assert.ok(planned, `${uri}: ${name} is in the plan`);
      assert.deepEqual(r.location.pass, planned.pass);
    }
  });

  it('gives validation the same locations: a segment prefix and an exact match of it collide', () => {
    const text = MANIFEST + '  - { id: dup, match: { exact: /api/v1/track }, to: legacy }\n';
    const { table: t, diagnostics } = compileManifest(text, 'routes.yaml');
    assert.equal(t, null);
    assert.ok(diagnostics.some((d) => d.code === 'STR_DUPLICATE_MATCH' && /routes\[0\]/.test(d.message)), diagnostics.map((d) => d.message).join('\n'));
  });
});
