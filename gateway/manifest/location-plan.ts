// The location plan: the one place that says which nginx locations a RouteTable becomes and what
// proxy_pass does in each. The nginx emitter renders it (emit-routes.ts), the gateway indexes it
// (route-matcher.ts) and computes the upstream request target from it (decide-route.ts), and
// duplicate-match validation reads the same locations (semantic-checks.ts). A new kind of match or
// target is added here and both runtimes pick it up.
import type { Match, Route, RouteTable, Target } from './route-table';

/** How nginx matches a location: `= name`, `name` (longest prefix) or `~ name`. */
export type LocationKind = 'exact' | 'prefix' | 'regex';

/** Where a location sends its route's `to` side, and which part of $uri proxy_pass replaces. */
export type ProxyPass =
  /** `proxy_pass http://strangler_UPSTREAM`: the request URI goes upstream unchanged. */
  | { readonly kind: 'as_is'; readonly upstream: string }
  /** `proxy_pass http://strangler_UPSTREAM<uriPart>`: uriPart replaces the matched location name. */
  | { readonly kind: 'uri_part'; readonly upstream: string; readonly uriPart: string }
  /** `rewrite ^ <base>$uri break; proxy_pass http://strangler_UPSTREAM`: a regex location cannot have a URI part. */
  | { readonly kind: 'rewrite'; readonly upstream: string; readonly base: string };

export interface Location {
  readonly kind: LocationKind;
  /** The location's name as written in the manifest ("/api/v1/track/"); for a regex, the pattern. */
  readonly name: string;
  readonly route: Route;
  /** What proxy_pass does for the route's `to` side here (the legacy side always goes as_is to legacy). */
  readonly pass: ProxyPass;
}

/** The name and kind of each location a match becomes: a segment prefix P is `= P` plus `P/`. */
export function locationsOf(match: Match): readonly { readonly kind: LocationKind; readonly name: string }[] {
  switch (match.kind) {
    case 'exact': return [{ kind: 'exact', name: match.path }];
    case 'regex': return [{ kind: 'regex', name: match.pattern }];
    case 'prefix':
      return match.path.endsWith('/')
        ? [{ kind: 'prefix', name: match.path }]
        : [{ kind: 'exact', name: match.path }, { kind: 'prefix', name: match.path + '/' }];
  }
}

/**
 * nginx hands a route to the Node gateway, which decides per request, when it is `dynamic` or
 * shadowed (the gateway copies and compares; nginx's own `mirror` discards the copy's answer), or
 * rolled out (the gateway measures both sides to decide each step).
 */
export function handedToGateway(route: Route): boolean {
  return route.dynamic || route.shadow !== null || route.canary.rollout !== null;
}

/** The manifest's `match` block ({exact}, {prefix} or {regex}) as a Match. */
export function matchOf(raw: Record<string, unknown>): Match {
  if (typeof raw.exact === 'string') return { kind: 'exact', path: raw.exact };
  if (typeof raw.prefix === 'string') return { kind: 'prefix', path: raw.prefix };
  return { kind: 'regex', pattern: String(raw.regex) };
}

/** The function gateway's path for a `function:`/`async:` target, or null for other targets. */
export function functionBase(to: Target): string | null {
  if (to.kind === 'function') return `/function/${to.name}`;
  if (to.kind === 'async') return `/async-function/${to.name}`;
  return null;
}

/** The upstream block a target's requests go to: "legacy", "functions" or a manifest upstream's name. */
export function targetUpstream(to: Target): string {
  switch (to.kind) {
    case 'legacy': return 'legacy';
    case 'upstream': return to.name;
    case 'function': case 'async': return 'functions';
  }
}

function passFor(to: Target, kind: LocationKind): ProxyPass {
  const upstream = targetUpstream(to);
  const base = functionBase(to);
  if (base === null) return { kind: 'as_is', upstream };
  switch (kind) {
    case 'exact': return { kind: 'uri_part', upstream, uriPart: base };
    case 'prefix': return { kind: 'uri_part', upstream, uriPart: base + '/' };
    case 'regex': return { kind: 'rewrite', upstream, base };
  }
}

/**
 * Every location of the server block in the order nginx.conf holds them: the default route's
 * "/" first when no route claims it, then each route's locations in manifest order.
 */
export function planLocations(table: RouteTable): readonly Location[] {
  const out: Location[] = [];
  const add = (route: Route, kind: LocationKind, name: string) => out.push(Object.freeze({ kind, name, route, pass: Object.freeze(passFor(route.to, kind)) }));
  const claimsRoot = table.routes.some((r) => r.match.kind === 'prefix' && r.match.path === '/');
  if (!claimsRoot) add(table.defaultRoute, 'prefix', '/');
  for (const route of table.routes) {
    for (const { kind, name } of locationsOf(route.match)) add(route, kind, name);
  }
  return Object.freeze(out);
}

const plans = new WeakMap<RouteTable, readonly Location[]>();
/** The plan of a (frozen, never changing) table, computed once. */
export function locationPlan(table: RouteTable): readonly Location[] {
  let plan = plans.get(table);
  if (plan === undefined) plans.set(table, plan = planLocations(table));
  return plan;
}
