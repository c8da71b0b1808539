// Checks the schema cannot express, one function per concern, each reporting every problem it sees.
// They run on schema-checked data but stay defensive: a check must never throw on odd input.
import type { ManifestCode, PathSegment } from './errors';
import { describeRedisUrl, isRedisUrl } from '../util/redis-url';
import { isCidr, parseCidr } from './cidr';
import { isValidPercent } from './percent';
import { locationsOf, matchOf, type LocationKind } from './location-plan';
import { MAX_DURATION_MS, parseDuration, parseHostPort, parseSize } from './units';
import { didYouMean } from '../util/did-you-mean';
import { pcreToJs } from './pcre-to-js';

export type Report = (code: ManifestCode, path: PathSegment[], message: string, severity?: 'error' | 'warning') => void;
type Obj = Record<string, unknown>;

export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const routesOf = (m: Obj): Obj[] => (Array.isArray(m.routes) ? m.routes.filter(isObj) : []);
// Positions are looked up once per manifest: indexOf per route would be quadratic at 10,000 routes.
const routeIndexes = new WeakMap<Obj, Map<unknown, number>>();
const routeIndex = (m: Obj, r: Obj): number => {
  let idx = routeIndexes.get(m);
  if (idx === undefined) routeIndexes.set(m, idx = new Map((m.routes as unknown[]).map((x, i) => [x, i] as const)));
  return idx.get(r) ?? -1;
};

export function checkAddresses(m: Obj, report: Report): void {
  if (typeof m.listen === 'string' && !parseHostPort(m.listen)) {
    report('STR_BAD_ADDRESS', ['listen'], `${JSON.stringify(m.listen)} is not a port or host:port`);
  }
  if (isObj(m.upstreams)) {
    for (const [name, up] of Object.entries(m.upstreams)) {
      if (!isObj(up) || !Array.isArray(up.servers)) continue;
      up.servers.forEach((s, i) => {
        if (typeof s === 'string' && !parseHostPort(s)) {
          report('STR_BAD_ADDRESS', ['upstreams', name, 'servers', i], `${JSON.stringify(s)} is not host:port`);
        }
      });
    }
  }
  if (isObj(m.gateway)) {
    for (const key of ['listen', 'admin']) {
      const v = m.gateway[key];
      if (typeof v === 'string' && !parseHostPort(v)) report('STR_BAD_ADDRESS', ['gateway', key], `${JSON.stringify(v)} is not host:port`);
    }
    const servers = m.gateway.servers;
    if (Array.isArray(servers)) {
      servers.forEach((s, i) => {
        if (typeof s === 'string' && !parseHostPort(s)) report('STR_BAD_ADDRESS', ['gateway', 'servers', i], `${JSON.stringify(s)} is not host:port`);
      });
    }
  }
}

/**
 * trusted_proxies (nginx's set_real_ip_from) and gateway.trusted_proxies (the gateway's):
 * addresses or CIDR blocks, parsed by the one CIDR module.
 */
export function checkTrustedProxies(m: Obj, report: Report): void {
  const lists: [unknown, PathSegment[]][] = [[m.trusted_proxies, ['trusted_proxies']], [isObj(m.gateway) ? m.gateway.trusted_proxies : undefined, ['gateway', 'trusted_proxies']]];
  for (const [list, where] of lists) {
    if (!Array.isArray(list)) continue;
    list.forEach((t, i) => {
      if (typeof t !== 'string') return;
      const c = parseCidr(t);
      if (!isCidr(c)) report('STR_BAD_CIDR', [...where, i], c);
    });
  }
}

/** gateway.state: a Redis URL without a password (that belongs in REDIS_PASSWORD), or a file path. */
export function checkStateTarget(m: Obj, report: Report): void {
  const v = isObj(m.gateway) ? m.gateway.state : undefined;
  if (typeof v !== 'string') return;
  const where = ['gateway', 'state'];
  if (isRedisUrl(v)) {
    let u: URL | null = null;
    try { u = new URL(v); } catch { /* reported below */ }
    if (!u || !u.hostname) return report('STR_BAD_STATE', where, `${JSON.stringify(describeRedisUrl(v))} is not redis://[user@]HOST:PORT[/DB]`);
    if (u.password) return report('STR_BAD_STATE', where, 'holds a password; the manifest is not a secret: set REDIS_PASSWORD (or STRANGLER_REDIS_URL) in the environment instead');
    if (!/^\/?(\d{1,2})?$/.test(u.pathname) || u.search || u.hash) return report('STR_BAD_STATE', where, `${JSON.stringify(v)}: after HOST:PORT only /DB (a database number) may follow`);
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) {
    report('STR_BAD_STATE', where, `${JSON.stringify(v)}: unknown scheme; expected redis://, rediss:// or a file path`);
  }
}

const SIZE_LIMITS: Record<string, { min: number; max: number }> = {
  size: { min: 1024, max: 64 * 1024 ** 2 },
  each: { min: 1024, max: 64 * 1024 ** 2 },
  busy: { min: 1024, max: 1024 ** 3 },
  max_size: { min: 0, max: 1024 ** 4 },
  buffer: { min: 1024, max: 1024 ** 3 },
};

/** Durations and sizes in every place they can appear: defaults and each route's overrides. */
export function checkUnits(m: Obj, report: Report): void {
  const places: { base: PathSegment[]; obj: Obj }[] = [];
  if (isObj(m.defaults)) places.push({ base: ['defaults'], obj: m.defaults });
  for (const r of routesOf(m)) places.push({ base: ['routes', routeIndex(m, r)], obj: r });
  for (const { base, obj } of places) {
    if (isObj(obj.timeouts)) {
      for (const [k, raw] of Object.entries(obj.timeouts)) {
        const v = typeof raw === 'number' ? String(raw) : raw;
        if (typeof v !== 'string') continue;
        const ms = parseDuration(v);
        // The schema checks the characters; nginx also wants each unit once, largest first.
        if (ms === null && /^([0-9]{1,9}(ms|s|m|h|d)?)+$/.test(v)) {
          report('STR_BAD_DURATION', [...base, 'timeouts', k], `${JSON.stringify(v)} repeats a unit or has them out of order (largest first: 1h30m, 1s500ms)`);
        }
        if (ms !== null && (ms === 0 || ms > MAX_DURATION_MS)) {
          report('STR_BAD_DURATION', [...base, 'timeouts', k], `${JSON.stringify(v)} must be more than 0 and at most 1d`);
        }
      }
    }
    for (const group of ['buffers', 'body']) {
      const g = obj[group];
      if (!isObj(g)) continue;
      for (const [k, raw] of Object.entries(g)) {
        const v = typeof raw === 'number' ? String(raw) : raw;
        if (typeof v !== 'string' || !SIZE_LIMITS[k]) continue;
        const bytes = parseSize(v);
        const { min, max } = SIZE_LIMITS[k];
        // Only client_max_body_size is an offset in nginx; the buffer sizes know k and m, not g.
        if (k !== 'max_size' && /g$/i.test(v)) {
          report('STR_BAD_SIZE', [...base, group, k], `${JSON.stringify(v)}: nginx accepts only k and m for this size (write ${parseInt(v, 10) * 1024}m)`);
        } else if (bytes !== null && (bytes < min || bytes > max)) {
          const zero = k === 'max_size' ? ' (0 means unlimited)' : '';
          report('STR_BAD_SIZE', [...base, group, k], `${JSON.stringify(v)} must be between ${min} and ${max} bytes${zero}`);
        }
      }
    }
  }
}

export function checkIds(m: Obj, report: Report): void {
  const firstById = new Map<string, number>();
  for (const r of routesOf(m)) {
    if (typeof r.id !== 'string') continue;
    const i = routeIndex(m, r);
    if (r.id === 'default') report('STR_RESERVED_ID', ['routes', i, 'id'], '"default" is reserved for the traffic no route claims');
    const first = firstById.get(r.id);
    if (first !== undefined) report('STR_DUPLICATE_ID', ['routes', i, 'id'], `id ${JSON.stringify(r.id)} is already used by routes[${first}]`);
    else firstById.set(r.id, i);
  }
}

const KIND_MARK: Record<LocationKind, string> = { exact: '=', prefix: '^', regex: '~' };

/**
 * The nginx location(s) a match becomes, as the location plan makes them; two routes may not
 * claim the same location.
 */
export function locationKeys(match: Obj): string[] {
  if (typeof match.exact !== 'string' && typeof match.prefix !== 'string' && typeof match.regex !== 'string') return [];
  return locationsOf(matchOf(match)).map((l) => `${KIND_MARK[l.kind]} ${l.name}`);
}

/**
 * Why a regex cannot be used, or null: the translator (pcre-to-js.ts) is the one list of what
 * nginx's PCRE and the gateway match alike; what it refuses, or what does not compile once
 * translated, is refused here.
 */
export function regexProblem(pattern: string): string | null {
  const js = pcreToJs(pattern);
  if (!js.ok) return js.problem;
  try {
    new RegExp(js.source);
  } catch (err) {
    return `does not compile: ${(err as Error).message.replace(/^Invalid regular expression: \/[\s\S]*\/[a-z]*: /, '')}`;
  }
  return null;
}

export function checkMatches(m: Obj, report: Report): void {
  const owner = new Map<string, number>();
  for (const r of routesOf(m)) {
    if (!isObj(r.match)) continue;
    const i = routeIndex(m, r);
    for (const kind of ['prefix', 'exact'] as const) {
      const p = r.match[kind];
      if (typeof p === 'string' && /\/\/|\/\.\.?(\/|$)/.test(p)) {
        report('STR_BAD_PATH', ['routes', i, 'match', kind], `${JSON.stringify(p)} can never match: requests are matched on the normalised path, without //, /./ or /../`);
      }
    }
    if (typeof r.match.regex === 'string') {
      const why = regexProblem(r.match.regex);
      if (why) {
        report('STR_BAD_REGEX', ['routes', i, 'match', 'regex'], `${JSON.stringify(r.match.regex)} ${why}`);
        continue;
      }
    }
    for (const key of locationKeys(r.match)) {
      const first = owner.get(key);
      const kind = Object.keys(r.match)[0];
      if (first !== undefined) {
        report('STR_DUPLICATE_MATCH', ['routes', i, 'match', kind], `claims the same location as routes[${first}] (nginx location ${key.replace(/^\^ /, '')})`);
        break;
      }
      owner.set(key, i);
    }
  }
}

/** The nginx config names the Node gateway's upstream strangler_gateway: no manifest upstream may take it. */
const RESERVED_UPSTREAM = 'gateway';

export function checkTargets(m: Obj, report: Report): void {
  const upstreams = isObj(m.upstreams) ? m.upstreams : {};
  // Own keys only: `upstream:constructor` must not find Object.prototype.constructor.
  const has = (name: string) => Object.hasOwn(upstreams, name);
  if (has(RESERVED_UPSTREAM) && routesOf(m).some((r) => r.dynamic === true || isObj(r.shadow))) {
    report('STR_BAD_NAME', ['upstreams', RESERVED_UPSTREAM], `the upstream name "${RESERVED_UPSTREAM}" is reserved for the Node gateway that dynamic and shadowed routes are handed to`);
  }
  for (const r of routesOf(m)) {
    if (typeof r.to !== 'string') continue;
    const i = routeIndex(m, r);
    const [kind, name] = r.to.split(':');
    if ((kind === 'function' || kind === 'async') && !has('functions')) {
      report('STR_UNKNOWN_UPSTREAM', ['routes', i, 'to'], `${JSON.stringify(r.to)} needs upstreams.functions (the function gateway), which is not defined`);
    }
    if (kind === 'upstream' && name !== undefined && !has(name)) {
      report('STR_UNKNOWN_UPSTREAM', ['routes', i, 'to'], `upstream ${JSON.stringify(name)} is not defined in upstreams${didYouMean(name, Object.keys(upstreams), (n) => `upstream:${n}`)}`);
    }
    if (r.to === 'legacy') {
      if (r.canary !== undefined) report('STR_W_IGNORED', ['routes', i, 'canary'], 'has no effect: the route already goes to legacy', 'warning');
      if (r.fallback !== undefined) report('STR_W_IGNORED', ['routes', i, 'fallback'], 'has no effect: the route already goes to legacy', 'warning');
    }
  }
}

export function checkCanaries(m: Obj, report: Report): void {
  for (const r of routesOf(m)) {
    if (!isObj(r.canary)) continue;
    const sticky = r.canary.sticky;
    // nginx reads a cookie through the variable $cookie_NAME, and variable names stop at "-".
    if (typeof sticky === 'string' && /^cookie:.*-/.test(sticky)) {
      report('STR_BAD_STICKY', ['routes', routeIndex(m, r), 'canary', 'sticky'], `${JSON.stringify(sticky)}: nginx cannot read a cookie whose name contains "-" ($cookie_NAME)`);
    }
    if (typeof r.canary.percent !== 'number') continue;
    const p = r.canary.percent;
    // Out of range is the schema's error already.
    if (p >= 0 && p <= 100 && !isValidPercent(p)) {
      report('STR_BAD_PERCENT', ['routes', routeIndex(m, r), 'canary', 'percent'], `${p} has more than two decimals (nginx split_clients resolution is 0.01%)`);
    }
  }
}

/** nginx refuses buffer settings outside these rules at start-up, so refuse them here first. */
export function checkBuffers(m: Obj, report: Report, effective: (r: Obj | null) => { size: number; count: number; each: number; busy: number }): void {
  const check = (base: PathSegment[], r: Obj | null) => {
    const b = effective(r);
    if ([b.size, b.count, b.each, b.busy].some((n) => !Number.isFinite(n))) return;
    if (b.busy < Math.max(b.size, b.each)) {
      report('STR_BAD_BUFFERS', [...base, 'busy'], `busy (${b.busy} bytes) must be at least the larger of size and each (${Math.max(b.size, b.each)} bytes)`);
    } else if (b.busy > (b.count - 1) * b.each) {
      report('STR_BAD_BUFFERS', [...base, 'busy'], `busy (${b.busy} bytes) must not exceed (count - 1) × each (${(b.count - 1) * b.each} bytes)`);
    }
  };
  check(['defaults', 'buffers'], null);
  for (const r of routesOf(m)) if (isObj(r.buffers)) check(['routes', routeIndex(m, r), 'buffers'], r);
}
