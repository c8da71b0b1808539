// Small statistics over rounds.
export function median(xs: number[]): number {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
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
