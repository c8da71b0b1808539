// Manifest text -> diagnostics and, when there are no errors, the frozen RouteTable.
import { readFileSync } from 'node:fs';
import { fileDiagnostic, formatPath, ManifestInvalidError, type ManifestDiagnostic, type PathSegment } from './errors';
import { matchOf } from './location-plan';
import { parseManifestYaml, type Locator, type ParsedYaml } from './parse-yaml';
import { parseManifestYamlFast } from './parse-yaml-fast';
import {
  DEFAULT_ROUTE_ID, deepFreeze, SHADOW_SAFE_METHODS,
  type Body, type Buffers, type Canary, type Duration, type HostPort, type Listen, type Rollout, type Route, type RouteTable, type Shadow,
  type Size, type StickyKey, type Target, type Timeouts, type Tls, type TlsFiles, type TrustedProxy, type Upstream,
} from './route-table';
import { checkEdge, serverNameText } from './edge-checks';
import { isCidr, LOOPBACK_CIDRS, parseCidr } from './cidr';
import { checkSchema } from './schema';
import { checkRollouts } from './rollout-checks';
import { checkShadows } from './shadow-checks';
import { checkAcmeWebroot, checkCertificatePair, type CertificateFacts } from './tls-files';
import {
  checkAddresses, checkBuffers, checkStateTarget, checkTrustedProxies, checkCanaries, checkIds, checkMatches, checkTargets, checkUnits, type Report,
} from './semantic-checks';
import { parseAge, parseDuration, parseHostPort, parseSize } from './units';
import { sha256 } from '../util/sha256';
import { pcreRegExp } from './pcre-to-js';

type Obj = Record<string, unknown>;

export const BUILTIN_DEFAULTS = Object.freeze({
  timeouts: { connect: '5s', send: '60s', read: '60s', client_body_timeout: '60s', send_timeout: '60s' },
  buffers: { size: '128k', count: 4, each: '256k', busy: '256k' },
  body: { max_size: '50m', buffer: '128k', buffering: true },
  keepalive: 64,
  gateway: { listen: '127.0.0.1:8090', admin: '127.0.0.1:8091' },
  shadow: { percent: 100, max_in_flight: 64, max_body: '1m', timeout: '10s' },
  rollout: { interval: '5m', min_requests: 100, max_error_rate: 1 },
});

export interface CompileResult {
  table: RouteTable | null;
  diagnostics: ManifestDiagnostic[];
}

export interface CompileOptions {
  /**
   * Read the files tls and gateway.tls name (exist, readable, key matches certificate; OCSP
   * stapling when the certificate names a responder). Default true; false compiles a manifest
   * for another machine, without stapling.
   */
  checkFiles?: boolean;
}

export function compileManifest(text: string, file = 'routes.yaml', opts: CompileOptions = {}): CompileResult {
  // A manifest with nothing to report is read the fast way. Anything to report (or a document the
  // fast reader declines) goes through the exact path, whose positions and errors diagnostics quote.
  const fast = parseManifestYamlFast(text);
  if (fast) {
    const result = compileParsed(text, file, opts, { data: fast.data, locate: NO_POSITIONS, diagnostics: [] });
    if (result.diagnostics.length === 0) return result;
  }
  return compileManifestExact(text, file, opts);
}

/** The exact path alone, the yaml package reading the file: what compileManifest gives whenever there is something to report. */
export function compileManifestExact(text: string, file = 'routes.yaml', opts: CompileOptions = {}): CompileResult {
  return compileParsed(text, file, opts, parseManifestYaml(text, file));
}

/** Positions are only looked up on the exact path; a fast-path diagnostic is never shown. */
const NO_POSITIONS: Locator = () => ({});

function compileParsed(text: string, file: string, opts: CompileOptions, parsed: ParsedYaml): CompileResult {
  if (parsed.diagnostics.length) return { table: null, diagnostics: parsed.diagnostics };

  const diagnostics: ManifestDiagnostic[] = [];
  const report: Report = (code, path, message, severity = 'error') => {
    diagnostics.push({ code, severity, path: formatPath(path), message, file, ...parsed.locate(path) });
  };
  diagnostics.push(...checkSchema(parsed.data, file, parsed.locate));
  const m = parsed.data;
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return { table: null, diagnostics };

  const manifest = m as Obj;
  for (const check of [checkAddresses, checkUnits, checkIds, checkMatches, checkTargets, checkCanaries, checkShadows, checkRollouts, checkEdge, checkTrustedProxies, checkStateTarget]) check(manifest, report);
  let certificate: CertificateFacts | null = null;
  if (opts.checkFiles !== false) {
    // Only paths the checks above accepted are opened.
    const clean = (path: string) => !diagnostics.some((x) => x.severity === 'error' && x.path.startsWith(path));
    if (clean('tls.certificate')) certificate = checkCertificatePair(manifest, ['tls'], report);
    if (clean('gateway.tls.certificate')) checkCertificatePair(manifest, ['gateway', 'tls'], report);
    if (clean('tls.acme_webroot')) checkAcmeWebroot(manifest, report);
  }
  checkBuffers(manifest, report, (r) => {
    const b = { ...BUILTIN_DEFAULTS.buffers, ...objAt(manifest, 'defaults', 'buffers'), ...(r ? objAt(r, 'buffers') : {}) };
    return { size: parseSize(String(b.size)) ?? NaN, count: Number(b.count), each: parseSize(String(b.each)) ?? NaN, busy: parseSize(String(b.busy)) ?? NaN };
  });

  if (diagnostics.some((d) => d.severity === 'error')) return { table: null, diagnostics: sortDiagnostics(diagnostics) };

  const table = buildRouteTable(manifest, text, certificate);
  warnUnreachable(table, report);
  return { table, diagnostics: sortDiagnostics(diagnostics) };
}

/** Reads and compiles a manifest file; throws ManifestInvalidError carrying every error. */
export function loadManifest(file: string, opts: CompileOptions = {}): { table: RouteTable; diagnostics: ManifestDiagnostic[]; text: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ManifestInvalidError([fileDiagnostic(file, err as Error)]);
  }
  const { table, diagnostics } = compileManifest(text, file, opts);
  if (!table) throw new ManifestInvalidError(diagnostics);
  return { table, diagnostics, text };
}

export { sha256 };

function sortDiagnostics(ds: ManifestDiagnostic[]): ManifestDiagnostic[] {
  return ds.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}

function objAt(o: Obj, ...keys: string[]): Obj {
  let cur: unknown = o;
  for (const k of keys) cur = (cur as Obj | undefined)?.[k];
  return typeof cur === 'object' && cur !== null ? (cur as Obj) : {};
}

function hostPort(text: string): HostPort {
  const hp = parseHostPort(text)!;
  return { host: hp.host, port: hp.port, text };
}

/** A route without `canary`: all of it to `to`. */
const NO_CANARY: Canary = deepFreeze({ percent: 100, sticky: { kind: 'random' }, salt: '', rollout: null });

function timeouts(t: Obj): Timeouts {
  const d = (s: unknown) => ({ text: String(s), ms: parseDuration(String(s))! });
  return { connect: d(t.connect), send: d(t.send), read: d(t.read), client_body_timeout: d(t.client_body_timeout), send_timeout: d(t.send_timeout) };
}
const size = (v: unknown): Size => ({ text: String(v), bytes: parseSize(String(v))! });
function buffers(b: Obj): Buffers {
  return { size: size(b.size), count: Number(b.count), each: size(b.each), busy: size(b.busy) };
}
function body(b: Obj): Body {
  return { max_size: size(b.max_size), buffer: size(b.buffer), buffering: b.buffering !== false };
}

function target(to: string): Target {
  if (to === 'legacy') return { kind: 'legacy', text: 'legacy' };
  const [kind, name] = to.split(':') as ['function' | 'async' | 'upstream', string];
  return { kind, name, text: to };
}

function sticky(text: unknown): StickyKey {
  if (typeof text !== 'string') return { kind: 'random' };
  if (text === 'ip') return { kind: 'ip' };
  const [kind, name] = text.split(':') as ['cookie' | 'header', string];
  return kind === 'cookie' ? { kind, name } : { kind, name: name.toLowerCase() };
}

function shadow(raw: unknown): Shadow | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const s: Obj = { ...BUILTIN_DEFAULTS.shadow, ...(raw as Obj) };
  const timeout = String(s.timeout);
  const noise = s.noise as Obj | undefined;
  return {
    percent: Number(s.percent),
    methods: Array.isArray(s.methods) ? [...(s.methods as string[])] : [...SHADOW_SAFE_METHODS],
    side_effect_free: s.side_effect_free === true,
    // Header names compare without case.
    ignore: ((s.ignore as string[] | undefined) ?? []).map((rule) => (rule.startsWith('header:') ? rule.toLowerCase() : rule)),
    max_in_flight: Number(s.max_in_flight),
    max_body: size(s.max_body),
    timeout: { text: timeout, ms: parseDuration(timeout)! },
    noise_sample: noise ? Number(noise.sample) : 0,
  };
}

function listenOf(value: unknown): Listen {
  return typeof value === 'number' ? { host: null, port: value, text: String(value) } : { ...hostPort(String(value)) };
}

function rollout(value: unknown): Rollout | null {
  if (typeof value !== 'object' || value === null) return null;
  const r = value as Obj;
  const duration = (v: unknown): Duration => ({ text: String(v), ms: parseDuration(String(v))! });
  const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);
  const d = BUILTIN_DEFAULTS.rollout;
  return {
    steps: (r.steps as number[]).map((p) => Math.round(p * 100) / 100),
    interval: duration(r.interval ?? d.interval),
    min_requests: num(r.min_requests) ?? d.min_requests,
    max_error_rate: num(r.max_error_rate) ?? d.max_error_rate,
    max_latency_p99: r.max_latency_p99 === undefined ? null : duration(r.max_latency_p99),
    max_latency_ratio: num(r.max_latency_ratio),
    max_4xx_shift: num(r.max_4xx_shift),
    min_shadow_match: num(r.min_shadow_match),
  };
}

function tlsFiles(t: Obj): TlsFiles {
  return { certificate: String(t.certificate), certificate_key: String(t.certificate_key) };
}

function tls(m: Obj, certificate: CertificateFacts | null): Tls | null {
  const t = objAt(m, 'tls');
  // tls with only acme_webroot serves the challenges for the first certificate: no HTTPS yet.
  if (typeof t.certificate !== 'string') return null;
  const hsts = t.hsts === undefined ? null : String(t.hsts);
  return {
    ...tlsFiles(t),
    listen: listenOf(t.listen ?? 443),
    http2: t.http2 !== false,
    redirect_http: t.redirect_http === true,
    hsts: hsts === null ? null : { text: hsts, seconds: parseAge(hsts)! },
    session_tickets: t.session_tickets === true,
    ocsp_stapling: certificate?.ocsp === true,
  };
}

function trustedProxies(m: Obj): TrustedProxy[] {
  return (Array.isArray(m.trusted_proxies) ? m.trusted_proxies : []).map((p) => parseCidr(String(p))).filter(isCidr);
}

function buildRouteTable(m: Obj, text: string, certificate: CertificateFacts | null): RouteTable {
  const defTimeouts = { ...BUILTIN_DEFAULTS.timeouts, ...objAt(m, 'defaults', 'timeouts') };
  const defBuffers = { ...BUILTIN_DEFAULTS.buffers, ...objAt(m, 'defaults', 'buffers') };
  const defBody = { ...BUILTIN_DEFAULTS.body, ...objAt(m, 'defaults', 'body') };

  const upstreams = new Map<string, Upstream>();
  for (const [name, up] of Object.entries(objAt(m, 'upstreams'))) {
    const u = up as Obj;
    upstreams.set(name, {
      name,
      servers: (u.servers as string[]).map(hostPort),
      keepalive: typeof u.keepalive === 'number' ? u.keepalive : BUILTIN_DEFAULTS.keepalive,
      max_conns: typeof u.max_conns === 'number' ? u.max_conns : 0,
    });
  }

  const listen = listenOf(m.listen);

  const defaults = { timeouts: timeouts(defTimeouts), buffers: buffers(defBuffers), body: body(defBody) };
  // The table is immutable, so routes without an override share the defaults' records: at 10,000
  // routes, building and freezing a copy per route is most of the table's cost.
  const own = <T>(r: Obj, key: string, shared: T, build: (merged: Obj) => T, base: Obj): T => (r[key] === undefined ? shared : build({ ...base, ...objAt(r, key) }));

  const routes: Route[] = ((m.routes as Obj[] | undefined) ?? []).map((r, index) => {
    const c = r.canary as Obj | undefined;
    const canary: Canary = c === undefined ? NO_CANARY : {
      percent: Math.round(Number(c.percent) * 100) / 100,
      sticky: sticky(c.sticky),
      salt: typeof c.salt === 'string' ? c.salt : '',
      rollout: rollout(c.rollout),
    };
    const fb = r.fallback;
    return {
      id: String(r.id),
      index,
      match: matchOf(r.match as Obj),
      methods: Array.isArray(r.methods) ? [...(r.methods as string[])] : null,
      to: target(String(r.to)),
      canary,
      fallback: fb === undefined ? null : { to: 'legacy', non_idempotent: typeof fb === 'object' && (fb as Obj).non_idempotent === true },
      dynamic: r.dynamic === true,
      timeouts: own(r, 'timeouts', defaults.timeouts, timeouts, defTimeouts),
      buffers: own(r, 'buffers', defaults.buffers, buffers, defBuffers),
      body: own(r, 'body', defaults.body, body, defBody),
      shadow: shadow(r.shadow),
    };
  });

  const defaultRoute: Route = {
    id: DEFAULT_ROUTE_ID, index: -1, match: { kind: 'prefix', path: '/' }, methods: null,
    to: { kind: 'legacy', text: 'legacy' }, canary: NO_CANARY,
    fallback: null, dynamic: false, shadow: null, ...defaults,
  };
  const gw = objAt(m, 'gateway');

  const fields = {
    version: 1 as const,
    listen,
    server_name: serverNameText(m.server_name),
    default_server: m.default_server === 'refuse' ? 'refuse' : 'serve',
    tls: tls(m, certificate),
    acme_webroot: typeof objAt(m, 'tls').acme_webroot === 'string' ? String(objAt(m, 'tls').acme_webroot) : null,
    trusted_proxies: trustedProxies(m),
    debug_headers: m.debug_headers === true,
    upstreams,
    gateway: {
      listen: hostPort(String(gw.listen ?? BUILTIN_DEFAULTS.gateway.listen)),
      admin: hostPort(String(gw.admin ?? BUILTIN_DEFAULTS.gateway.admin)),
      state: typeof gw.state === 'string' ? gw.state : null,
      trusted_proxies: ((gw.trusted_proxies as string[] | undefined) ?? LOOPBACK_CIDRS).map(parseCidr).filter(isCidr),
      servers: ((gw.servers as string[] | undefined) ?? [String(gw.listen ?? BUILTIN_DEFAULTS.gateway.listen)]).map(hostPort),
      admin_hosts: Array.isArray(gw.admin_hosts) ? (gw.admin_hosts as string[]).map((h) => h.toLowerCase()) : [],
      tls: typeof gw.tls === 'object' && gw.tls !== null ? tlsFiles(gw.tls as Obj) : null,
      access_log: typeof gw.access_log === 'string' ? gw.access_log : null,
      body_temp_path: typeof gw.body_temp_path === 'string' ? gw.body_temp_path : null,
    },
    defaults,
    routes,
    defaultRoute,
  } satisfies Omit<RouteTable, 'sha256'>;
  for (const v of Object.values(fields)) deepFreeze(v);
  // The manifest's sha256 is computed when first read: `validate` never reads it, and hashing
  // loads node:crypto, a tenth of that command's start.
  let digest: string | undefined;
  const table: RouteTable = Object.defineProperty(fields as typeof fields & { sha256: string }, 'sha256', { enumerable: true, get: () => (digest ??= sha256(text)) });
  return Object.freeze(table);
}

/** Sample paths below a prefix; a regex that matches all of them shadows the prefix route. */
function warnUnreachable(table: RouteTable, report: Report): void {
  const regexes = table.routes.filter((r) => r.match.kind === 'regex').map((r) => ({ r, re: pcreRegExp((r.match as { pattern: string }).pattern) }));
  if (!regexes.length) return;
  for (const route of table.routes) {
    if (route.match.kind !== 'prefix') continue;
    const p = route.match.path;
    const base = p.endsWith('/') ? p : p + '/';
    const samples = [base, `${base}x`, `${base}a/b.c`, `${base}Z9~-_`, `${base}0/`];
    const winner = regexes.find(({ re }) => samples.every((s) => re.test(s)));
    if (!winner) continue;
    const where: PathSegment[] = ['routes', route.index, 'match', 'prefix'];
    const only = p.endsWith('/') ? 'it can never be reached' : `only ${p} itself reaches it`;
    report('STR_W_UNREACHABLE', where, `paths below ${p} are claimed by routes[${winner.r.index}] (${winner.r.id}): regex routes win over prefix routes, so ${only}`, 'warning');
  }
}
