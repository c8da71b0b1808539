// The checks on a route's `canary.rollout:` block that the schema cannot express: steps that
// climb and end at 100, durations in range, and a shadow gate only where there is a shadow.
import type { PathSegment } from './errors';
import { isValidPercent } from './percent';
import { isObj, type Report } from './semantic-checks';
import { MAX_DURATION_MS, parseDuration } from './units';

type Obj = Record<string, unknown>;

export function checkRollouts(m: Obj, report: Report): void {
  if (!Array.isArray(m.routes)) return;
  m.routes.forEach((r: unknown, i: number) => {
    if (!isObj(r) || !isObj(r.canary) || !isObj(r.canary.rollout)) return;
    const ro = r.canary.rollout;
    const at = (...rest: PathSegment[]): PathSegment[] => ['routes', i, 'canary', 'rollout', ...rest];
    if (r.to === 'legacy') report('STR_BAD_ROLLOUT', at(), 'the route goes to legacy: there is no function to roll out');
    const raw: unknown = ro.steps;
    if (Array.isArray(raw)) {
      const steps = raw.filter((p): p is number => typeof p === 'number');
      raw.forEach((p: unknown, k: number) => {
        if (typeof p === 'number' && p > 0 && p <= 100 && !isValidPercent(p)) report('STR_BAD_ROLLOUT', at('steps', k), `${p} has more than two decimals`);
        if (typeof p === 'number' && k > 0 && typeof raw[k - 1] === 'number' && p <= (raw[k - 1] as number)) {
          report('STR_BAD_ROLLOUT', at('steps', k), `${p} does not follow ${raw[k - 1]}: steps must increase`);
        }
      });
      if (steps.length === raw.length && steps.length > 0 && steps[steps.length - 1] !== 100) {
        report('STR_BAD_ROLLOUT', at('steps'), `the last step is ${steps[steps.length - 1]}: a rollout ends at 100 (promoted)`);
      }
    }
    for (const key of ['interval', 'max_latency_p99'] as const) {
      const text = typeof ro[key] === 'number' ? String(ro[key]) : ro[key];
      // Text the schema's pattern refused is reported there once.
      if (typeof text !== 'string' || !/^([0-9]{1,9}(ms|s|m|h|d)?)+$/.test(text)) continue;
      const ms = parseDuration(text);
      if (ms === null) report('STR_BAD_DURATION', at(key), `${JSON.stringify(text)} repeats a unit or has them out of order (largest first: 1h30m, 1s500ms)`);
      else if (ms === 0 || ms > MAX_DURATION_MS) report('STR_BAD_DURATION', at(key), `${JSON.stringify(text)} must be more than 0 and at most 1d`);
    }
    if (ro.min_shadow_match !== undefined && r.shadow === undefined) {
      report('STR_BAD_ROLLOUT', at('min_shadow_match'), 'the route has no shadow: add shadow: {} to compare the function with legacy before the first step');
    }
  });
}
