// A fixed log-scale histogram for request times: constant memory per series, mergeable, and
// quantiles within 5% (relative) of the exact value. Buckets grow by 10% from 1 ms to about an
// hour; a time at or below 1 ms (nginx logs milliseconds) counts as 1 ms, and one above the last
// bucket as the last bucket's value.

const MIN_SECONDS = 0.001;
const GROWTH = 1.1;
const LOG_GROWTH = Math.log(GROWTH);
export const BUCKET_COUNT = 160; // 0.001 × 1.1^159 ≈ 3,800 s

export class LatencyHistogram {
  private readonly counts = new Uint32Array(BUCKET_COUNT);
  count = 0;

  /** The non-empty buckets, by index: a compact form to send between processes and instances. */
  toSparse(): Record<number, number> {
    const out: Record<number, number> = {};
    this.counts.forEach((n, i) => { if (n > 0) out[i] = n; });
    return out;
  }

  /** Adds another histogram's counts, in toSparse's form. */
  addSparse(sparse: Readonly<Record<number, number>>): void {
    for (const [i, n] of Object.entries(sparse)) {
      const k = Number(i);
      if (!(k >= 0 && k < BUCKET_COUNT) || !(n > 0)) continue;
      this.counts[k] += n;
      this.count += n;
    }
  }

  add(seconds: number): void {
    let i = seconds <= MIN_SECONDS ? 0 : Math.ceil(Math.log(seconds / MIN_SECONDS) / LOG_GROWTH);
    if (i >= BUCKET_COUNT) i = BUCKET_COUNT - 1;
    this.counts[i]++;
    this.count++;
  }

  /** q in 0..1, in seconds; null when empty. The geometric middle of the bucket holding rank ⌈q·n⌉. */
  quantile(q: number): number | null {
    if (this.count === 0) return null;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKET_COUNT; i++) {
      seen += this.counts[i];
      if (seen >= rank) return i === 0 ? MIN_SECONDS : MIN_SECONDS * Math.pow(GROWTH, i - 0.5);
    }
    return MIN_SECONDS * Math.pow(GROWTH, BUCKET_COUNT - 1);
  }
}
