// The checks on a route's `shadow:` block that the schema cannot express. The schema already
// allow-lists each ignore rule's characters; these say what makes a shadow useless or unsafe.
import type { PathSegment } from './errors';
import { isValidPercent } from './percent';
import { SHADOW_SAFE_METHODS } from './route-table';
import { isObj, type Report } from './semantic-checks';
import { parseDuration, parseSize, MAX_DURATION_MS } from './units';

type Obj = Record<string, unknown>;

/** The largest body a copy may compare: both answers are held in memory while they are compared. */
export const SHADOW_MAX_BODY_LIMIT = 64 * 1024 * 1024;

export function checkShadows(m: Obj, report: Report): void {
  if (!Array.isArray(m.routes)) return;
  m.routes.forEach((r: unknown, i: number) => {
    if (!isObj(r) || !isObj(r.shadow)) return;
    const s = r.shadow;
    const at = (...rest: PathSegment[]): PathSegment[] => ['routes', i, 'shadow', ...rest];
    if (r.to === 'legacy') report('STR_BAD_SHADOW', at(), 'the route goes to legacy: there is no other side to copy requests to');
    for (const key of ['percent'] as const) {
      const p = s[key];
      if (typeof p === 'number' && p >= 0 && p <= 100 && !isValidPercent(p)) report('STR_BAD_SHADOW', at(key), `${p} has more than two decimals`);
    }
    if (isObj(s.noise) && typeof s.noise.sample === 'number' && s.noise.sample >= 0 && s.noise.sample <= 100 && !isValidPercent(s.noise.sample)) {
      report('STR_BAD_SHADOW', at('noise', 'sample'), `${s.noise.sample} has more than two decimals`);
    }
    if (Array.isArray(s.methods) && s.side_effect_free !== true) {
      s.methods.forEach((method, k) => {
        if (typeof method === 'string' && !SHADOW_SAFE_METHODS.includes(method)) {
          report('STR_SHADOW_UNSAFE_METHOD', at('methods', k), `${method} may change state: a copy would run it twice; copy it only with side_effect_free: true (the function has no side effects)`);
        }
      });
    }
    if (Array.isArray(s.ignore)) {
      s.ignore.forEach((rule, k) => {
        // The schema allow-lists the characters; a key made only of '*' or '-' is accepted as a wildcard or a name.
        // A quoted key (["a.b*"]) is a name whatever it holds.
        const unquoted = typeof rule === 'string' ? rule.replace(/\["[^"]*"\]/g, '') : '';
        if (unquoted.startsWith('$') && /\.(?![A-Za-z0-9_*-])|\*[A-Za-z0-9_-]|[A-Za-z0-9_-]\*/.test(unquoted)) {
          report('STR_BAD_SHADOW_IGNORE', at('ignore', k), `${JSON.stringify(rule)}: write a key as .name or ["any key"], any key as .*, any index as [*]`);
        }
      });
    }
    const size = typeof s.max_body === 'number' ? String(s.max_body) : s.max_body;
    if (typeof size === 'string') {
      const bytes = parseSize(size);
      if (bytes !== null && (bytes < 1 || bytes > SHADOW_MAX_BODY_LIMIT)) report('STR_BAD_SIZE', at('max_body'), `${JSON.stringify(size)} must be between 1 and ${SHADOW_MAX_BODY_LIMIT} bytes (both answers are held in memory to compare them)`);
    }
    const time = typeof s.timeout === 'number' ? String(s.timeout) : s.timeout;
    if (typeof time === 'string') {
      const ms = parseDuration(time);
      if (ms !== null && (ms === 0 || ms > MAX_DURATION_MS)) report('STR_BAD_DURATION', at('timeout'), `${JSON.stringify(time)} must be more than 0 and at most 1d`);
    }
  });
}
