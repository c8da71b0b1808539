// What flip, canary and status share: find the running gateway's admin API (from --admin or
// the manifest's gateway.admin), find its token (env or the token file beside the manifest),
// make one request, and turn each way it can go wrong into a message saying what to do.
import { request } from 'node:http';
import { loadManifest } from '../manifest/compile-manifest';
import { ManifestInvalidError, formatDiagnostic } from '../manifest/errors';
import { parsePercentText } from '../manifest/percent';
import { readAdminToken, tokenPathFor, TOKEN_ENV, type AdminToken } from '../runtime/admin-token';
import { localUrl, parseAddress, type Address } from '../util/address';
import { DEFAULT_MANIFEST } from './manifest-arg';

export const CLIENT_OPTIONS = {
  manifest: { type: 'string', short: 'm' },
  admin: { type: 'string' },
} as const;

export const CLIENT_USAGE = `Options:
  -m, --manifest FILE  the manifest the gateway serves (default ${DEFAULT_MANIFEST}): gives the
                       admin address (gateway.admin) and the token file beside it
      --admin ADDR     the admin API's host:port, overriding gateway.admin

The token is $${TOKEN_ENV} if set, else the file \`strangler serve\` created beside the
manifest (${tokenPathFor(DEFAULT_MANIFEST)} for the default manifest).`;

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
    addr = parseAddress(values.admin, { host: '127.0.0.1', port: 0 });
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

export async function adminRequest(target: AdminTarget, method: string, path: string, body?: unknown): Promise<AdminResponse> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  let res: { status: number; text: string };
  try {
    res = await send(target.url + path, method, target.token.token, payload);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EADDRNOTAVAIL') {
      throw new Error(`the gateway is not running: nothing answers on ${target.url} (its admin API).\n` +
        `Start it with: strangler serve ${target.manifestPath}   (or point at another one with --admin HOST:PORT)`);
    }
    throw new Error(`cannot reach the admin API on ${target.url}: ${(err as Error).message}`);
  }
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(res.text) as Record<string, unknown>;
  } catch {
    throw new Error(`${target.url}${path} answered ${res.status} with something that is not JSON: is that a strangler admin API?`);
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

function send(url: string, method: string, token: string, payload?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
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
  return `${r.id}: ${was}${r.effective_percent}% to ${r.to}, the rest to legacy (${source}); in effect from the next request`;
}
