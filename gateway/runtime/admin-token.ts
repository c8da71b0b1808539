// The admin API's bearer token: from STRANGLER_ADMIN_TOKEN, else a random token kept in a 0600
// file beside the manifest (routes/routes.token) so the CLI on the same machine can find it.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';

export const TOKEN_ENV = 'STRANGLER_ADMIN_TOKEN';
/** A second token that reads everything (dashboards, Prometheus) and changes nothing; unset: none. */
export const READ_TOKEN_ENV = 'STRANGLER_READ_TOKEN';

export interface AdminToken {
  readonly token: string;
  /** Where it came from, for messages: the env variable or the file. */
  readonly source: 'env' | 'file';
  /** The token file (null when the env variable supplied the token). */
  readonly file: string | null;
  /** True when this call generated the file. */
  readonly created: boolean;
  /** E.g. the file is readable by others. */
  readonly warnings: readonly string[];
}

/** `<dir>/<manifest-basename>.<suffix>`: where the token, state and audit files live by default. */
export function besideManifest(manifestPath: string, suffix: string): string {
  const base = basename(manifestPath, extname(manifestPath));
  return join(dirname(manifestPath), `${base}.${suffix}`);
}

export function tokenPathFor(manifestPath: string): string {
  return besideManifest(manifestPath, 'token');
}

/** For clients (flip, canary, status): env or existing file, never generates; null if neither. */
export function readAdminToken(manifestPath: string, env: NodeJS.ProcessEnv = process.env): AdminToken | null {
  const fromEnv = env[TOKEN_ENV];
  if (fromEnv) return { token: fromEnv, source: 'env', file: null, created: false, warnings: [] };
  const file = tokenPathFor(manifestPath);
  try {
    return { token: readTokenFile(file), source: 'file', file, created: false, warnings: [] };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** For the server: env, else the token file, generating it (32 random bytes, hex, mode 0600) if absent. */
export function loadOrCreateAdminToken(manifestPath: string, env: NodeJS.ProcessEnv = process.env): AdminToken {
  const existing = readAdminToken(manifestPath, env);
  if (existing) return { ...existing, warnings: existing.file ? permissionWarnings(existing.file) : [] };
  const file = tokenPathFor(manifestPath);
  const token = randomBytes(32).toString('hex');
  // Write a temp file then link(2) it into place: never a half-written token file, and if
  // another process created one first, link fails with EEXIST and we use theirs.
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, token + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return { token: readTokenFile(file), source: 'file', file, created: false, warnings: permissionWarnings(file) };
  } finally {
    unlinkSync(tmp);
  }
  return { token, source: 'file', file, created: true, warnings: [] };
}

function readTokenFile(file: string): string {
  const token = readFileSync(file, 'utf8').trim();
  if (!token) throw new Error(`admin token file ${file} is empty: delete it and restart strangler serve to generate a new one`);
  return token;
}

function permissionWarnings(file: string): string[] {
  if (process.platform === 'win32') return [];
  const mode = statSync(file).mode & 0o777;
  return mode & 0o077 ? [`admin token file ${file} is readable by other users (mode ${mode.toString(8)}): chmod 600 it`] : [];
}

/**
 * Constant-time check of a presented token. Both sides are hashed first so timingSafeEqual gets
 * equal-length inputs and the comparison time does not reveal the token's length either.
 */
export function tokenMatches(expected: string, presented: string | null | undefined): boolean {
  if (typeof presented !== 'string') return false;
  const a = createHash('sha256').update(expected, 'utf8').digest();
  const b = createHash('sha256').update(presented, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/** Token from an `Authorization: Bearer <token>` header; null when absent or another scheme. */
export function bearerToken(header: string | undefined): string | null {
  const m = /^Bearer[ ]+([^ ]+)[ ]*$/i.exec(header ?? '');
  return m ? m[1] : null;
}
