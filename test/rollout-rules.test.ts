// The rollout's rules on their own (rollout-record.ts): which check fails with which figures, the
// 4xx shift against legacy (reported, a check only with max_4xx_shift), latency against a bound
// and against legacy, the shadow gate, and what each action allows. Counts are built directly.
import assert from 'node:assert/strict';
import type { Rollout } from '../gateway/manifest/route-table';
import { applyAction, decide, failingCheck, figuresOf, RolloutConflict, type RolloutRecord } from '../gateway/runtime/rollout-record';
import { RolloutCounter, type RolloutCounts } from '../gateway/runtime/rollout-window';

const PLAN: Rollout = {
  steps: [10, 50, 100], interval: { text: '1s', ms: 1000 }, min_requests: 100, max_error_rate: 1,
  max_latency_p99: null, max_latency_ratio: null, max_4xx_shift: null, min_shadow_match: null,
};

/** n requests per side: `fail` of them failing, `c4xx` answered 4xx, each taking `seconds`. */
function counts(fn: { n: number; fail?: number; c4xx?: number; seconds?: number }, legacy: { n: number; fail?: number; c4xx?: number; seconds?: number }): RolloutCounts {
  const c = new RolloutCounter();
  for (const [side, s] of [['to', fn], ['legacy', legacy]] as const) {
    for (let i = 0; i < s.n; i++) {
      const failed = i < (s.fail ?? 0);
      const status = failed ? 502 : i < (s.fail ?? 0) + (s.c4xx ?? 0) ? 404 : 200;
      c.record('r', side, status, failed, s.seconds ?? 0.01);
    }
  }
  return c.all().get('r')!;
}

const T0 = new Date('2026-01-01T00:00:00Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const started = (plan = PLAN): RolloutRecord => applyAction(plan, undefined, 0, 'start', 'test', T0).record;

describe('rollout rules', () => {
  it('states the failing error rate with its figures and legacy\'s', () => {
    const f = figuresOf(counts({ n: 240, fail: 48 }, { n: 900 }));
    assert.equal(failingCheck(PLAN, f), 'error rate 20.0% > 1% over 240 requests; legacy 0.0%');
  });

  it('reports a 4xx shift against legacy, and fails on it only with max_4xx_shift', () => {
    const f = figuresOf(counts({ n: 200, c4xx: 40 }, { n: 200, c4xx: 4 }));
    assert.equal(f.shift_4xx, 18);
    assert.equal(failingCheck(PLAN, f), null);
    assert.equal(failingCheck({ ...PLAN, max_4xx_shift: 5 }, f), '4xx rate 20.0% is 18.0 points above legacy\'s 2.0% > 5 over 200 requests');
  });

  it('skips the 4xx shift without legacy requests (the 100% step): no baseline, so no rollback', () => {
    const plan = { ...PLAN, max_4xx_shift: 8 };
    const f = figuresOf(counts({ n: 500, c4xx: 50 }, { n: 0 }));
    assert.equal(f.shift_4xx, null);
    assert.equal(failingCheck(plan, f), null);
    const atLast: RolloutRecord = { ...started(plan), step: 2 };
    const promoted = decide(plan, atLast, counts({ n: 500, c4xx: 50 }, { n: 0 }), null, at(1000))!;
    assert.deepEqual([promoted.record.state, promoted.percent], ['promoted', 100]);
  });

  it('checks p99 against a bound and against legacy\'s p99 in the same window', () => {
    const slow = figuresOf(counts({ n: 200, seconds: 1.2 }, { n: 200, seconds: 0.1 }));
    assert.match(failingCheck({ ...PLAN, max_latency_p99: { text: '800ms', ms: 800 } }, slow)!, /^p99 1\.\d\ds > 800ms over 200 requests; legacy p99 \d+ms$/);
    assert.match(failingCheck({ ...PLAN, max_latency_ratio: 1.5 }, slow)!, /^p99 1\.\d\ds is \d+\.\d\dx legacy's \d+ms > 1\.5x over 200 requests$/);
    const same = figuresOf(counts({ n: 200, seconds: 0.1 }, { n: 200, seconds: 0.1 }));
    assert.equal(failingCheck({ ...PLAN, max_latency_ratio: 1.5, max_latency_p99: { text: '800ms', ms: 800 } }, same), null);
  });

  it('holds with too few requests (never failing, even on errors), advances when due, rolls back at once on a failing check', () => {
    const r = started();
    assert.equal(decide(PLAN, r, counts({ n: 12, fail: 12 }, { n: 50 }), null, at(500)), undefined, 'not due, too few to judge');
    const held = decide(PLAN, r, counts({ n: 12, fail: 12 }, { n: 50 }), null, at(1000))!;
    assert.deepEqual([held.record.state, held.percent, held.record.reason], ['running', 10, 'holding: 12 of 100 requests']);
    const again = decide(PLAN, held.record, counts({ n: 20 }, { n: 50 }), null, at(2000))!;
    assert.equal(again.record.history.filter((d) => d.result === 'hold').length, 1, 'consecutive holds replace each other');
    const back = decide(PLAN, r, counts({ n: 100, fail: 20 }, { n: 400 }), null, at(100))!;
    assert.deepEqual([back.record.state, back.percent], ['rolled_back', 0]);
    const next = decide(PLAN, r, counts({ n: 100 }, { n: 400 }), null, at(1000))!;
    assert.deepEqual([next.record.state, next.percent, next.record.step], ['running', 50, 1]);
    assert.equal(decide(PLAN, back.record, counts({ n: 1000 }, { n: 0 }), null, at(5000)), undefined, 'rolled back stays rolled back');
  });

  it('waits for the shadow match rate before the first step', () => {
    const plan = { ...PLAN, min_shadow_match: 99 };
    const r = started(plan);
    assert.deepEqual([r.step, r.state], [-1, 'running']);
    const few = decide(plan, r, counts({ n: 0 }, { n: 300 }), { match: 100, compared: 40 }, at(1000))!;
    assert.deepEqual([few.percent, few.record.reason], [0, 'holding: 40 of 100 compared answers for the shadow gate']);
    const held = decide(plan, r, counts({ n: 0 }, { n: 300 }), { match: 90, compared: 200 }, at(1000))!;
    assert.deepEqual([held.percent, held.record.reason], [0, 'holding: shadow match 90.0% < 99% over 200 compared answers']);
    const passed = decide(plan, held.record, counts({ n: 0 }, { n: 300 }), { match: 99.5, compared: 200 }, at(2000))!;
    assert.deepEqual([passed.percent, passed.record.step, passed.record.history.at(-1)!.result], [10, 0, 'gate_passed']);
  });

  it('allows each action only where it makes sense', () => {
    const r = started();
    assert.throws(() => applyAction(PLAN, r, 10, 'start', 'x', T0), RolloutConflict);
    assert.throws(() => applyAction(PLAN, r, 10, 'resume', 'x', T0), RolloutConflict);
    const paused = applyAction(PLAN, r, 10, 'pause', 'x', at(300));
    assert.deepEqual([paused.record.state, paused.percent], ['paused', 10]);
    assert.equal(decide(PLAN, paused.record, counts({ n: 1000, fail: 1000 }, { n: 0 }), null, at(5000)), undefined, 'a paused rollout decides nothing');
    const aborted = applyAction(PLAN, paused.record, 10, 'abort', 'x', at(400));
    assert.deepEqual([aborted.record.state, aborted.percent], ['aborted', 0]);
    assert.throws(() => applyAction(PLAN, aborted.record, 0, 'pause', 'x', T0), RolloutConflict);
    assert.equal(applyAction(PLAN, aborted.record, 0, 'start', 'x', at(500)).record.state, 'running');
  });
});
