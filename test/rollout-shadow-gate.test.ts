// The optional shadow gate: with min_shadow_match the rollout waits at 0% until the route's shadow
// copies (the function compared with legacy on the same requests) match often enough.
import assert from 'node:assert/strict';
import type { GatewayHandle } from '../gateway/runtime/serve-gateway';
import { pollUntil } from './helpers/poll';
import { act, adminCall, rolloutOf, startRolloutGateway, startRolloutStack, Traffic, untilState, type RolloutStack } from './helpers/rollout-stack';

describe('rollout: the shadow gate before the first step', function () {
  this.timeout(120_000);
  let stack: RolloutStack;
  let gw: GatewayHandle;
  let traffic: Traffic | null = null;

  before(async () => {
    stack = await startRolloutStack('{ steps: [50, 100], interval: 300ms, min_requests: 15, max_error_rate: 1, min_shadow_match: 99 }', { shadow: true });
    gw = await startRolloutGateway(stack);
  });
  after(async () => {
    await traffic?.stop();
    await gw?.close(1000);
    await stack?.close();
  });

  it('holds at 0% while the copies differ, takes the first step once they match', async () => {
    traffic = new Traffic([gw.listen.port]);
    const started = await act(gw, 'start');
    assert.deepEqual([started.status, started.body.state, started.body.percent, started.body.step], [200, 'running', 0, 0]);
    const held = await pollUntil('a gate hold', async () => {
      const r = await rolloutOf(gw);
      return r.reason.startsWith('holding: shadow match') ? r : null; // after enough compared answers
    });
    assert.match(held.reason, /^holding: shadow match 0\.0% < 99% over \d+ compared answers$/);
    assert.equal(held.percent, 0);
    // The function now answers as legacy does: forget the old comparisons, and the gate opens.
    stack.behaviour.same = true;
    assert.equal((await adminCall(gw, 'DELETE', '/routes/orders/shadow')).status, 200);
    const done = await untilState(gw, 'promoted');
    assert.deepEqual(done.history.map((d: { result: string }) => d.result).filter((r: string) => r !== 'hold'), ['start', 'gate_passed', 'advance', 'promote']);
  });
});
