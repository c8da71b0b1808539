// Small statistics over rounds.
export function median(xs: number[]): number {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** Median over rounds of a[i][key] / b[i][key], each round's two measured close together: a drift of a shared machine cancels. */
export function pairedRatio<K extends string, T extends Record<K, number>>(as: readonly T[] | undefined, bs: readonly T[] | undefined, key: K): number {
  if (!as || !bs) return NaN;
  const n = Math.min(as.length, bs.length);
  return median(Array.from({ length: n }, (_, i) => as[i][key] / bs[i][key]));
}

export function percentile(xs: number[], p: number): number {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return NaN;
  return v[Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length) - 1))];
}

export function max(xs: number[]): number {
  return xs.length ? Math.max(...xs) : NaN;
}

export function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

export const msSince = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;
