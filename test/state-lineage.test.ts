// Redis stores (in process, on a real redis-server) after Redis lost its data: a version number
// alone does not name a state. An instance back from its snapshot finds Redis seeded anew by
// another instance and counted to the same version, or to a lower one: it serves Redis's state
// and never writes its stale routes over it. A Redis that holds a never-changed state is still
// re-seeded from the snapshot, as an empty one is.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createClient } from 'redis';
import { RedisStateStore } from '../gateway/runtime/redis-state-store';
import { parseRedisUrl } from '../gateway/runtime/state-target';
import { pollUntil } from './helpers/poll';
import { requireRedis, startRedis, type RunningRedis } from './helpers/redis';
import { withTempStateFile } from './helpers/temp-state-file';

const QUIET: { info(line: string): void; error(line: string): void } = { info: () => undefined, error: () => undefined };

describe('shared state lineage: the same version in two histories', function () {
  this.timeout(30_000);
  let redis: RunningRedis;
  let dir = '';
  const open: RedisStateStore[] = [];
  withTempStateFile('strangler-lineage-', (d) => { dir = d; });

  before(async function () {
    redis = await startRedis(requireRedis(this));
  });
  after(() => redis?.close());
  afterEach(async () => { await Promise.all(open.splice(0).map((s) => s.close())); });

  const start = async (snapshot: string, log: typeof QUIET = QUIET) => {
    const s = await RedisStateStore.open({ target: parseRedisUrl(redis.url), snapshotFile: join(dir, snapshot), reconcileMs: 100, log });
    open.push(s);
    return s;
  };
  const setPercents = async (s: RedisStateStore, percents: number[]) => {
    for (const p of percents) await s.apply(new Map([['plain', p]]), 'test');
  };
  const percentOf = (s: RedisStateStore) => s.snapshot().routes.plain?.percent;
  const flushRedis = async () => {
    const c = createClient({ url: redis.url });
    await c.connect();
    try { await c.flushAll(); } finally { c.destroy(); }
  };
  const redisPercent = async () => {
    const c = createClient({ url: redis.url });
    await c.connect();
    try { return (JSON.parse((await c.hGet('strangler:state', 'routes'))!) as Record<string, { percent: number }>).plain?.percent; } finally { c.destroy(); }
  };

  /** Instance 1 counts to `ones`, stops; Redis is flushed; instance 2 (no snapshot) seeds anew and counts to `twos`. */
  async function splitHistories(ones: number[], twos: number[]) {
    await flushRedis();
    const one = await start('one.json');
    await setPercents(one, ones);
    await one.close();
    await flushRedis();
    const two = await start('two.json');
    await setPercents(two, twos);
    return two;
  }

  it('at the same version: the instance back from its snapshot serves Redis\'s state, and its next change builds on it', async () => {
    const two = await splitHistories([10, 11, 12], [70, 71, 72]);
    assert.equal(two.snapshot().version, 3);
    const lines: string[] = [];
    const back = await start('one.json', { info: () => undefined, error: (l) => lines.push(l) });
    assert.deepEqual([back.snapshot().version, percentOf(back)], [3, 72], 'Redis\'s state, not the snapshot\'s 12%');
    assert.ok(lines.some((l) => /another history of the state/.test(l)), `logged: ${lines.join(' | ')}`);
    await setPercents(back, [73]);
    await pollUntil('instance 2 at version 4, 73%', () => two.snapshot().version === 4 && percentOf(two) === 73);
    assert.equal(await redisPercent(), 73);
  });

  it('at a lower version in Redis: the stale snapshot is not written over the newer history', async () => {
    const two = await splitHistories([10, 11, 12], [70]);
    const back = await start('one.json');
    assert.deepEqual([back.snapshot().version, percentOf(back)], [1, 70]);
    assert.equal(await redisPercent(), 70);
    assert.equal(percentOf(two), 70);
  });

  it('a Redis seeded anew but never changed is re-seeded from the snapshot, and every instance follows', async () => {
    const two = await splitHistories([10, 11, 12], []);
    assert.equal(two.snapshot().version, 0);
    const back = await start('one.json');
    assert.deepEqual([back.snapshot().version, percentOf(back)], [3, 12]);
    await pollUntil('instance 2 follows the re-seeded state', () => two.snapshot().version === 3 && percentOf(two) === 12);
    assert.equal(await redisPercent(), 12);
  });

  it('a first start (no snapshot) takes Redis\'s state without calling it another history', async () => {
    await flushRedis();
    const seeder = await start('seeder.json');
    await setPercents(seeder, [40]);
    for (const follower of [false, true]) {
      const lines: string[] = [];
      const first = await RedisStateStore.open({
        target: parseRedisUrl(redis.url), snapshotFile: join(dir, `first-${follower}.json`), reconcileMs: 100, follower, log: { info: () => undefined, error: (l) => lines.push(l) },
      });
      open.push(first);
      await pollUntil('the first start serves Redis\'s state', () => first.snapshot().version === 1 && percentOf(first) === 40);
      assert.deepEqual(lines, [], follower ? 'a follower (the nginx agent)' : 'a gateway');
    }
  });
});
