// The manifest's `shadow:` block: its defaults, its frozen record, every refusal with its code and
// position, and that nginx hands a shadowed route to the gateway (decided by handedToGateway).
import assert from 'node:assert/strict';
import { compileManifest } from '../gateway/manifest/compile-manifest';
import { handedToGateway } from '../gateway/manifest/location-plan';
import { renderNginxConfig } from '../gateway/nginx/render-config';
import { acceptedManifest as accepted, withRoutes } from './helpers/manifest-text';

/** Every error, as `CODE path @line:column`. */
function errors(text: string): string[] {
  const { table, diagnostics } = compileManifest(text, 'routes.yaml');
  assert.equal(table, null, 'refused');
  return diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.code} ${d.path} @${d.line}:${d.column}`);
}

describe('manifest: shadow', () => {
  it('fills the defaults: 100%, the safe methods, 64 in flight, 1m bodies, 10s, no noise sample', () => {
    const route = accepted(withRoutes('  - { id: r, match: { prefix: /r }, to: "function:f", shadow: {} }')).routes[0];
    assert.deepEqual(route.shadow, {
      percent: 100, methods: ['GET', 'HEAD', 'OPTIONS'], side_effect_free: false, ignore: [], max_in_flight: 64,
      max_body: { text: '1m', bytes: 1024 * 1024 }, timeout: { text: '10s', ms: 10_000 }, noise_sample: 0,
    });
    assert.ok(Object.isFrozen(route.shadow) && Object.isFrozen(route.shadow!.methods) && Object.isFrozen(route.shadow!.ignore));
    assert.equal(accepted(withRoutes('  - { id: r, match: { prefix: /r }, to: "function:f" }')).routes[0].shadow, null);
  });

  it('keeps what the issue\'s example says, header rules in lower case', () => {
    const route = accepted(withRoutes(
      '  - id: report',
      '    match: { prefix: /generate-report }',
      '    to: function:pdf-generator',
      '    canary: { percent: 0 }',
      '    shadow:',
      '      percent: 12.5',
      '      methods: [GET, HEAD, POST]',
      '      side_effect_free: true',
      '      ignore: ["$.generated_at", "$.items[*].id", "header:Date"]',
      '      max_in_flight: 8',
      '      max_body: 256k',
      '      timeout: 2s',
      '      noise: { sample: 10 }',
    )).routes[0];
    assert.deepEqual({ ...route.shadow }, {
      percent: 12.5, methods: ['GET', 'HEAD', 'POST'], side_effect_free: true, ignore: ['$.generated_at', '$.items[*].id', 'header:date'],
      max_in_flight: 8, max_body: { text: '256k', bytes: 256 * 1024 }, timeout: { text: '2s', ms: 2000 }, noise_sample: 10,
    });
  });

  it('reports every problem of a shadow at once, each at its place', () => {
    assert.deepEqual(errors(withRoutes(
      '  - id: r',
      '    match: { prefix: /r }',
      '    to: legacy',
      '    shadow:',
      '      percent: 12.345',
      '      methods: [GET, DELETE]',
      '      ignore: ["$.a*", "nope", "$.ok", \'$["odd.key*"]\', \'$["no\\\\"]\']',
      '      max_in_flight: 0',
      '      max_body: 1g',
      '      timeout: 0s',
      '      colour: red',
    )), [
      'STR_BAD_SHADOW routes[0].shadow @11:7',
      'STR_BAD_SHADOW routes[0].shadow.percent @11:16',
      'STR_SHADOW_UNSAFE_METHOD routes[0].shadow.methods[1] @12:22',
      'STR_BAD_SHADOW_IGNORE routes[0].shadow.ignore[0] @13:16',
      'STR_BAD_SHADOW_IGNORE routes[0].shadow.ignore[1] @13:24',
      'STR_BAD_SHADOW_IGNORE routes[0].shadow.ignore[4] @13:57',
      'STR_BAD_VALUE routes[0].shadow.max_in_flight @14:22',
      'STR_BAD_SIZE routes[0].shadow.max_body @15:17',
      'STR_BAD_DURATION routes[0].shadow.timeout @16:16',
      'STR_UNKNOWN_KEY routes[0].shadow.colour @17:7',
    ]);
  });

  it('hands a shadowed route to the gateway in nginx.conf, never with a mirror', () => {
    const table = accepted(withRoutes(
      '  - { id: r, match: { prefix: /r }, to: "function:f", canary: { percent: 0 }, shadow: {} }',
      '  - { id: s, match: { prefix: /s }, to: "function:g" }',
    ));
    assert.deepEqual(table.routes.map(handedToGateway), [true, false]);
    const conf = renderNginxConfig(table);
    // As for a dynamic route: nginx logs who answered from the gateway's target header and hides it from the client.
    assert.match(conf, /location \/r\/ \{\n\s+set \$strangler_route r;\n\s+set \$strangler_target gateway;\n\s+proxy_hide_header X-Strangler-Target;\n\s+proxy_pass http:\/\/strangler_gateway;/);
    assert.doesNotMatch(conf, /^\s*mirror/m);
  });
});
