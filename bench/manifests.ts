// The bench manifest: ten routes of the shape a real strangler fig has (prefix, exact and regex
// matches; function, async and legacy targets; a canary; method rules; fallbacks), optionally
// followed by generated routes up to any count. Every upstream is the one echo server.

export interface BenchManifestOptions {
  /** nginx's listen port. */
  listen: number;
  upstream: number;
  /** Total routes (at least 10; the first ten are always the same). */
  routes?: number;
  /** Idle upstream keepalive connections; 0 disables upstream keepalive in nginx. */
  keepalive?: number;
  debugHeaders?: boolean;
}

/** The paths the loads use: each is claimed by one of the first ten routes. */
export const PATHS = {
  /** Small GET: prefix route, GET/HEAD only, to a function (rewritten to /function/track-package/42). */
  get: '/api/v1/track/42',
  /** 64 KiB POST: prefix route to a function. */
  post: '/api/v1/upload/blob',
  /** The same requests sent straight to the upstream, as the proxies would forward them. */
  directGet: '/function/track-package/42',
  directPost: '/function/upload/blob',
  /** The canary the change-under-load test moves between 0 and 100 percent. */
  flip: '/api/v1/flip/1',
  flipRoute: 'flip',
  flipTarget: 'function:flip',
} as const;

const BASE_ROUTES = `
  - id: track
    match: { prefix: /api/v1/track }
    methods: [GET, HEAD]
    to: function:track-package
    fallback: legacy
  - id: upload
    match: { prefix: /api/v1/upload }
    to: function:upload
  - id: orders
    match: { exact: /api/v1/orders }
    methods: [POST]
    to: async:order-intake
  - id: report
    match: { prefix: /generate-report }
    to: function:generate-report
    fallback: legacy
    timeouts: { read: 300s }
  - id: images
    match: { prefix: /images/ }
    to: function:image-resizer
    canary: { percent: 10, sticky: "cookie:session_id" }
    fallback: legacy
  - id: pdf
    match: { regex: "^/docs/.+\\\\.pdf$" }
    to: function:generate-pdf
  - id: search
    match: { prefix: /search }
    to: upstream:search
  - id: account
    match: { prefix: /account }
    to: legacy
  - id: cart
    match: { exact: /api/v1/cart }
    methods: [GET, POST]
    to: function:cart
    fallback: legacy
  - id: flip
    match: { prefix: /api/v1/flip }
    to: function:flip
    canary: { percent: 0 }
`;

function generatedRoute(i: number): string {
  // Seven in ten are prefixes, the rest exact paths; all to functions.
  const match = i % 10 < 7 ? `{ prefix: /svc/${i}/items }` : `{ exact: /svc/${i}/status }`;
  return `  - id: svc-${i}\n    match: ${match}\n    to: function:svc-${i}\n`;
}

/** The bench manifest's first routes, always there: fewer is not a bench manifest. */
export const BASE_ROUTE_COUNT = 10;

export function benchManifest(o: BenchManifestOptions): string {
  const keepalive = o.keepalive ?? 64;
  const total = Math.max(BASE_ROUTE_COUNT, o.routes ?? BASE_ROUTE_COUNT);
  const extra: string[] = [];
  for (let i = BASE_ROUTE_COUNT; i < total; i++) extra.push(generatedRoute(i));
  return `version: 1
listen: "127.0.0.1:${o.listen}"
debug_headers: ${o.debugHeaders === true}
upstreams:
  legacy: { servers: ["127.0.0.1:${o.upstream}"], keepalive: ${keepalive} }
  functions: { servers: ["127.0.0.1:${o.upstream}"], keepalive: ${keepalive} }
  search: { servers: ["127.0.0.1:${o.upstream}"], keepalive: ${keepalive} }
routes:${BASE_ROUTES}${extra.join('')}`;
}
