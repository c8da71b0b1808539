// nginx's request-target semantics (nginx 1.22, Linux, `merge_slashes on` by default), ported from
// ngx_http_parse_request_line, ngx_http_process_request_uri, ngx_http_parse_complex_uri
// (src/http/ngx_http_parse.c, ngx_http_request.c), ngx_escape_uri (src/core/ngx_string.c) and
// ngx_http_proxy_create_request (src/http/modules/ngx_http_proxy_module.c), so the Node gateway
// matches locations against, and forwards, exactly the bytes nginx would.
//
// BINARY STRINGS. nginx works on bytes, and a decoded $uri may hold any byte but NUL, including
// invalid UTF-8 ("%ff"). Every string here is a latin1 "binary string": one char per byte, char
// codes 0..255, so it compares with nginx byte for byte (Buffer.from(s, 'latin1') gives the bytes
// back). Node's HTTP server already hands over `req.url` that way (it decodes the request line
// as latin1). An input string holding a char above 0xFF is not a binary string: it is taken as
// text and UTF-8 encoded first.

// ---------------------------------------------------------------------------------------------
// Character tables

/** Builds a 256-entry lookup from nginx's 8×uint32 bitmap (bit c&31 of word c>>5). */
function table(words: readonly number[]): Uint8Array {
  const t = new Uint8Array(256);
  for (let c = 0; c < 256; c++) t[c] = (words[c >> 5] >>> (c & 31)) & 1;
  return t;
}

/**
 * ngx_http_parse.c `usual`: bytes that need no attention in a path. Not usual: controls, space,
 * '#', '%', '+', '.', '/', '?' and DEL. Bytes >= 0x80, ';' and backslash (on Linux) are usual.
 */
const USUAL = table([0x00000000, 0x7fff37d6, 0xffffffff, 0x7fffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]);

/** NGX_ESCAPE_URI (nginx >= 1.21.1): controls, space, '"', '#', '%', '<', '>', '?', '\', '^', '`', '{', '|', '}', DEL, >= 0x80. */
const ESCAPE_URI = table([0xffffffff, 0xd000002d, 0x50000000, 0xb8000001, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]);

/** NGX_ESCAPE_ARGS (nginx >= 1.21.1): as NGX_ESCAPE_URI plus '&', '+', ';' ('=' stays). */
const ESCAPE_ARGS = table([0xffffffff, 0xd800086d, 0x50000000, 0xb8000001, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]);

const HEX = '0123456789ABCDEF';

const SLASH = 0x2f, DOT = 0x2e, PERCENT = 0x25, QUESTION = 0x3f, HASH = 0x23, PLUS = 0x2b;

// ---------------------------------------------------------------------------------------------
// Parsing

export interface ParsedTargetOk {
  readonly ok: true;
  /** nginx $uri: decoded and normalised (binary string). Always starts with '/'. */
  readonly uri: string;
  /** nginx $args: raw, not decoded (binary string); '' when absent. */
  readonly args: string;
  /**
   * nginx $request_uri (r->unparsed_uri): the target as sent, fragment included; for an
   * absolute-form target ("http://host/p?q") the part from the path on, "/" if it had none.
   */
  readonly requestUri: string;
  /** r->quoted_uri: the path (before a raw '?' or '#') held a '%' escape. Drives proxy escaping. */
  readonly quoted: boolean;
  /** r->complex_uri (or quoted, or empty path): nginx rewrote the path rather than using it as sent. */
  readonly complex: boolean;
  /** r->plus_in_uri: a '+' (raw or decoded) in the path. */
  readonly plusInUri: boolean;
  /** The host of an absolute-form target (port included, as sent), else null. */
  readonly host: string | null;
}

export interface ParsedTargetBad {
  readonly ok: false;
  /** nginx answers 400 Bad Request (and closes the connection). */
  readonly status: 400;
}

export type ParsedTarget = ParsedTargetOk | ParsedTargetBad;

export interface ParseOptions {
  /** nginx `merge_slashes` (default on). */
  mergeSlashes?: boolean;
}

const BAD: ParsedTargetBad = Object.freeze({ ok: false, status: 400 });

/** The bytes of `input` as a binary string (see the file header). */
export function toBinaryString(input: string | Uint8Array): string {
  if (typeof input !== 'string') return Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('latin1');
  for (let i = 0; i < input.length; i++) {
    if (input.charCodeAt(i) > 0xff) return Buffer.from(input, 'utf8').toString('latin1');
  }
  return input;
}

/**
 * What nginx makes of a request target (the middle of "GET <target> HTTP/1.1"): $uri, $args,
 * $request_uri, or 400. Request-line length limits (large_client_header_buffers → 414) are
 * configuration and not checked here.
 */
export function parseRequestTarget(rawTarget: string | Uint8Array, opts?: ParseOptions): ParsedTarget {
  // Strings are checked for chars above 0xFF during the scan below, not in a separate pass.
  const s = typeof rawTarget === 'string' ? rawTarget : toBinaryString(rawTarget);
  const end = s.length;
  if (end === 0) return BAD;

  let uriStart = 0;
  let host: string | null = null;
  let emptyPath = false;
  let argsStart = -1; // index just after the '?' that starts the args, as the request-line parser saw it
  let complex = false;
  let quoted = false;
  let plus = false;

  const c0 = s.charCodeAt(0);
  // State of the request-line parser's URI part: 0 sw_after_slash_in_uri, 1 sw_check_uri, 2 sw_uri.
  let state = 0;
  let p = 1;

  if (c0 !== SLASH) {
    // absolute-form: scheme "://" host [":" port] then '/', '?' or the end (sw_schema … sw_port).
    const r = parseAbsolute(s);
    if (r === null) return BAD;
    host = r.host;
    if (r.pathStart === end) {
      // No path at all: nginx uses the "/" of "://" as the URI.
      return { ok: true, uri: '/', args: '', requestUri: '/', quoted: false, complex: false, plusInUri: false, host };
    }
    uriStart = r.pathStart;
    p = uriStart + 1;
    if (s.charCodeAt(uriStart) === QUESTION) {
      emptyPath = true;
      argsStart = uriStart + 1;
      state = 2;
    }
  }

  // ngx_http_parse_request_line, from the first '/': note what needs the slow path, reject
  // controls, space and DEL anywhere (nginx >= 1.21.1 answers 400 for them).
  for (; p < end; p++) {
    const ch = s.charCodeAt(p);
    if (state === 2) {
      if (USUAL[ch]) continue;
      if (ch === HASH) complex = true;
      else if (ch <= 0x20 || ch === 0x7f) return BAD;
      else if (ch > 0xff) return parseRequestTarget(Buffer.from(s, 'utf8'), opts);
      continue;
    }
    if (USUAL[ch]) {
      state = 1;
      continue;
    }
    switch (ch) {
      case DOT:
        if (state === 0) {
          complex = true;
          state = 2;
        }
        break;
      case PERCENT:
        quoted = true;
        state = 2;
        break;
      case SLASH:
        if (state === 0) {
          complex = true;
          state = 2;
        } else {
          state = 0;
        }
        break;
      case QUESTION:
        argsStart = p + 1;
        state = 2;
        break;
      case HASH:
        complex = true;
        state = 2;
        break;
      case PLUS:
        plus = true;
        break;
      default:
        if (ch <= 0x20 || ch === 0x7f) return BAD;
        if (ch > 0xff) return parseRequestTarget(Buffer.from(s, 'utf8'), opts); // not a binary string
        state = 1;
    }
  }

  const requestUri = uriStart === 0 ? s : s.slice(uriStart);

  if (!complex && !quoted && !emptyPath) {
    // Fast path: the path is used as sent.
    if (argsStart < 0) {
      return { ok: true, uri: requestUri, args: '', requestUri, quoted, complex, plusInUri: plus, host };
    }
    return {
      ok: true, uri: s.slice(uriStart, argsStart - 1), args: s.slice(argsStart), requestUri,
      quoted, complex, plusInUri: plus, host,
    };
  }

  return parseComplexUri(s, uriStart, emptyPath, opts?.mergeSlashes !== false, requestUri, quoted, plus, host);
}

let scratch = Buffer.allocUnsafe(4096);

const enum C { Usual, Slash, Dot, DotDot, Quoted, QuotedSecond }

/**
 * ngx_http_parse_complex_uri: percent-decode and normalise the path. A decoded byte is fed back
 * through the state it was decoded in, so "%2e%2e" and "%2f" act like ".." and "/", except that
 * decoded '%' and '#' (%25, %23) and '?' (%3f) are kept literally; "%00" and bad or truncated
 * escapes are 400, as is ".." above the root. A raw '?' ends the path (args), a raw '#' ends it
 * and is dropped with what follows it.
 */
function parseComplexUri(
  s: string, uriStart: number, emptyPath: boolean, mergeSlashes: boolean,
  requestUri: string, quotedIn: boolean, plusIn: boolean, host: string | null,
): ParsedTarget {
  const end = s.length;
  if (scratch.length < end + 2) scratch = Buffer.allocUnsafe(Math.max(end + 2, scratch.length * 2));
  const u8 = scratch;
  let quoted = quotedIn;
  let plus = plusIn;
  let u = 0;
  if (emptyPath) u8[u++] = SLASH;

  let state = C.Usual;
  let quotedState = C.Usual;
  let decoded = 0;
  let argsFrom = -1;
  let argsTo = end;
  let p = uriStart;
  // nginx reads one byte past the URI (the space before "HTTP/1.1"); so do we.
  const at = (i: number) => (i < end ? s.charCodeAt(i) : 0x20);
  let ch = at(p++);

  scan: while (p <= end) {
    switch (state) {
      case C.Usual:
        if (USUAL[ch]) {
          u8[u++] = ch;
          ch = at(p++);
          break;
        }
        switch (ch) {
          case SLASH: state = C.Slash; u8[u++] = ch; break;
          case PERCENT: quotedState = state; state = C.Quoted; break;
          case QUESTION: argsFrom = p; break scan;
          case HASH: return finish();
          case PLUS: plus = true; u8[u++] = ch; break;
          default: u8[u++] = ch;
        }
        ch = at(p++);
        break;

      case C.Slash:
        if (USUAL[ch]) {
          state = C.Usual;
          u8[u++] = ch;
          ch = at(p++);
          break;
        }
        switch (ch) {
          case SLASH: if (!mergeSlashes) u8[u++] = ch; break;
          case DOT: state = C.Dot; u8[u++] = ch; break;
          case PERCENT: quotedState = state; state = C.Quoted; break;
          case QUESTION: argsFrom = p; break scan;
          case HASH: return finish();
          case PLUS: plus = true; state = C.Usual; u8[u++] = ch; break;
          default: state = C.Usual; u8[u++] = ch;
        }
        ch = at(p++);
        break;

      case C.Dot:
        if (USUAL[ch]) {
          state = C.Usual;
          u8[u++] = ch;
          ch = at(p++);
          break;
        }
        switch (ch) {
          case SLASH: state = C.Slash; u--; break; // "/./" → "/"
          case DOT: state = C.DotDot; u8[u++] = ch; break;
          case PERCENT: quotedState = state; state = C.Quoted; break;
          case QUESTION: u--; argsFrom = p; break scan;
          case HASH: u--; return finish();
          case PLUS: plus = true; state = C.Usual; u8[u++] = ch; break;
          default: state = C.Usual; u8[u++] = ch;
        }
        ch = at(p++);
        break;

      case C.DotDot:
        if (USUAL[ch]) {
          state = C.Usual;
          u8[u++] = ch;
          ch = at(p++);
          break;
        }
        switch (ch) {
          case SLASH:
          case QUESTION:
          case HASH:
            // Drop "/.." and the segment before it; above the root is 400.
            u = climb(u8, u);
            if (u < 0) return BAD;
            if (ch === QUESTION) { argsFrom = p; break scan; }
            if (ch === HASH) return finish();
            state = C.Slash;
            break;
          case PERCENT: quotedState = state; state = C.Quoted; break;
          case PLUS: plus = true; state = C.Usual; u8[u++] = ch; break;
          default: state = C.Usual; u8[u++] = ch;
        }
        ch = at(p++);
        break;

      case C.Quoted: {
        quoted = true;
        const v = hexValue(ch);
        if (v < 0) return BAD;
        decoded = v;
        state = C.QuotedSecond;
        ch = at(p++);
        break;
      }

      case C.QuotedSecond:
        if (ch >= 0x30 && ch <= 0x39) {
          ch = (decoded << 4) + (ch - 0x30);
          if (ch === PERCENT || ch === HASH) {
            // "%25", "%23": kept as a literal '%' / '#', never re-interpreted.
            state = C.Usual;
            u8[u++] = ch;
            ch = at(p++);
            break;
          } else if (ch === 0) {
            return BAD;
          }
          state = quotedState; // re-run the decoded byte through the state it interrupted
          break;
        }
        {
          const c = ch | 0x20;
          if (c >= 0x61 && c <= 0x66) {
            ch = (decoded << 4) + (c - 0x61) + 10;
            if (ch === QUESTION) {
              // "%3f" is a literal '?' in $uri, not the start of args.
              state = C.Usual;
              u8[u++] = ch;
              ch = at(p++);
              break;
            } else if (ch === PLUS) {
              plus = true;
            }
            state = quotedState;
            break;
          }
        }
        return BAD;
    }
  }

  if (argsFrom < 0) {
    // Ran off the end of the target.
    if (state === C.Quoted || state === C.QuotedSecond) return BAD; // "%", "%4"
    if (state === C.Dot) {
      u--; // trailing "/." → "/"
    } else if (state === C.DotDot) {
      u = climb(u8, u); // trailing "/.." → parent
      if (u < 0) return BAD;
    }
    return finish();
  }

  // Args run to the first '#', if any.
  const hash = s.indexOf('#', argsFrom);
  if (hash >= 0) argsTo = hash;
  return finish();

  function finish(): ParsedTargetOk {
    return {
      ok: true,
      uri: u8.toString('latin1', 0, u),
      args: argsFrom < 0 ? '' : s.slice(argsFrom, argsTo),
      requestUri, quoted, complex: true, plusInUri: plus, host,
    };
  }
}

/** The `u -= 4; scan back to the previous '/'` step for "/..": new length, or -1 above the root. */
function climb(u8: Uint8Array, u: number): number {
  for (let i = u - 4; i >= 0; i--) {
    if (u8[i] === SLASH) return i + 1;
  }
  return -1;
}

function hexValue(ch: number): number {
  if (ch >= 0x30 && ch <= 0x39) return ch - 0x30;
  const c = ch | 0x20;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}

interface Absolute { host: string; pathStart: number }

/**
 * ngx_http_parse_request_line's absolute-form states (scheme, "//", host or [literal], port),
 * then ngx_http_validate_host on the host. Returns where the path ('/' or '?') starts (the end
 * of the string when there is none), or null for 400.
 */
function parseAbsolute(s: string): Absolute | null {
  const end = s.length;
  let p = 0;
  // sw_schema: a letter, then letters, digits, '+', '-', '.' up to ':'.
  const c0 = s.charCodeAt(0) | 0x20;
  if (c0 < 0x61 || c0 > 0x7a) return null;
  for (p = 1; p < end; p++) {
    const ch = s.charCodeAt(p);
    const c = ch | 0x20;
    if ((c >= 0x61 && c <= 0x7a) || (ch >= 0x30 && ch <= 0x39) || ch === 0x2b || ch === 0x2d || ch === 0x2e) continue;
    if (ch === 0x3a) break;
    return null;
  }
  if (p >= end || s.charCodeAt(p + 1) !== SLASH || s.charCodeAt(p + 2) !== SLASH) return null;
  p += 3;
  const hostStart = p;
  if (p < end && s.charCodeAt(p) === 0x5b /* [ */) {
    // sw_host_ip_literal: unreserved, sub-delims and ':' up to ']'.
    for (p++; ; p++) {
      if (p >= end) return null;
      const ch = s.charCodeAt(p);
      if (ch === 0x5d /* ] */) { p++; break; }
      const c = ch | 0x20;
      if ((ch >= 0x30 && ch <= 0x39) || (c >= 0x61 && c <= 0x7a)) continue;
      if (':-._~!$&\'()*+,;='.indexOf(s[p]) >= 0) continue;
      return null;
    }
  } else {
    // sw_host: letters, digits, '.', '-'.
    for (; p < end; p++) {
      const ch = s.charCodeAt(p);
      const c = ch | 0x20;
      if ((c >= 0x61 && c <= 0x7a) || (ch >= 0x30 && ch <= 0x39) || ch === 0x2e || ch === 0x2d) continue;
      break;
    }
  }
  // sw_host_end / sw_port
  if (p < end && s.charCodeAt(p) === 0x3a /* : */) {
    for (p++; p < end; p++) {
      const ch = s.charCodeAt(p);
      if (ch < 0x30 || ch > 0x39) break;
    }
  }
  if (p < end) {
    const ch = s.charCodeAt(p);
    if (ch !== SLASH && ch !== QUESTION) return null;
  }
  const host = s.slice(hostStart, p);
  if (validateHost(host) === null) return null;
  return { host, pathStart: p };
}

/**
 * ngx_http_validate_host: the host lower-cased (ASCII only), its port and a trailing dot removed; null where
 * nginx answers 400 (empty, "..", "/", NUL or a control character). The one port of it: the
 * absolute-form request target and the Host header (proxy-headers.ts) are both checked here.
 */
export function validateHost(h: string): string | null {
  let dotPos = -2; // nginx starts at host->len; only "previous char was a dot" matters
  let hostLen = h.length;
  let literal = false;
  let rest = false;
  for (let i = 0; i < h.length; i++) {
    const ch = h.charCodeAt(i);
    if (ch === DOT) {
      if (dotPos === i - 1) return null;
      dotPos = i;
    } else if (ch === 0x3a) {
      if (!literal && !rest) { hostLen = i; rest = true; }
    } else if (ch === 0x5b) {
      if (i === 0) literal = true;
    } else if (ch === 0x5d) {
      if (literal && !rest) { hostLen = i + 1; rest = true; literal = false; }
    } else if (ch === SLASH || ch <= 0x20 || ch === 0x7f) {
      return null;
    }
  }
  if (dotPos === hostLen - 1) hostLen--;
  return hostLen > 0 ? asciiLower(h.slice(0, hostLen)) : null;
}

/**
 * ngx_strlow: A-Z only. A binary string's toLowerCase() would also lower Latin-1 capitals
 * (the 0xC9 of UTF-8 "É" becoming 0xE9), changing the bytes sent upstream.
 */
export function asciiLower(s: string): string {
  return /[A-Z]/.test(s) ? s.replace(/[A-Z]+/g, (m) => m.toLowerCase()) : s;
}

// ---------------------------------------------------------------------------------------------
// Escaping

function escapeWith(t: Uint8Array, s: string): string {
  let i = 0;
  const n = s.length;
  while (i < n && !t[s.charCodeAt(i) & 0xff]) i++;
  if (i === n) return s;
  let out = s.slice(0, i);
  let from = i;
  for (; i < n; i++) {
    const c = s.charCodeAt(i) & 0xff;
    if (!t[c]) continue;
    if (from < i) out += s.slice(from, i);
    out += '%' + HEX[c >> 4] + HEX[c & 15];
    from = i + 1;
  }
  return from < n ? out + s.slice(from) : out;
}

/**
 * ngx_escape_uri(…, NGX_ESCAPE_URI) on a binary string: what proxy_pass puts on the wire for a
 * decoded $uri it has to re-encode. Uppercase hex. Escapes controls, space, '"', '#', '%', '<',
 * '>', '?', '\', '^', '`', '{', '|', '}', DEL and bytes >= 0x80; keeps '/', ';', '+', '&', '=' etc.
 */
export function escapeUri(binary: string): string {
  return escapeWith(ESCAPE_URI, binary);
}

/** ngx_escape_uri(…, NGX_ESCAPE_ARGS): as escapeUri plus '&', '+', ';'. Used by `rewrite` for captures put into args. */
export function escapeArgs(binary: string): string {
  return escapeWith(ESCAPE_ARGS, binary);
}

// ---------------------------------------------------------------------------------------------
// What proxy_pass sends upstream

/** The request state ngx_http_proxy_create_request reads. */
export interface ProxyRequestState {
  /** $uri now (binary string): as parsed, or as a `rewrite` left it. */
  readonly uri: string;
  /** $args now (binary string). */
  readonly args: string;
  /** $request_uri: the target as received (parseRequestTarget's requestUri). */
  readonly requestUri: string;
  /** r->quoted_uri, from parsing the original target. */
  readonly quoted: boolean;
  /**
   * How `rewrite` changed $uri before proxy_pass ran: 'none'; 'last' (or a `rewrite` without a
   * flag, i.e. the location was searched again for the new URI); 'break' (rewrite … break in the
   * proxying location itself). Any rewrite of the URI sets r->internal and clears
   * r->valid_unparsed_uri; 'break' also clears r->valid_location.
   */
  readonly rewrite?: 'none' | 'last' | 'break';
}

export interface ProxyPassForm {
  /**
   * The URI part of `proxy_pass` ("/function/x/" in `proxy_pass http://up/function/x/;`), or
   * null when it has none (`proxy_pass http://up;`). With `variables`, the URI part of the
   * evaluated URL (null if it had none).
   */
  readonly uriPart: string | null;
  /** The prefix location's name (`location /p/` → "/p/"), needed with a static URI part. */
  readonly location?: string;
  /** proxy_pass contains variables (`proxy_pass http://$up;`). */
  readonly variables?: boolean;
}

/**
 * The request target ngx_http_proxy_create_request writes upstream (main request):
 *
 * - variables with a URI part in the evaluated URL: that URI part verbatim (no $args added);
 * - no URI part and $uri never rewritten: $request_uri, byte for byte as the client sent it
 *   (but "/?args" for an absolute-form target without a path);
 * - a static URI part, no rewrite: the URI part, then $uri minus the first
 *   `location.length` bytes (nginx replaces that many bytes, it does not re-match), escaped with
 *   escapeUri only if the client's path held a '%' escape (r->quoted_uri), else sent decoded and
 *   normalised as it is; then "?" $args if any;
 * - after `rewrite … break;` (r->valid_location = 0) the URI part is ignored: escapeUri($uri),
 *   then "?" $args; same for no URI part after any rewrite (escaped since r->internal is set);
 * - after `rewrite … last;` landing in a location with a URI part: as a static URI part, but the
 *   remainder is always escaped (r->internal).
 */
export function proxyUpstreamTarget(req: ProxyRequestState, pass: ProxyPassForm): string {
  const rewrite = req.rewrite ?? 'none';
  const uriPart = pass.uriPart ?? '';
  if (pass.variables && uriPart) return uriPart;
  // r->valid_unparsed_uri: false only for an absolute-form target with a query but no path
  // ("http://h?x=1", $request_uri "?x=1"), whose path nginx made up: "/" goes up, plus the args.
  if (!uriPart && rewrite === 'none' && req.requestUri.charCodeAt(0) !== QUESTION) return req.requestUri;
  const validLocation = rewrite !== 'break';
  let locLen = 0;
  if (validLocation && uriPart) {
    if (pass.location === undefined) throw new Error('proxyUpstreamTarget: a static URI part needs the location name');
    locLen = pass.location.length;
  }
  const rest = locLen ? req.uri.slice(locLen) : req.uri;
  const escape = req.quoted || rewrite !== 'none';
  let out = (validLocation ? uriPart : '') + (escape ? escapeUri(rest) : rest);
  if (req.args.length > 0) out += '?' + req.args;
  return out;
}

/** `proxy_pass http://up;` (no URI part): the request target sent upstream for a request as parsed. */
export function proxiedAsReceived(parsed: ParsedTargetOk): string {
  return proxyUpstreamTarget(parsed, { uriPart: null });
}

/**
 * `location /p/ { proxy_pass http://up/some/prefix/; }` for a request parsed by
 * parseRequestTarget whose $uri starts with the location name: see proxyUpstreamTarget.
 */
export function upstreamUriForPrefix(parsed: ParsedTargetOk, location: string, uriPart: string): string {
  return proxyUpstreamTarget(parsed, { uriPart, location });
}

/**
 * After `rewrite … break;` set $uri to `newUri` (and $args to `args`), any proxy_pass without a
 * URI part, static or `http://$var`, and even one with a URI part, sends escapeUri(newUri) + "?"
 * args.
 */
export function upstreamUriAfterRewriteBreak(newUri: string, args: string): string {
  return escapeUri(newUri) + (args.length > 0 ? '?' + args : '');
}
