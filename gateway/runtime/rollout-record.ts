// A route's progressive rollout as the runtime state stores it (on the route's override, so the
// file store and Redis keep and share it like the percent it sets), and the pure rules that move
// it: an operator's action, and the decision at the end of a step's window. No I/O here: the
// controller (rollout-controller.ts) reads the clock, the counts and the store.
import type { Rollout } from '../manifest/route-table';
import { p99, type RolloutCounts, type SideCounts } from './rollout-window';

export type RolloutStateName = 'idle' | 'running' | 'paused' | 'promoted' | 'rolled_back' | 'aborted';
export const ROLLOUT_ACTIONS = ['start', 'pause', 'resume', 'abort'] as const;
export type RolloutAction = typeof ROLLOUT_ACTIONS[number];
export type DecisionResult = RolloutAction | 'advance' | 'promote' | 'hold' | 'rollback' | 'gate_passed';

/** One side's figures in a window, as history and GET /routes/:id/rollout show them. */
export interface SideFigures {
  requests: number;
  failures: number;
  /** Percent of requests that failed, one decimal. */
  error_rate: number;
  /** Percent of requests answered 4xx, one decimal. */
  rate_4xx: number;
  /** null without requests. */
  p99_ms: number | null;
}

export interface WindowFigures {
  function: SideFigures;
  legacy: SideFigures;
  /**
   * The function's 4xx rate minus legacy's, in percentage points (reported; a check with
   * max_4xx_shift). null when legacy had no requests in the window (the 100% step): no baseline.
   */
  shift_4xx: number | null;
  /** Shadow match rate in percent and the answers compared, for the gate. */
  shadow_match?: number | null;
  shadow_compared?: number;
}

/** The route's shadow results as the gate reads them: match rate in percent (null: none compared) and how many were compared. */
export interface ShadowFigures { match: number | null; compared: number }

export interface RolloutDecision {
  time: string;
  result: DecisionResult;
  /** Step index after the decision (-1: waiting for the shadow gate). */
  step: number;
  percent: number;
  reason: string;
  figures?: WindowFigures;
  /** Who: the admin client's address, or "rollout" for the automatic decisions. */
  by: string;
}

export interface RolloutRecord {
  state: Exclude<RolloutStateName, 'idle'>;
  /** Index into the manifest's steps; -1 before the first step while the shadow gate holds. */
  step: number;
  /** When the current window began; with `step` it names the window (epoch) every instance counts in. */
  window_started_at: string;
  /** When the next decision is due (running), or the time left of the step when paused. */
  decide_at: string;
  paused_left_ms?: number;
  reason: string;
  /** Oldest first, at most HISTORY_LIMIT entries. */
  history: RolloutDecision[];
}

export const HISTORY_LIMIT = 50;
const STATES = new Set(['running', 'paused', 'promoted', 'rolled_back', 'aborted']);

export function isRolloutRecord(v: unknown): v is RolloutRecord {
  const r = v as Partial<RolloutRecord> | null;
  return typeof r === 'object' && r !== null && STATES.has(r.state as string) && Number.isInteger(r.step) &&
    typeof r.window_started_at === 'string' && typeof r.decide_at === 'string' && typeof r.reason === 'string' && Array.isArray(r.history);
}

/** The window every instance counts in: changes with each step and each restart of a step. */
export function epochOf(r: RolloutRecord): string {
  return `${r.step}@${r.window_started_at}`;
}

/** A change the rules made: the new percent and record. */
export interface RolloutChange { percent: number; record: RolloutRecord }

/** An action refused: the state does not allow it (409), or the route has no rollout (409). */
export class RolloutConflict extends Error {}

function withDecision(r: Omit<RolloutRecord, 'history'>, history: readonly RolloutDecision[], d: RolloutDecision): RolloutRecord {
  return { ...r, history: [...history, d].slice(-HISTORY_LIMIT) };
}

const percentAt = (plan: Rollout, step: number) => (step < 0 ? 0 : plan.steps[step]);

/** The record after an operator's action; throws RolloutConflict when the state does not allow it. */
export function applyAction(plan: Rollout, current: RolloutRecord | undefined, currentPercent: number, action: RolloutAction, by: string, now: Date): RolloutChange {
  const state: RolloutStateName = current?.state ?? 'idle';
  const history = current?.history ?? [];
  const iso = now.toISOString();
  const due = (ms: number) => new Date(now.getTime() + ms).toISOString();
  switch (action) {
    case 'start': {
      if (state === 'running' || state === 'paused') throw new RolloutConflict(`the rollout is ${state}; ${state === 'paused' ? 'resume or abort it' : 'pause or abort it first'}`);
      const step = plan.min_shadow_match !== null ? -1 : 0;
      const percent = percentAt(plan, step);
      const reason = step < 0 ? `waiting for a shadow match rate of ${plan.min_shadow_match}% before the first step` : `step 1 of ${plan.steps.length}: ${percent}%`;
      const base = { state: 'running' as const, step, window_started_at: iso, decide_at: due(plan.interval.ms), reason };
      return { percent, record: withDecision(base, history, { time: iso, result: 'start', step, percent, reason: `started; ${reason}`, by }) };
    }
    case 'pause': {
      if (state !== 'running') throw new RolloutConflict(`only a running rollout can be paused; it is ${state}`);
      const left = Math.max(0, Date.parse(current!.decide_at) - now.getTime());
      const reason = `paused at ${currentPercent}%`;
      const { history: _h, ...rest } = current!;
      return { percent: currentPercent, record: withDecision({ ...rest, state: 'paused', paused_left_ms: left, reason }, history, { time: iso, result: 'pause', step: current!.step, percent: currentPercent, reason, by }) };
    }
    case 'resume': {
      if (state !== 'paused') throw new RolloutConflict(`only a paused rollout can be resumed; it is ${state}`);
      // A fresh window at the same step: what was counted while paused is not judged.
      const reason = `resumed at ${currentPercent}%`;
      const { history: _h, paused_left_ms: _p, ...rest } = current!;
      const base = { ...rest, state: 'running' as const, window_started_at: iso, decide_at: due(plan.interval.ms), reason };
      return { percent: currentPercent, record: withDecision(base, history, { time: iso, result: 'resume', step: current!.step, percent: currentPercent, reason, by }) };
    }
    case 'abort': {
      if (state !== 'running' && state !== 'paused') throw new RolloutConflict(`only a running or paused rollout can be aborted; it is ${state}`);
      const reason = `aborted at ${currentPercent}%: back to 0%`;
      const { history: _h, paused_left_ms: _p, ...rest } = current!;
      return { percent: 0, record: withDecision({ ...rest, state: 'aborted', reason }, history, { time: iso, result: 'abort', step: current!.step, percent: 0, reason, by }) };
    }
  }
}

const oneDecimal = (n: number) => Math.round(n * 10) / 10;

function sideFigures(s: SideCounts): SideFigures {
  const q = p99(s);
  return {
    requests: s.requests,
    failures: s.failures,
    error_rate: s.requests ? oneDecimal((100 * s.failures) / s.requests) : 0,
    rate_4xx: s.requests ? oneDecimal((100 * s.status_4xx) / s.requests) : 0,
    p99_ms: q === null ? null : Math.round(q * 1000),
  };
}

export function figuresOf(c: RolloutCounts): WindowFigures {
  const fn = sideFigures(c.to);
  const legacy = sideFigures(c.legacy);
  // Legacy's 0% of no requests is no baseline: a function as often 4xx as legacy was would show a shift.
  return { function: fn, legacy, shift_4xx: legacy.requests ? oneDecimal(fn.rate_4xx - legacy.rate_4xx) : null };
}

const ms = (v: number | null) => (v === null ? 'none' : v >= 1000 ? `${(v / 1000).toFixed(2)}s` : `${v}ms`);

/** The first failing check, as a sentence with its figures; null when every check passes. */
export function failingCheck(plan: Rollout, f: WindowFigures): string | null {
  const fn = f.function;
  const legacy = f.legacy;
  const over = `over ${fn.requests} requests`;
  const exactRate = fn.requests ? (100 * fn.failures) / fn.requests : 0;
  if (exactRate > plan.max_error_rate) return `error rate ${fn.error_rate.toFixed(1)}% > ${plan.max_error_rate}% ${over}; legacy ${legacy.error_rate.toFixed(1)}%`;
  if (plan.max_latency_p99 !== null && fn.p99_ms !== null && fn.p99_ms > plan.max_latency_p99.ms) {
    return `p99 ${ms(fn.p99_ms)} > ${plan.max_latency_p99.text} ${over}; legacy p99 ${ms(legacy.p99_ms)}`;
  }
  if (plan.max_latency_ratio !== null && fn.p99_ms !== null && legacy.p99_ms !== null && legacy.p99_ms > 0 && fn.p99_ms / legacy.p99_ms > plan.max_latency_ratio) {
    return `p99 ${ms(fn.p99_ms)} is ${(fn.p99_ms / legacy.p99_ms).toFixed(2)}x legacy's ${ms(legacy.p99_ms)} > ${plan.max_latency_ratio}x ${over}`;
  }
  if (plan.max_4xx_shift !== null && f.shift_4xx !== null && f.shift_4xx > plan.max_4xx_shift) {
    return `4xx rate ${fn.rate_4xx.toFixed(1)}% is ${f.shift_4xx.toFixed(1)} points above legacy's ${legacy.rate_4xx.toFixed(1)}% > ${plan.max_4xx_shift} ${over}`;
  }
  return null;
}

/**
 * The rules for a running rollout given the window's counts: roll back at once when enough
 * requests show a failing check; at the end of the window, hold with too few requests, else the
 * next step (or promoted after the last). undefined: nothing to decide yet.
 */
export function decide(plan: Rollout, record: RolloutRecord, counts: RolloutCounts, shadow: ShadowFigures | null, now: Date): RolloutChange | undefined {
  if (record.state !== 'running') return undefined;
  // A reload may have shortened the steps: the record's step is then the new last one.
  const r = record.step >= plan.steps.length ? { ...record, step: plan.steps.length - 1 } : record;
  const iso = now.toISOString();
  const due = now.getTime() >= Date.parse(r.decide_at);
  const figures = figuresOf(counts);
  const { history, ...rest } = r;
  const next = (step: number, result: DecisionResult, reason: string): RolloutChange => {
    const promoted = step >= plan.steps.length;
    const percent = promoted ? 100 : percentAt(plan, step);
    const base = { ...rest, state: promoted ? 'promoted' as const : 'running' as const, step: promoted ? plan.steps.length - 1 : step,
      window_started_at: iso, decide_at: new Date(now.getTime() + plan.interval.ms).toISOString(), reason };
    return { percent, record: withDecision(base, history, { time: iso, result: promoted ? 'promote' : result, step: base.step, percent, reason, figures, by: 'rollout' }) };
  };
  if (r.step < 0) {
    if (!due) return undefined;
    const compared = shadow?.compared ?? 0;
    const match = shadow?.match ?? null;
    const f = { ...figures, shadow_match: match, shadow_compared: compared };
    // Judged on as many compared answers as a step needs requests.
    if (compared < plan.min_requests || match === null) return hold(plan, r, `holding: ${compared} of ${plan.min_requests} compared answers for the shadow gate`, f, now);
    if (match >= plan.min_shadow_match!) {
      const c = next(0, 'gate_passed', `shadow match ${match.toFixed(1)}% >= ${plan.min_shadow_match}% over ${compared} compared answers; step 1 of ${plan.steps.length}: ${plan.steps[0]}%`);
      c.record.history[c.record.history.length - 1].figures = f;
      return c;
    }
    return hold(plan, r, `holding: shadow match ${match.toFixed(1)}% < ${plan.min_shadow_match}% over ${compared} compared answers`, f, now);
  }
  const enough = counts.to.requests >= plan.min_requests;
  const failing = enough ? failingCheck(plan, figures) : null;
  if (failing !== null) {
    const base = { ...rest, state: 'rolled_back' as const, reason: failing };
    return { percent: 0, record: withDecision(base, history, { time: iso, result: 'rollback', step: r.step, percent: 0, reason: failing, figures, by: 'rollout' }) };
  }
  if (!due) return undefined;
  if (!enough) return hold(plan, r, `holding: ${counts.to.requests} of ${plan.min_requests} requests`, figures, now);
  const step = r.step + 1;
  const passed = `checks passed: error rate ${figures.function.error_rate.toFixed(1)}% over ${figures.function.requests} requests, legacy ${figures.legacy.error_rate.toFixed(1)}%`;
  return next(step, 'advance', step >= plan.steps.length ? `promoted: ${passed}` : `step ${step + 1} of ${plan.steps.length}: ${plan.steps[step]}%; ${passed}`);
}

/** Stays on the step, counting on in the same window, and looks again one interval later. */
function hold(plan: Rollout, r: RolloutRecord, reason: string, figures: WindowFigures, now: Date): RolloutChange {
  const { history, ...rest } = r;
  const iso = now.toISOString();
  const percent = percentAt(plan, r.step);
  const base = { ...rest, reason, decide_at: new Date(now.getTime() + plan.interval.ms).toISOString() };
  // Consecutive holds replace each other: a quiet route does not push the history out.
  const last = history[history.length - 1];
  const kept = last?.result === 'hold' ? history.slice(0, -1) : history;
  return { percent, record: withDecision(base, kept, { time: iso, result: 'hold', step: r.step, percent, reason, figures, by: 'rollout' }) };
}

/** What GET /routes/:id/rollout and the route JSON show. */
export function rolloutView(plan: Rollout, r: RolloutRecord | undefined, percent: number) {
  return {
    state: (r?.state ?? 'idle') as RolloutStateName,
    percent,
    step: r ? r.step + 1 : 0,
    steps: plan.steps,
    reason: r?.reason ?? '',
    window_started_at: r?.window_started_at ?? null,
    decide_at: r?.state === 'running' ? r.decide_at : null,
    history: r?.history ?? [],
  };
}
