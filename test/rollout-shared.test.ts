// Two gateway instances on one real redis-server share one rollout: an action through either is
// seen by both, exactly one instance decides (the lease), and it decides on the counts of both:
// traffic sent only to the other instance still moves the rollout to promoted. A stopping decider
// gives the lease up and the other instance decides alone. With Redis stopped, nothing is decided,
// actions answer 503 and the rollout's percent keeps serving.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createClient } from 'redis';
import { KEYS } from '../gateway/runtime/redis-state-store';
import type { GatewayHandle } from '../gateway/runtime/serve-gateway';
import { pollUntil } from './helpers/poll';
import { requireRedis, startRedis, type RunningRedis } from './helpers/redis';
import { act, rolloutOf, startRolloutGateway, startRolloutStack, Traffic, untilState, type RolloutStack } from './helpers/rollout-stack';

describe('rollout: two instances share one rollout through Redis', function () {
  this.timeout(120_000);
  let redis: RunningRedis;
  let stack: RolloutStack;
  let a: GatewayHandle;
  let b: GatewayHandle;
  let traffic: Traffic | null = null;
  /** The instance still running after the first test stopped the decider. */
  let survivor: GatewayHandle;

  before(async function () {
    const bin = requireRedis(this);
    redis = await startRedis(bin);
    stack = await startRolloutStack('{ steps: [20, 50, 100], interval: 300ms, min_requests: 15, max_error_rate: 1 }');
    a = await startRolloutGateway(stack, { state: redis.url });
    b = await startRolloutGateway(stack, { state: redis.url });
  });
  after(async () => {
    await traffic?.stop();
    await Promise.all([a?.close(1000), b?.close(1000)]); // closing twice is a no-op
    await stack?.close();
    await redis?.close();
  });

  it('one decider, counts summed over both instances', async () => {
    const client = createClient({ url: redis.url });
    await client.connect();
    try {
      const started = await act(a, 'start');
      assert.equal(started.status, 200, JSON.stringify(started.body));
      // The other instance serves the same rollout.
      await pollUntil('instance b sees the rollout', async () => (await rolloutOf(b)).state === 'running');
      const leader = await pollUntil('a lease holder', () => client.get(KEYS.rolloutLeader));
      const ids = [a, b].map((g) => (g.state as unknown as { id: string }).id);
      assert.ok(ids.includes(leader), `leader ${leader} is one of ${ids.join(', ')}`);
      // Traffic only to the instance that does not decide: its counts must reach the decider.
      const follower = ids[0] === leader ? b : a;
      traffic = new Traffic([follower.listen.port]);
      const done = await untilState(a, 'promoted');
      assert.equal(done.percent, 100);
      assert.equal((await rolloutOf(b)).state, 'promoted');
      // Every automatic decision was made by one instance: the audit stream says who wrote each.
      const rows = await client.xRange(KEYS.audit, '-', '+');
      const deciders = new Set((rows ?? []).map((r) => ({ ...JSON.parse(r.message.entry), instance: r.message.instance }))
        .filter((e) => e.action === 'rollout' && e.client === 'rollout').map((e) => e.instance));
      assert.deepEqual([...deciders], [leader]);
      const moves = done.history.filter((d: { result: string }) => d.result !== 'hold').map((d: { result: string }) => d.result);
      assert.deepEqual(moves, ['start', 'advance', 'advance', 'promote']);

      // The decider stops: it gives the lease up, and the other instance decides the next rollout alone.
      await traffic.stop();
      const leaderGw = follower === a ? b : a;
      await leaderGw.close(1000);
      survivor = follower;
      assert.equal(await client.get(KEYS.rolloutLeader), null, 'the lease was given up');
      traffic = new Traffic([follower.listen.port]);
      assert.equal((await act(follower, 'start')).status, 200);
      await untilState(follower, 'promoted');
      const followerId = (follower.state as unknown as { id: string }).id;
      const later = (await client.xRange(KEYS.audit, '-', '+') ?? []).map((r) => ({ ...JSON.parse(r.message.entry), instance: r.message.instance }))
        .filter((e) => e.action === 'rollout' && e.client === 'rollout' && e.result === 'promote');
      assert.deepEqual(later.map((e) => e.instance), [leader, followerId]);
    } finally {
      await client.quit();
    }
  });

  it('with Redis unreachable keeps serving the rollout\'s percent, refuses actions with 503 and decides nothing', async () => {
    const live = survivor;
    const before = await rolloutOf(live);
    redis.stop();
    try {
      await pollUntil('the store marked unavailable', () => !live.state.health().available);
      const refused = await act(live, 'start');
      assert.deepEqual([refused.status, refused.body.error], [503, 'state_unavailable']);
      const users = new Traffic([live.listen.port]);
      await pollUntil('traffic while Redis is stopped', () => users.sent > 100);
      await users.stop();
      assert.equal(users.failed, 0);
      const now = await rolloutOf(live);
      assert.deepEqual([now.state, now.percent, now.history.length], [before.state, before.percent, before.history.length]);
    } finally {
      redis.cont();
    }
  });
});
