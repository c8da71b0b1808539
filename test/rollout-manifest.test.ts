// The manifest's `canary.rollout:` block: its defaults, its frozen record, every refusal with its
// code and position, and that nginx hands a rolled-out route to the gateway (handedToGateway).
import assert from 'node:assert/strict';
import { compileManifest } from '../gateway/manifest/compile-manifest';
import { handedToGateway } from '../gateway/manifest/location-plan';
import { renderNginxConfig } from '../gateway/nginx/render-config';
import { acceptedManifest as accepted, withRoutes } from './helpers/manifest-text';

/** Every error, as `CODE path`. */
function errors(text: string): string[] {
  const { table, diagnostics } = compileManifest(text, 'routes.yaml');
  assert.equal(table, null, 'refused');
  for (const d of diagnostics) assert.ok((d.line ?? 0) > 0 && (d.column ?? 0) > 0, `${d.code} ${d.path} has a position`);
  return diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.code} ${d.path}`);
}

describe('manifest: canary.rollout', () => {
  it('fills the defaults: 5m, 100 requests, 1% errors, no latency, 4xx or shadow check', () => {
    const route = accepted(withRoutes('  - { id: r, match: { prefix: /r }, to: "function:f", canary: { percent: 0, rollout: { steps: [5, 25, 50, 100] } } }')).routes[0];
    assert.deepEqual(route.canary.rollout, {
      steps: [5, 25, 50, 100], interval: { text: '5m', ms: 300_000 }, min_requests: 100, max_error_rate: 1,
      max_latency_p99: null, max_latency_ratio: null, max_4xx_shift: null, min_shadow_match: null,
    });
    assert.ok(Object.isFrozen(route.canary.rollout));
  });

  it('keeps what the issue\'s example says, durations parsed as timeouts are', () => {
    const route = accepted(withRoutes(
      '  - id: r',
      '    match: { prefix: /r }',
      '    to: function:f',
      '    shadow: {}',
      '    canary:',
      '      percent: 0',
      '      sticky: "cookie:session_id"',
      '      rollout: { steps: [5, 25, 50, 100], interval: 5m, min_requests: 200, max_error_rate: 1, max_latency_p99: 800ms, max_latency_ratio: 1.5, max_4xx_shift: 2, min_shadow_match: 99 }',
    )).routes[0];
    assert.deepEqual(route.canary.rollout, {
      steps: [5, 25, 50, 100], interval: { text: '5m', ms: 300_000 }, min_requests: 200, max_error_rate: 1,
      max_latency_p99: { text: '800ms', ms: 800 }, max_latency_ratio: 1.5, max_4xx_shift: 2, min_shadow_match: 99,
    });
  });

  it('reports every problem of a rollout at once, each at its place', () => {
    assert.deepEqual(errors(withRoutes(
      '  - { id: a, match: { prefix: /a }, to: legacy, canary: { percent: 0, rollout: { steps: [100] } } }',
      '  - { id: b, match: { prefix: /b }, to: "function:f", canary: { percent: 0, rollout: { steps: [25, 5, 100] } } }',
      '  - { id: c, match: { prefix: /c }, to: "function:f", canary: { percent: 0, rollout: { steps: [5, 50] } } }',
      '  - { id: d, match: { prefix: /d }, to: "function:f", canary: { percent: 0, rollout: { steps: [5.555, 100], interval: 2d, max_latency_p99: "5 s" } } }',
      '  - { id: e, match: { prefix: /e }, to: "function:f", canary: { percent: 0, rollout: { steps: [100], min_shadow_match: 99, max_error_rate: 101, stepz: 1 } } }',
      '  - { id: f, match: { prefix: /f }, to: "function:f", canary: { percent: 0, rollout: { interval: 0 } } }',
    )).sort(), [
      'STR_BAD_DURATION routes[3].canary.rollout.interval',
      'STR_BAD_DURATION routes[3].canary.rollout.max_latency_p99',
      'STR_BAD_DURATION routes[5].canary.rollout.interval',
      'STR_BAD_ROLLOUT routes[0].canary.rollout',
      'STR_BAD_ROLLOUT routes[1].canary.rollout.steps[1]',
      'STR_BAD_ROLLOUT routes[2].canary.rollout.steps',
      'STR_BAD_ROLLOUT routes[3].canary.rollout.steps[0]',
      'STR_BAD_ROLLOUT routes[4].canary.rollout.min_shadow_match',
      'STR_BAD_VALUE routes[4].canary.rollout.max_error_rate',
      'STR_REQUIRED routes[5].canary.rollout',
      'STR_UNKNOWN_KEY routes[4].canary.rollout.stepz',
    ].sort());
  });

  it('hands a rolled-out route to the gateway in nginx.conf', () => {
    const table = accepted(withRoutes(
      '  - { id: r, match: { prefix: /r }, to: "function:f", canary: { percent: 0, rollout: { steps: [50, 100] } } }',
      '  - { id: s, match: { prefix: /s }, to: "function:g", canary: { percent: 10 } }',
    ));
    assert.deepEqual(table.routes.map(handedToGateway), [true, false]);
    const conf = renderNginxConfig(table);
    assert.match(conf, /location \/r\/ \{\n\s+set \$strangler_route r;\n\s+set \$strangler_target gateway;\n\s+proxy_hide_header X-Strangler-Target;\n\s+proxy_pass http:\/\/strangler_gateway;/);
  });
});
