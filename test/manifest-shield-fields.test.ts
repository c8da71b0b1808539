// The manifest fields that shield the upstream: client timeouts, request buffering, max_conns,
// the gateway's body temp path: their defaults, and the errors for bad values.
import assert from 'node:assert/strict';
import { compileManifest } from '../gateway/manifest/compile-manifest';
import { requestBuffering } from '../gateway/manifest/route-table';
import { acceptedManifest as accepted } from './helpers/manifest-text';

const HEAD = ['version: 1', 'listen: 8080', 'upstreams:', '  legacy: { servers: ["127.0.0.1:8081"] }', '  functions: { servers: ["127.0.0.1:8082"] }'];

function manifest(extra: string[], routeBody = ''): string {
  return [...HEAD, ...extra, 'routes:', `  - { id: r, match: { prefix: /r }, to: "function:f"${routeBody ? ', ' + routeBody : ''} }`, ''].join('\n');
}

function errors(text: string): string[] {
  const { table, diagnostics } = compileManifest(text);
  assert.equal(table, null);
  return diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.code} ${d.path}`);
}

describe('manifest: fields that shield the upstream', () => {
  it('defaults to nginx\'s: client_body_timeout and send_timeout 60s, buffering on, no max_conns, the default temp path', () => {
    const t = accepted(manifest([]));
    const r = t.routes[0];
    assert.deepEqual(r.timeouts.client_body_timeout, { text: '60s', ms: 60_000 });
    assert.deepEqual(r.timeouts.send_timeout, { text: '60s', ms: 60_000 });
    assert.equal(r.body.buffering, true);
    assert.equal(requestBuffering(r.body), true);
    assert.equal(t.upstreams.get('legacy')!.max_conns, 0);
    assert.equal(t.gateway.body_temp_path, null);
  });

  it('takes them from defaults, routes and upstreams', () => {
    const t = accepted([
      ...HEAD.slice(0, 3), '  legacy: { servers: ["127.0.0.1:8081"], keepalive: 8, max_conns: 50 }', HEAD[4],
      'gateway: { body_temp_path: /var/lib/strangler/body }',
      'defaults: { timeouts: { client_body_timeout: 10s, send_timeout: 20s } }',
      'routes:', '  - { id: r, match: { prefix: /r }, to: "function:f", body: { buffering: false }, timeouts: { send_timeout: 5m } }', '',
    ].join('\n'));
    const r = t.routes[0];
    assert.equal(r.timeouts.client_body_timeout.ms, 10_000);
    assert.equal(r.timeouts.send_timeout.ms, 300_000);
    assert.equal(requestBuffering(r.body), false);
    assert.equal(t.upstreams.get('legacy')!.max_conns, 50);
    assert.equal(t.gateway.body_temp_path, '/var/lib/strangler/body');
  });

  it('never buffers an unlimited body (max_size 0): it would spool any amount to disk', () => {
    const t = accepted(manifest([], 'body: { max_size: 0 }'));
    assert.equal(t.routes[0].body.buffering, true);
    assert.equal(requestBuffering(t.routes[0].body), false);
  });

  it('refuses bad values with their codes, all of them in one run', () => {
    const text = [
      ...HEAD.slice(0, 3), '  legacy: { servers: ["127.0.0.1:8081"], max_conns: -1 }', HEAD[4],
      'gateway: { body_temp_path: "relative/dir" }',
      'defaults: { timeouts: { client_body_timeout: 0s, send_timeout: "5 s" } }',
      'routes:', '  - { id: r, match: { prefix: /r }, to: "function:f", body: { buffering: "no" } }', '',
    ].join('\n');
    assert.deepEqual(errors(text).sort(), [
      'STR_BAD_DURATION defaults.timeouts.client_body_timeout',
      'STR_BAD_DURATION defaults.timeouts.send_timeout',
      'STR_BAD_VALUE gateway.body_temp_path',
      'STR_BAD_VALUE upstreams.legacy.max_conns',
      'STR_TYPE routes[0].body.buffering',
    ]);
  });
});
