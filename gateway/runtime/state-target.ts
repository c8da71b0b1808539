// Where the runtime state lives: `--state`, else env STRANGLER_REDIS_URL, else the manifest's
// gateway.state, else the file beside the manifest. A redis:// or rediss:// URL selects the
// Redis store; anything else is a file path. Credentials missing from the URL come from
// REDIS_USERNAME / REDIS_PASSWORD, so neither the manifest nor the command line needs them.
import { resolve } from 'node:path';
import { describeRedisUrl, isRedisUrl } from '../util/redis-url';

export { describeRedisUrl };

export interface RedisTarget {
  readonly kind: 'redis';
  /** The URL without credentials (they travel separately). */
  readonly url: string;
  readonly username?: string;
  readonly password?: string;
}

export interface FileTarget { readonly kind: 'file'; readonly path: string }

export type StateTarget = RedisTarget | FileTarget;

export class StateTargetError extends Error {
  readonly code = 'STR_STATE_TARGET';
}

/** A redis:// URL checked: scheme, host, port, optional /DB. */
export function parseRedisUrl(text: string, env: NodeJS.ProcessEnv = process.env): RedisTarget {
  let u: URL;
  try { u = new URL(text); } catch { throw new StateTargetError(`${describeRedisUrl(text)} is not a URL; expected redis://[user:pass@]HOST:PORT[/DB] or rediss://…`); }
  if (!u.hostname) throw new StateTargetError(`${describeRedisUrl(text)} has no host`);
  const db = u.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d{1,2}$/.test(db)) throw new StateTargetError(`${describeRedisUrl(text)}: the path must be a database number (/0../15)`);
  if (u.search || u.hash) throw new StateTargetError(`${describeRedisUrl(text)}: no query or fragment allowed`);
  const username = u.username ? decodeURIComponent(u.username) : env.REDIS_USERNAME || undefined;
  const password = u.password ? decodeURIComponent(u.password) : env.REDIS_PASSWORD || undefined;
  u.username = '';
  u.password = '';
  return { kind: 'redis', url: u.toString().replace(/\/$/, ''), username, password };
}

/** A file path from the manifest is relative to the manifest's directory; from `--state`, to the working directory. */
export function resolveStateTarget(o: { flag?: string; manifest?: string | null; manifestDir: string; defaultFile: string; env?: NodeJS.ProcessEnv }): StateTarget {
  const env = o.env ?? process.env;
  const fromEnv = !o.flag && env.STRANGLER_REDIS_URL;
  if (fromEnv && !isRedisUrl(fromEnv)) throw new StateTargetError(`STRANGLER_REDIS_URL must be a redis:// or rediss:// URL, got ${JSON.stringify(describeRedisUrl(fromEnv))}`);
  const text = o.flag || fromEnv || o.manifest || '';
  if (!text) return { kind: 'file', path: o.defaultFile };
  if (isRedisUrl(text)) return parseRedisUrl(text, env);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) throw new StateTargetError(`${JSON.stringify(describeRedisUrl(text))}: unknown scheme; expected redis://, rediss:// or a file path`);
  return { kind: 'file', path: o.flag ? resolve(text) : resolve(o.manifestDir, text) };
}
