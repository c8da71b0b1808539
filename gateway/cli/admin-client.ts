// What flip, canary and status share: find the running gateway's admin API (from --admin or
// the manifest's gateway.admin), find its token (env or the token file beside the manifest),
// make one request, and turn each way it can go wrong into a message saying what to do.
import { request } from 'node:http';
import { loadManifest } from '../manifest/compile-manifest';
import { ManifestInvalidError, formatDiagnostic } from '../manifest/errors';
import { parsePercentText } from '../manifest/percent';
import { readAdminToken, tokenPathFor, TOKEN_ENV, type AdminToken } from '../runtime/admin-token';
import { ADMIN_SERVICE } from '../runtime/admin-guard';
import type { InstanceView } from '../runtime/admin-api';
import { localUrl, type Address } from '../util/address';
import { addressOption } from './command';
import { DEFAULT_MANIFEST } from './manifest-arg';

export const CLIENT_OPTIONS = {
  manifest: { type: 'string', short: 'm' },
  admin: { type: 'string' },
} as const;

/** The options every admin client shares, under one Options: heading with the command's own `extra` lines. */
export const clientUsage = (extra = '') => `Options:
${extra}  -m, --manifest FILE  the manifest the gateway serves (default ${DEFAULT_MANIFEST}): gives the
                       admin address (gateway.admin) and the token file beside it
      --admin ADDR     the admin API's host:port, overriding gateway.admin

The token is $${TOKEN_ENV} if set, else the file \`strangler serve\` created beside the
manifest (${tokenPathFor(DEFAULT_MANIFEST)} for the default manifest).`;
export const CLIENT_USAGE = clientUsage();

export interface AdminTarget {
  url: string;
  manifestPath: string;
  token: AdminToken;
}

export interface AdminResponse {
  status: number;
  body: Record<string, unknown>;
}

/** Resolves address and token; throws an Error whose message is the whole explanation. */
export function resolveAdmin(values: { manifest?: string; admin?: string }, env: NodeJS.ProcessEnv = process.env): AdminTarget {
  const manifestPath = values.manifest ?? DEFAULT_MANIFEST;
  let addr: Address;
  if (values.admin) {
    addr = addressOption('admin', values.admin, { host: '127.0.0.1', port: 0 });
  } else {
    try {
      addr = loadManifest(manifestPath).table.gateway.admin;
    } catch (err) {
      if (!(err instanceof ManifestInvalidError)) throw err;
      throw new Error(`cannot find the admin address in ${manifestPath} (or pass --admin HOST:PORT):\n` +
        err.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic).join('\n'));
    }
  }
  const token = readAdminToken(manifestPath, env);
  if (!token) {
    throw new Error(`no admin token: set ${TOKEN_ENV}, or start the gateway (strangler serve ${manifestPath}), which writes ${tokenPathFor(manifestPath)}`);
  }
  return { url: localUrl(addr.host, addr.port), manifestPath, token };
}

/**
 * Makes sure `target` is a strangler admin API before the token goes anywhere: GET /healthz,
 * which needs no token, must name the service. A wrong --admin (the gateway's traffic port,
 * nginx, the monolith) is refused here, and the token is never sent to it.
 */
export async function verifyAdmin(target: AdminTarget): Promise<void> {
  const res = await exchange(target, 'GET', '/healthz', null);
  let service: unknown;
  try { service = (JSON.parse(res.text) as { service?: unknown } | null)?.service; } catch { /* not JSON */ }
  if (service !== ADMIN_SERVICE) {
    const said = res.text.trim().replace(/\s+/g, ' ').slice(0, 80);
    throw new Error(`${target.url} is not a strangler admin API (GET /healthz answered ${res.status}${said ? `: ${said}` : ''}); the admin token was not sent.\n` +
      'The admin API listens on gateway.admin in the manifest (default 127.0.0.1:8091), not on the gateway\'s traffic port or nginx\'s; pass --admin HOST:PORT.');
  }
}

export async function adminRequest(target: AdminTarget, method: string, path: string, body?: unknown): Promise<AdminResponse> {
  await verifyAdmin(target);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const res = await exchange(target, method, path, target.token.token, payload);
  let parsed: Record<string, unknown>;
  try {
    const p = JSON.parse(res.text) as unknown;
    if (typeof p !== 'object' || p === null || Array.isArray(p)) throw new Error('not an object');
    parsed = p as Record<string, unknown>;
  } catch {
    throw new Error(`${target.url}${path} answered ${res.status} with something that is not a JSON object: is that a strangler admin API?`);
  }
  if (res.status === 401) {
    const from = target.token.source === 'env' ? `$${TOKEN_ENV}` : `the token file ${target.token.file}`;
    throw new Error(`the admin API refused the token from ${from}.\n` +
      `The gateway uses $${TOKEN_ENV} if it was set when it started, else ${tokenPathFor(target.manifestPath)} beside its manifest; use the same token here.`);
  }
  // Admin errors are {"error": CODE, "message": what went wrong}: the message says it to a person.
  if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status}: ${String(parsed.message ?? parsed.error ?? res.text.trim())}`);
  return { status: res.status, body: parsed };
}

/** The gateway instances sharing the asked one's state (GET /instances); null, with the reason, when it cannot say (Redis down: 503). */
export async function listInstances(target: AdminTarget): Promise<{ instances: InstanceView[] | null; error: string }> {
  try {
    return { instances: (await adminRequest(target, 'GET', '/instances')).body.gateways as InstanceView[], error: '' };
  } catch (err) {
    return { instances: null, error: (err as Error).message };
  }
}

export interface OtherAnswers {
  /** The answers of the instances that answered, by admin address. */
  answers: { admin: string; body: Record<string, unknown> }[];
  /** Each instance that did not, by admin address, with why. */
  unanswered: { admin: string; reason: string }[];
}

/**
 * The instances to ask besides the asked one: each admin address once, by its newest entry. An
 * instance killed and restarted on the same address leaves its dead entry in the registry for a
 * while; asking both would count the live one twice.
 */
export function otherInstances(instances: readonly InstanceView[]): InstanceView[] {
  const byAddress = new Map<string, InstanceView>();
  for (const i of instances) {
    if (!i.admin) continue;
    const seen = byAddress.get(i.admin);
    if (!seen || i.self || (!seen.self && Date.parse(i.started_at) > Date.parse(seen.started_at))) byAddress.set(i.admin, i);
  }
  return [...byAddress.values()].filter((i) => !i.self);
}

/** The same request to every other instance of `instances` (otherInstances), on its admin address and with the same token. */
export async function askOtherInstances(target: AdminTarget, instances: readonly InstanceView[], method: string, path: string): Promise<OtherAnswers> {
  const others = otherInstances(instances);
  const settled = await Promise.allSettled(others.map((i) => adminRequest({ ...target, url: i.admin }, method, path)));
  const out: OtherAnswers = { answers: [], unanswered: [] };
  settled.forEach((s, n) => {
    if (s.status === 'fulfilled') out.answers.push({ admin: others[n].admin, body: s.value.body });
    else out.unanswered.push({ admin: others[n].admin, reason: (s.reason as Error).message.split('\n')[0] });
  });
  return out;
}

/** "counters summed over 3 instances; 1 did not answer": `answered` counts the asked instance too. */
export function summedOver(what: string, answered: number, unanswered: number): string {
  return `${what} summed over ${answered} instance${answered === 1 ? '' : 's'}${unanswered ? `; ${unanswered} did not answer` : ''}`;
}

/** One request; connection failures become a message saying what to do. */
async function exchange(target: AdminTarget, method: string, path: string, token: string | null, payload?: string): Promise<{ status: number; text: string }> {
  try {
    return await send(target.url + path, method, token, payload);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EADDRNOTAVAIL') {
      throw new Error(`the gateway is not running: nothing answers on ${target.url} (its admin API).\n` +
        `Start it with: strangler serve ${target.manifestPath}   (or point at another one with --admin HOST:PORT)`);
    }
    throw new Error(`cannot reach the admin API on ${target.url}: ${(err as Error).message}`);
  }
}

function send(url: string, method: string, token: string | null, payload?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { accept: 'application/json', ...(token === null ? {} : { authorization: `Bearer ${token}` }) };
    if (payload !== undefined) headers['content-type'] = 'application/json';
    // agent:false: one connection, closed afterwards, so the CLI exits as soon as it is done.
    const req = request(url, { method, headers, agent: false, timeout: 15_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('no answer within 15 s'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end(payload);
  });
}

/** "42", "42%", "12.5" -> number; "manifest" -> null (clear the override); else undefined. */
/** A PERCENT argument: null for "manifest", undefined when it is not a percent. */
export function parsePercentArg(text: string): number | null | undefined {
  return text === 'manifest' ? null : parsePercentText(text);
}

export interface RouteJson {
  id: string;
  to: string;
  manifest_percent: number;
  effective_percent: number;
  previous_percent?: number;
  override: { percent: number; updated_at: string; by: string } | null;
}

/** The line flip and canary print after a change. */
export function describeChange(r: RouteJson): string {
  const was = r.previous_percent === undefined ? '' : `${r.previous_percent}% -> `;
  const source = r.override ? `runtime override; manifest says ${r.manifest_percent}%` : 'the manifest\'s percent, no override';
  return `${r.id}: ${was}${r.effective_percent}% to ${r.to}, the rest to legacy (${source})`;
}

/** What follows a change: where it is in effect, and how nginx hosts catch up. */
export function changeFooter(stateVersion: unknown): string {
  const v = typeof stateVersion === 'number' ? ` (state version ${stateVersion})` : '';
  return `in effect on the gateway from the next request${v}; nginx hosts follow through \`strangler agent\` within about a second (\`strangler status\` shows each host's version)`;
}
