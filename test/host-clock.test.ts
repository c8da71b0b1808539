// preciseWallClock: as precise as the monotonic clock while the wall clock runs on, and following
// a step of the wall clock (NTP, a VM resumed) at once, so that two processes of one host, one
// started before the step and one after, still read the same time. Clocks driven by hand.
import assert from 'node:assert/strict';
import { preciseNowMs, preciseWallClock } from '../gateway/util/host-clock';

/** A host: a monotonic clock and a wall clock that is the monotonic one plus `offset`, read in whole ms. */
function host(offset: number) {
  const h = { mono: 1000, offset };
  return {
    h,
    trueWall: () => h.mono + h.offset,
    /** A process started now: its origin is the wall clock at its start, to the microsecond (as performance.timeOrigin). */
    start: () => {
      const startedAt = h.mono;
      return preciseWallClock(() => h.mono - startedAt, () => Math.floor(h.mono + h.offset), h.mono + h.offset);
    },
  };
}

describe('host clock: epoch ms comparable between the processes of a host', () => {
  it('reads the monotonic clock exactly while the wall clock is not stepped', () => {
    const { h, start, trueWall } = host(1_796_237_510_422.37);
    const clock = start();
    for (let i = 0; i < 1000; i++) {
      h.mono += 0.137;
      assert.ok(Math.abs(clock() - trueWall()) < 1e-6, `reading ${i}`);
    }
  });

  for (const step of [200.4, -200.4, 56.06, -0.7]) {
    it(`a process started before a step of ${step} ms agrees with one started after it`, () => {
      const { h, start, trueWall } = host(1_796_237_510_422.37);
      const before = start();
      h.mono += 5000;
      before();
      h.offset += step; // the host's clock is stepped
      h.mono += 3.3;
      const after = start();
      // At once to within the millisecond Date.now() names…
      assert.ok(Math.abs(before() - trueWall()) < 1, `first reading after the step: ${before() - trueWall()}`);
      // …and, over readings at other fractions of a millisecond, back to the monotonic clock's precision.
      for (let i = 0; i < 200; i++) {
        h.mono += 0.0731;
        before();
      }
      for (let i = 0; i < 20; i++) {
        h.mono += 0.41;
        const a = before();
        const b = after();
        assert.ok(Math.abs(a - b) < 0.1, `reading ${i}: ${a} against ${b}`);
        assert.ok(Math.abs(a - trueWall()) < 0.1, `reading ${i}: ${a - trueWall()} from the wall clock`);
      }
    });
  }

  it('this process: within Date.now()\'s millisecond, and never going back', () => {
    let last = preciseNowMs();
    for (let i = 0; i < 10_000; i++) {
      const before = Date.now();
      const t = preciseNowMs();
      const after = Date.now();
      assert.ok(t >= before && t < after + 1, `${t} outside [${before}, ${after + 1})`);
      assert.ok(t >= last - 1, `went back by ${last - t} ms`);
      last = t;
    }
  });
});
