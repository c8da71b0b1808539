// The canary percent, one rule everywhere it is read (manifest, admin API, CLI, state file) and
// one spelling everywhere it is written (nginx.conf): 0..100 with at most two decimals, the
// resolution of nginx's split_clients (0.01%).
import type { Route } from './route-table';

export const PERCENT_RULE = '0..100 with at most two decimals';

/**
 * Exactly a percent: 0..100 and a whole number of hundredths. A value that would round to another
 * percent (1e-9, 33.330000001) is refused, never stored as its rounding. A two-decimal literal
 * such as 0.29 is the double nearest k/100, which is what Math.round(p * 100) / 100 gives back.
 */
export function isValidPercent(p: unknown): p is number {
  return typeof p === 'number' && Number.isFinite(p) && p >= 0 && p <= 100 && Math.round(p * 100) / 100 === p;
}

/** A percent as typed on a command line ("12.5" or "12.5%"); undefined when it is not one. */
export function parsePercentText(text: string): number | undefined {
  const m = /^([0-9]{1,3}(?:\.[0-9]{1,2})?)%?$/.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  return isValidPercent(n) ? n : undefined;
}

/**
 * A numeric percent in hundredths. Valid percents are whole hundredths, so this rounds away
 * binary floating-point noise (0.29 * 100 = 28.999…); anything finer is truncated like nginx.
 */
export function percentToHundredths(percent: number): number {
  if (!Number.isFinite(percent) || percent < 0) throw new Error(`invalid percent ${percent}`);
  const x = percent * 100;
  const r = Math.round(x);
  return Math.abs(x - r) < 1e-6 ? r : Math.floor(x);
}

/** The shortest spelling: 12.5 → "12.5", 0.01 → "0.01", 10 → "10" (nginx.conf, messages). */
export function formatPercent(percent: number): string {
  const h = percentToHundredths(percent);
  const frac = h % 100;
  return `${Math.floor(h / 100)}${frac ? '.' + String(frac).padStart(2, '0').replace(/0$/, '') : ''}`;
}

/** The spelling with both decimals and the sign, as ngx_atofp reads it back: 12.5 → "12.50%". */
export function formatSplitPercent(percent: number): string {
  const h = percentToHundredths(percent);
  const frac = h % 100;
  return `${Math.floor(h / 100)}${frac ? '.' + String(frac).padStart(2, '0') : ''}%`;
}

/** The percent a route runs at: its runtime override's, else the manifest's. */
export function effectivePercent(route: Route, override: { readonly percent: number } | undefined): number {
  return override === undefined ? route.canary.percent : override.percent;
}
