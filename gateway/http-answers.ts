// Every answer strangler makes itself (not relayed from an upstream), with a stable code: the
// Node gateway's refusals and upstream failures (the same as the compiled nginx's), and the admin
// API's errors. docs/errors.md documents each one; test/http-answers.test.ts keeps the two in sync.
// JSON bodies carry the code as `error`; the admin API adds `message` with the specifics.

export interface HttpAnswer {
  readonly status: number;
  /** Who answers it: the traffic side (the gateway, and nginx where it applies) or the admin API. */
  readonly by: 'traffic' | 'admin' | 'both';
  /** What it means, in one sentence (the docs' text). */
  readonly message: string;
}

export const HTTP_ANSWERS = {
  bad_request: { status: 400, by: 'traffic', message: 'the request is malformed where nginx refuses it too: request target, Host header, duplicate or oversized headers, CONNECT, chunked HTTP/1.0' },
  method_not_allowed: { status: 405, by: 'both', message: 'the method is not allowed here (TRACE on the traffic side, as nginx; the admin API sends Allow)' },
  body_too_large: { status: 413, by: 'both', message: 'the request body is larger than the route\'s body.max_size (traffic) or 16 KiB (admin)' },
  uri_too_long: { status: 414, by: 'traffic', message: 'the request line does not fit nginx\'s large header buffer (8k)' },
  internal_error: { status: 500, by: 'both', message: 'a bug: strangler failed while answering; the log has the details' },
  not_implemented: { status: 501, by: 'traffic', message: 'a Transfer-Encoding other than chunked' },
  upstream_failed: { status: 502, by: 'traffic', message: 'the upstream refused, reset or answered 502/503, or every server was at its max_conns, and there was no fallback to legacy (or it may not replay the method)' },
  upstream_timeout: { status: 504, by: 'traffic', message: 'the upstream did not connect or answer within the route\'s timeouts, and there was no fallback to legacy' },
  http_version_not_supported: { status: 505, by: 'traffic', message: 'a request line with an HTTP version other than 1.x' },
  invalid_json: { status: 400, by: 'admin', message: 'the request body is not valid JSON' },
  invalid_body: { status: 400, by: 'admin', message: 'the request body is not the shape the endpoint takes: {"percent": 0..100 or null} on /routes/:id, {"all": …} or {"routes": {"<id>": …}} on /routes, {"action": "start" | "pause" | "resume" | "abort"} on /routes/:id/rollout' },
  invalid_percent: { status: 400, by: 'admin', message: 'the percent is not exactly a multiple of 0.01 (1e-9 would round to another percent)' },
  invalid_query: { status: 400, by: 'admin', message: 'a query parameter is not what the endpoint takes (GET /audit?limit=N: a whole number from 1; above 500 reads 500)' },
  unauthorized: { status: 401, by: 'admin', message: 'missing or wrong token (Authorization: Bearer <token>, the admin token or, for reads, STRANGLER_READ_TOKEN)' },
  forbidden_host: { status: 403, by: 'admin', message: 'the Host header is not the admin API\'s own address (DNS-rebinding protection)' },
  forbidden_origin: { status: 403, by: 'admin', message: 'a cross-origin request (Origin is not the admin API)' },
  read_only: { status: 403, by: 'admin', message: 'a change sent with the read-only token (STRANGLER_READ_TOKEN); nothing is read or changed, changes need the admin token' },
  not_found: { status: 404, by: 'admin', message: 'no such endpoint or dashboard file (the dashboard is at /ui/)' },
  unknown_route: { status: 404, by: 'admin', message: 'no route with that id in the manifest (a PATCH /routes naming one changes nothing)' },
  not_shadowed: { status: 404, by: 'admin', message: 'the route has no shadow in the manifest, so there are no comparisons to show' },
  no_rollout: { status: 404, by: 'admin', message: 'the route has no canary.rollout in the manifest, so there is no rollout to show or drive' },
  rollout_conflict: { status: 409, by: 'admin', message: 'the rollout\'s state does not allow the action (start while running, resume while not paused, ...); the message says which state it is in' },
  default_route_fixed: { status: 409, by: 'admin', message: 'the default route serves unmatched requests from legacy and has no percent to change (also when a PATCH /routes names it)' },
  unsupported_media_type: { status: 415, by: 'admin', message: 'the request body is not application/json' },
  audit_failed: { status: 500, by: 'admin', message: 'the change is in effect but the audit log could not be written' },
  state_unavailable: { status: 503, by: 'admin', message: 'the shared state (Redis) is unreachable (or a change kept racing others): nothing changed, the last state keeps serving; retry after Retry-After' },
} as const satisfies Record<string, HttpAnswer>;

export type AnswerCode = keyof typeof HTTP_ANSWERS;

/** The code the traffic side answers a refused request with, by status (nginx's refusals). */
export const REFUSAL_CODES = { 400: 'bad_request', 405: 'method_not_allowed', 414: 'uri_too_long', 501: 'not_implemented', 505: 'http_version_not_supported' } as const satisfies Record<number, AnswerCode>;

/**
 * An upstream failure's body, the same in nginx.conf (the fallback location refusing to replay
 * a non-idempotent request) and in the gateway, which adds what failed.
 */
export function upstreamFailureBody(status: number, route: string, target: string): { error: 'upstream_failed' | 'upstream_timeout'; route: string; target: string } {
  return { error: status === 504 ? 'upstream_timeout' : 'upstream_failed', route, target };
}

/** A JSON error body: the code as `error`, then whatever the answer adds (route, limit, message…). */
export function errorBody<E extends object>(code: AnswerCode, extra?: E): { error: AnswerCode } & E {
  return { error: code, ...extra } as { error: AnswerCode } & E;
}
