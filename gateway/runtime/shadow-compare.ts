// Two answers to the same request, compared as a person reviewing a migration would: the status,
// the headers that carry meaning, JSON bodies structurally (key order ignored) and other bodies by
// length and sha256, once decoded (shadow-decode.ts). Each difference has a path: `status`,
// `header:NAME`, `$.a.b[2].c` or `body`.
import { sha256 } from '../util/sha256';

/** One side's answer, as much of it as a comparison needs. */
export interface CapturedAnswer {
  readonly status: number;
  /** Lower-case names; values as received. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** As the side sent it, or decoded of its Content-Encoding (shadow-decode.ts). */
  readonly body: Buffer;
  /** Why the body is still encoded: a coding with no decoder, or one that did not decode. */
  readonly undecoded?: string;
}

export interface Difference {
  readonly path: string;
  /** The two values (undefined: absent on that side). */
  readonly legacy: unknown;
  readonly function: unknown;
}

/** Headers compared by value; Set-Cookie by the names of the cookies only (values are secrets or differ per answer). */
const COMPARED_HEADERS = ['content-type', 'location', 'cache-control'] as const;
/**
 * Read, not compared: the body is compared decoded. Which coding a side chose for a client that
 * accepts several is transport, as Transfer-Encoding is.
 */
const READ_HEADERS = [...COMPARED_HEADERS, 'content-encoding'] as const;
/**
 * The headers a comparison reads, taken from an answer as it starts: a capture holds no more
 * while its copy runs.
 */
export function comparedHeaders(h: Readonly<Record<string, string | string[] | undefined>>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name of READ_HEADERS) {
    const v = h[name];
    if (v !== undefined) out[name] = v;
  }
  const cookies = h['set-cookie'];
  if (cookies !== undefined) out['set-cookie'] = cookies;
  return out;
}

/** An example value is cut to this many characters of its JSON. */
export const MAX_EXAMPLE_CHARS = 200;
const REDACTED_HEADERS = new Set(['header:authorization', 'header:cookie', 'header:proxy-authorization']);

/** A value as an example: its JSON cut to MAX_EXAMPLE_CHARS (absent is null). Set-Cookie's are cookie names already. */
export function exampleValue(path: string, v: unknown): unknown {
  if (v === undefined) return null;
  if (REDACTED_HEADERS.has(path)) return '[redacted]';
  const text = JSON.stringify(v);
  if (text.length <= MAX_EXAMPLE_CHARS) return v;
  return `${text.slice(0, MAX_EXAMPLE_CHARS)}… (${text.length} characters)`;
}

/** Differences with their values made examples: what a comparison thread sends back, never a whole body. */
export function exampleDifferences(differences: readonly Difference[]): Difference[] {
  return differences.map((d) => ({ path: d.path, legacy: exampleValue(d.path, d.legacy), function: exampleValue(d.path, d.function) }));
}

/** A JSON body reports at most this many differences: one wrong array can otherwise list thousands. */
const MAX_DIFFERENCES = 100;

/** Keeps the differences whose path no ignore rule (or learned noise) covers. */
export type PathFilter = (path: string) => boolean;

export function compareAnswers(legacy: CapturedAnswer, fn: CapturedAnswer): Difference[] {
  const out: Difference[] = [];
  if (legacy.status !== fn.status) out.push({ path: 'status', legacy: legacy.status, function: fn.status });
  for (const name of COMPARED_HEADERS) {
    const a = headerText(legacy.headers[name]);
    const b = headerText(fn.headers[name]);
    if (a !== b) out.push({ path: `header:${name}`, legacy: a, function: b });
  }
  const ca = cookieNames(legacy.headers['set-cookie']);
  const cb = cookieNames(fn.headers['set-cookie']);
  if (ca !== cb) out.push({ path: 'header:set-cookie', legacy: ca, function: cb });
  // The same bytes are the same body, JSON or not: most answers of a faithful migration end here.
  if (!legacy.body.equals(fn.body)) compareBodies(legacy, fn, out);
  return out.length > MAX_DIFFERENCES ? out.slice(0, MAX_DIFFERENCES) : out;
}

function compareBodies(legacy: CapturedAnswer, fn: CapturedAnswer, out: Difference[]): void {
  const ja = jsonBody(legacy);
  const jb = jsonBody(fn);
  if (ja !== NOT_JSON && jb !== NOT_JSON) diffJson(ja, jb, '$', out);
  else out.push({ path: 'body', legacy: bodySummary(legacy), function: bodySummary(fn) });
}

function headerText(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}

/**
 * The names of the cookies set, sorted: "session, theme". Values are never kept. A cookie without
 * `=` has no name and all of it is its value (RFC 6265 §5.2), so it is shown as "(no name)".
 */
function cookieNames(v: string | string[] | undefined): string | undefined {
  if (v === undefined) return undefined;
  return (Array.isArray(v) ? v : [v]).map(cookieName).sort().join(', ');
}

function cookieName(setCookie: string): string {
  const pair = setCookie.split(';', 1)[0];
  const eq = pair.indexOf('=');
  return eq < 0 ? '(no name)' : pair.slice(0, eq).trim();
}

const NOT_JSON = Symbol('not json');

function jsonBody(a: CapturedAnswer): unknown {
  const type = headerText(a.headers['content-type']) ?? '';
  if (!/[/+]json\b/i.test(type) || a.body.length === 0 || a.undecoded !== undefined) return NOT_JSON;
  try {
    return parseJson(a.body.toString('utf8'));
  } catch {
    return NOT_JSON;
  }
}

function bodySummary(a: CapturedAnswer): string {
  const summary = `${a.body.length} bytes, sha256 ${sha256(a.body)}`;
  return a.undecoded === undefined ? summary : `${summary}, still encoded (${a.undecoded})`;
}

/** `$.name` for identifier-like keys, `$["odd key"]` otherwise. */
export function childPath(path: string, key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/**
 * Integers past 2^53 are kept as their text behind a NUL: JSON.parse rounds them
 * (9007199254740993 reads as …992), and a function that loses the last digits of an int64 id is
 * just the difference a shadow is there to find. Only when the text has a run of 16 digits.
 */
function parseJson(text: string): unknown {
  if (!/\d{16}/.test(text)) return JSON.parse(text);
  return JSON.parse(text.replace(/"(?:[^"\\]|\\.)*"|(?<![\d.eE+])-?\d{16,}(?![\d.eE])/g, (m) => (m[0] === '"' || Number.isSafeInteger(Number(m)) ? m : `"\\u0000${m}"`)));
}

/** A big integer parseJson kept as text. */
function isBig(v: unknown): v is string {
  return typeof v === 'string' && v.charCodeAt(0) === 0;
}

function kind(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : isBig(v) ? 'number' : typeof v;
}

/** A big integer is shown as its digits. */
function push(out: Difference[], path: string, a: unknown, b: unknown): void {
  out.push({ path, legacy: isBig(a) ? a.slice(1) : a, function: isBig(b) ? b.slice(1) : b });
}

function diffJson(a: unknown, b: unknown, path: string, out: Difference[]): void {
  if (out.length > MAX_DIFFERENCES) return;
  const ka = kind(a);
  if (ka !== kind(b)) return push(out, path, a, b);
  if (ka === 'array') {
    const xa = a as unknown[];
    const xb = b as unknown[];
    const n = Math.max(xa.length, xb.length);
    for (let i = 0; i < n; i++) {
      const p = `${path}[${i}]`;
      if (i >= xa.length || i >= xb.length) push(out, p, xa[i], xb[i]);
      else diffJson(xa[i], xb[i], p, out);
    }
    return;
  }
  if (ka === 'object') {
    const oa = a as Record<string, unknown>;
    const ob = b as Record<string, unknown>;
    for (const key of new Set([...Object.keys(oa), ...Object.keys(ob)])) {
      const p = childPath(path, key);
      if (!Object.hasOwn(oa, key) || !Object.hasOwn(ob, key)) push(out, p, oa[key], ob[key]);
      else diffJson(oa[key], ob[key], p, out);
    }
    return;
  }
  if (a !== b) push(out, path, a, b);
}

/**
 * An ignore rule as a test on difference paths: `[*]` is any index, `.*` any key, and a rule
 * covers the paths below it too (`$.meta` ignores `$.meta.generated_at`). A key is written `.key`
 * or `["key"]` and means the path childPath writes for it (`$.1abc` is `$["1abc"]`), so any path
 * `strangler diff` shows can be copied into a rule. `header:NAME` is exact.
 */
export function ignoreMatcher(rules: readonly string[]): PathFilter {
  const headers = new Set(rules.filter((r) => r.startsWith('header:')));
  const json = rules.filter((r) => r.startsWith('$'));
  if (json.length === 0) return (path) => headers.has(path);
  const re = new RegExp(`^(?:${json.map(rulePattern).join('|')})(?=$|[.[])`);
  return (path) => headers.has(path) || re.test(path);
}

/** One rule's segments (the schema allow-lists them: `.key`, `.*`, `[N]`, `[*]`, `["key"]`) as a regular expression. */
function rulePattern(rule: string): string {
  let out = '\\$';
  for (const [, dotted, index, quoted] of rule.slice(1).matchAll(/\.([^.[]+)|\[(\d+|\*)\]|\[("[^"\\]*")\]/g)) {
    if (dotted === '*') out += ANY_KEY;
    else if (index === '*') out += '\\[\\d+\\]';
    else if (index !== undefined) out += `\\[${index}\\]`;
    else out += escapeRegExp(childPath('', dotted ?? (JSON.parse(quoted) as string)));
  }
  return out;
}

/** A key as childPath writes it, either form. */
const ANY_KEY = '(?:\\.[^.[]+|\\["(?:[^"\\\\]|\\\\.)*"\\])';

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
