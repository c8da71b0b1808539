// Epoch milliseconds with the monotonic clock's precision, comparable between the processes of a
// host: when a change began serving in one gateway (/healthz state_adopted_at_ms) against when it
// was sent from another process.
//
// performance.timeOrigin + performance.now() alone is the wall clock as it was when this process
// started, carried on by the monotonic clock. Once the host's clock is stepped (NTP, a VM resumed
// or re-synced: steps of tens to hundreds of milliseconds were seen on the bench's host), a
// process started before the step and one started after it disagree by the step. So the sum is
// kept within the millisecond Date.now() names, and moved by the least that puts it back there
// when it leaves it: between steps it stays as precise as the monotonic clock, and each step is
// followed to within a millisecond at the first reading after it.

/** The latest reading that Date.now() still names as `wall` (a double near 1.8e12 resolves to about 0.25 µs). */
const LAST_IN_MS = 0.999;

/** A clock of that kind over the two given clocks (the monotonic one in ms from any origin; the wall one in whole epoch ms). */
export function preciseWallClock(monotonicMs: () => number, wallMs: () => number, origin: number): () => number {
  let base = origin;
  return () => {
    const mono = monotonicMs();
    const wall = wallMs();
    const t = base + mono;
    if (t >= wall && t < wall + 1) return t;
    base += (t < wall ? wall : wall + LAST_IN_MS) - t;
    return base + mono;
  };
}

/** This process's reading of the host's wall clock in epoch ms, to a fraction of a millisecond. */
export const preciseNowMs: () => number = preciseWallClock(() => performance.now(), Date.now, performance.timeOrigin);
