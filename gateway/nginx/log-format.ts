// The access log's one definition: nginx's strangler_json log_format is emitted from this list,
// the Node gateway writes its lines with the same keys in the same order, and `strangler report`
// reads both. A field is a string (quoted) or a number (bare, as nginx writes $status).
import { d, entry, type Directive } from './directive';

export interface LogField {
  /** The JSON key. */
  readonly key: string;
  /** What nginx writes there. */
  readonly nginx: string;
  readonly type: 'string' | 'number';
}

export const LOG_FORMAT_NAME = 'strangler_json';

export const LOG_FIELDS: readonly LogField[] = Object.freeze([
  { key: 'time', nginx: '$time_iso8601', type: 'string' },
  { key: 'route', nginx: '$strangler_route', type: 'string' },
  // For a route handed to the gateway, who answered it: the gateway's X-Strangler-Target.
  { key: 'target', nginx: '$strangler_served_by', type: 'string' },
  { key: 'method', nginx: '$request_method', type: 'string' },
  { key: 'uri', nginx: '$request_uri', type: 'string' },
  { key: 'status', nginx: '$status', type: 'number' },
  { key: 'bytes', nginx: '$body_bytes_sent', type: 'number' },
  { key: 'request_time', nginx: '$request_time', type: 'number' },
  { key: 'upstream_response_time', nginx: '$upstream_response_time', type: 'string' },
  { key: 'upstream_addr', nginx: '$upstream_addr', type: 'string' },
  { key: 'upstream_status', nginx: '$upstream_status', type: 'string' },
  { key: 'remote_addr', nginx: '$remote_addr', type: 'string' },
  // The id sent upstream as X-Request-Id: the client's, or a new one (the gateway: requestIdOf).
  { key: 'request_id', nginx: '$strangler_request_id', type: 'string' },
  { key: 'user_agent', nginx: '$http_user_agent', type: 'string' },
] as const);

/** The log_format's template text (nginx escapes the values: escape=json). */
export function nginxLogFormat(): string {
  return `{${LOG_FIELDS.map((f) => (f.type === 'string' ? `"${f.key}":"${f.nginx}"` : `"${f.key}":${f.nginx}`)).join(',')}}`;
}

/** What nginx logs as the route and target of a request it answered before routing (a malformed request line, a bad Host: a 400). */
export const NOT_ROUTED = '-';

/**
 * The http-context maps the log format's own variables need. $strangler_route/$strangler_target
 * are defined by map (then overwritten by `set`): a request refused before the server's `set`s
 * ran (a malformed head) logs "-" rather than an "uninitialized variable" warning per request.
 * $strangler_request_id is the client's X-Request-Id, or nginx's own $request_id: logged and sent
 * upstream, as the gateway does.
 */
export function nginxLogMaps(): Directive[] {
  return [
    d('map', ['', '$strangler_route'], [entry('default', NOT_ROUTED)]),
    d('map', ['', '$strangler_target'], [entry('default', NOT_ROUTED)]),
    d('map', ['$http_x_request_id', '$strangler_request_id'], [entry('', '$request_id'), entry('default', '$http_x_request_id')]),
  ];
}

/** One access log line as both layers write it. */
export interface AccessLine {
  time: string;
  route: string;
  target: string;
  method: string;
  uri: string;
  status: number;
  bytes: number;
  request_time: number;
  upstream_response_time: string;
  upstream_addr: string;
  upstream_status: string;
  remote_addr: string;
  request_id: string;
  user_agent: string;
}

/** The response header naming who served a request; the gateway sends it to the nginx in front, which logs it. */
export const TARGET_HEADER = 'X-Strangler-Target';

/**
 * What nginx's edge servers log as the target of a request no route answered: the refusing
 * default server (444), the plain-HTTP redirect to https, the ACME challenge files. Not migration
 * traffic: `strangler report` leaves these lines out of its figures and says how many.
 */
export const EDGE_TARGETS = Object.freeze({ refused: 'refused', https_redirect: 'https_redirect', acme_webroot: 'acme_webroot' } as const);
