// nginx's location search over the locations the emitter generates for a RouteTable
// (ngx_http_core_find_location / ngx_http_core_find_static_location), in O(path length):
//
// 1. an exact location equal to $uri wins at once;
// 2. a location named $uri + "/" (an exact or prefix location holding proxy_pass) makes nginx
//    answer 301 to that name ("auto_redirect"), before regexes are tried;
// 3. otherwise the longest prefix location is remembered (every emitted prefix location ends in
//    "/", so the candidates are $uri's prefixes that end in "/": one map lookup each);
// 4. regex locations are tried in manifest order, the first match wins;
// 5. otherwise the remembered prefix, which always exists ("/" is the default route's).
//
// Paths and patterns are compared as binary strings (one char per byte), as nginx compares bytes.
import type { Route, RouteTable } from '../manifest/route-table';
import { locationPlan, type Location } from '../manifest/location-plan';
import { pcreRegExp } from '../manifest/pcre-to-js';

/** A planned location, its name as the bytes nginx.conf holds (a regex keeps its pattern). */
export type LocationMatch = Location;

export type MatchResult =
  | { readonly redirect: false; readonly location: LocationMatch }
  /** nginx's auto_redirect: 301 to `location.name` (plus "?" $args). */
  | { readonly redirect: true; readonly location: LocationMatch };

export interface RouteMatcher {
  match(uri: string): MatchResult;
  readonly routeById: ReadonlyMap<string, Route>;
}

/** Manifest text becomes the bytes nginx.conf holds: UTF-8, seen one char per byte. */
export function utf8Binary(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

export function buildRouteMatcher(table: RouteTable): RouteMatcher {
  const exact = new Map<string, LocationMatch>();
  const prefix = new Map<string, LocationMatch>();
  const regexes: { re: RegExp; location: LocationMatch }[] = [];
  for (const location of locationPlan(table)) {
    if (location.kind === 'regex') {
      // PCRE's meaning, over the path's bytes: JavaScript reads . $ \s \v [[:digit:]] otherwise.
      regexes.push({ re: pcreRegExp(location.name), location });
    } else {
      const key = utf8Binary(location.name);
      (location.kind === 'exact' ? exact : prefix).set(key, Object.freeze({ ...location, name: key }));
    }
  }

  const routeById = new Map(table.routes.map((r) => [r.id, r] as const));
  routeById.set(table.defaultRoute.id, table.defaultRoute);

  return {
    routeById,
    match(uri: string): MatchResult {
      const e = exact.get(uri);
      if (e !== undefined) return { redirect: false, location: e };
      if (uri.charCodeAt(uri.length - 1) !== 0x2f) {
        const dir = uri + '/';
        const r = exact.get(dir) ?? prefix.get(dir);
        if (r !== undefined) return { redirect: true, location: r };
      }
      // Longest first: each "/" of the path ends a candidate prefix location name.
      let longest: LocationMatch | undefined;
      for (let i = uri.lastIndexOf('/'); i >= 0 && longest === undefined; i = i > 0 ? uri.lastIndexOf('/', i - 1) : -1) {
        longest = prefix.get(i === uri.length - 1 ? uri : uri.slice(0, i + 1));
      }
      for (const { re, location } of regexes) {
        if (re.test(uri)) return { redirect: false, location };
      }
      // "/" is always a prefix location and every $uri starts with "/".
      return { redirect: false, location: longest ?? prefix.get('/')! };
    },
  };
}
