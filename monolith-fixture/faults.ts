// Shared by both fixtures: the fault-injection language, the request echo every JSON answer
// carries, and one reply writer that can misbehave on purpose (late, wrong status, reset,
// truncated, stalled, huge) the way real upstreams do.
import { createHash } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { setTimeout as sleepTimer } from 'node:timers/promises';

export interface Faults {
  delayMs: number;
  status?: number;
  reset: boolean;
  resetMid: boolean;
  hang: boolean;
  stallBody: boolean;
  /** No Content-Length: an HTTP/1.1 client gets the body chunked. */
  chunked: boolean;
  bigBytes?: number;
}

export const NO_FAULTS: Faults = Object.freeze({ delayMs: 0, reset: false, resetMid: false, hang: false, stallBody: false, chunked: false });

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

function parseCount(token: string, value: string | undefined, units: boolean): number {
  const m = /^(\d+)([kmg]?)$/i.exec(value ?? '');
  if (!m || (!units && m[2])) throw new Error(`bad fixture fault "${token}"`);
  return Number(m[1]) * SIZE_UNITS[m[2].toLowerCase()];
}

/** Parses "delay=200,status=503" (comma-separated, any order); throws on anything unknown. */
export function parseFaults(spec: string | undefined, base: Faults = NO_FAULTS): Faults {
  const f: Faults = { ...base };
  for (const token of (spec ?? '').split(',').map((t) => t.trim()).filter(Boolean)) {
    const [key, value] = token.split('=', 2) as [string, string | undefined];
    switch (key.toLowerCase()) {
      case 'delay': f.delayMs = parseCount(token, value, false); break;
      case 'status': {
        f.status = parseCount(token, value, false);
        if (f.status < 200 || f.status > 599) throw new Error(`bad fixture fault "${token}": status must be 200-599`);
        break;
      }
      case 'big': f.bigBytes = parseCount(token, value, true); break;
      case 'reset': f.reset = true; break;
      case 'reset-mid': f.resetMid = true; break;
      case 'hang': f.hang = true; break;
      case 'stall-body': f.stallBody = true; break;
      case 'chunked': f.chunked = true; break;
      default: throw new Error(`bad fixture fault "${token}"`);
    }
  }
  return f;
}

/** Layers `extra` over `base`: flags add up, values set in `extra` win. */
export function mergeFaults(base: Faults, extra: Faults): Faults {
  return {
    delayMs: extra.delayMs || base.delayMs,
    status: extra.status ?? base.status,
    bigBytes: extra.bigBytes ?? base.bigBytes,
    reset: base.reset || extra.reset,
    resetMid: base.resetMid || extra.resetMid,
    hang: base.hang || extra.hang,
    stallBody: base.stallBody || extra.stallBody,
    chunked: base.chunked || extra.chunked,
  };
}

/** The per-request fault spec: the x-fixture-fault header plus any fixture_fault query parameters. */
export function requestFaultSpec(req: IncomingMessage): string {
  const url = req.url ?? '';
  const q = url.indexOf('?');
  const fromQuery = q < 0 ? [] : new URLSearchParams(url.slice(q + 1)).getAll('fixture_fault');
  const header = req.headers['x-fixture-fault'];
  return [...(Array.isArray(header) ? header : header ? [header] : []), ...fromQuery].join(',');
}

export interface BodyInfo { bytes: number; sha256: string; buffer?: Buffer }

/** Reads the whole request body (always, so keep-alive stays sane), hashing as it streams. */
export async function readBody(req: IncomingMessage, keep = false): Promise<BodyInfo> {
  const hash = createHash('sha256');
  const kept: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
    if (keep) kept.push(chunk);
  }
  return { bytes, sha256: hash.digest('hex'), buffer: keep ? Buffer.concat(kept) : undefined };
}

/** What both fixtures echo: the request exactly as it arrived on the wire. */
export function echo(req: IncomingMessage, body: BodyInfo) {
  const url = req.url ?? '';
  const q = url.indexOf('?');
  return {
    method: req.method ?? '',
    path: q < 0 ? url : url.slice(0, q),
    query: q < 0 ? '' : url.slice(q + 1),
    url,
    headers: req.headers,
    body_bytes: body.bytes,
    body_sha256: body.sha256,
  };
}

export interface Reply { status: number; headers: OutgoingHttpHeaders; body: Buffer }

export function jsonReply(status: number, value: unknown, headers: OutgoingHttpHeaders = {}): Reply {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body: Buffer.from(JSON.stringify(value)) };
}

export function textReply(status: number, text: string, headers: OutgoingHttpHeaders = {}): Reply {
  return { status, headers: { 'content-type': 'text/plain; charset=utf-8', ...headers }, body: Buffer.from(text) };
}

/** Resolves false instead of throwing when the fixture is closing. */
export async function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  try {
    await sleepTimer(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

// Generated bodies for `big`: byte i is i % 251. The chunk length is a multiple of 251, so one
// shared chunk repeats the pattern seamlessly and a 1 GiB answer never holds more than it.
const PATTERN = Buffer.alloc(251 * 261, 0);
for (let i = 0; i < PATTERN.length; i++) PATTERN[i] = i % 251;
export const patternByte = (offset: number): number => offset % 251;

/** Writes `limit` bytes of the body, honouring backpressure; resolves once they reach the socket. */
async function writeBody(res: ServerResponse, source: Buffer | null, limit: number): Promise<void> {
  const chunkSize = source ? 64 * 1024 : PATTERN.length;
  let sent = 0;
  while (sent < limit && !res.destroyed) {
    const n = Math.min(chunkSize, limit - sent);
    const chunk = source ? source.subarray(sent, sent + n) : PATTERN.subarray(0, n);
    sent += n;
    const last = sent >= limit;
    await new Promise<void>((resolve) => {
      const done = () => { res.off('drain', done); res.off('close', done); resolve(); };
      res.on('close', done);
      // Wait for 'drain' on backpressure, and for the last chunk to be flushed before resolving.
      const ok = res.write(chunk, last ? done : undefined);
      if (!ok && !last) res.on('drain', done);
      else if (!last) done();
    });
  }
}

/** Sends `r` unless the faults say otherwise. `signal` aborts pending delays when the fixture closes. */
export async function sendReply(req: IncomingMessage, res: ServerResponse, faults: Faults, r: Reply, signal?: AbortSignal): Promise<void> {
  if (faults.delayMs > 0 && !(await sleep(faults.delayMs, signal))) return;
  if (faults.hang || res.destroyed) return; // hang: keep the socket open and say nothing
  if (faults.reset) {
    req.socket.resetAndDestroy(); // a TCP RST, as from a crashed worker
    return;
  }
  const status = faults.status ?? r.status;
  const big = faults.bigBytes;
  const total = big ?? r.body.length;
  const headers: OutgoingHttpHeaders = { ...r.headers };
  if (big !== undefined) Object.assign(headers, { 'content-type': 'application/octet-stream', 'x-fixture-big': String(big) });
  const bodyless = status === 204 || status === 304 || req.method === 'HEAD';
  if (status !== 204 && status !== 304 && !faults.chunked) headers['content-length'] = total;
  res.writeHead(status, headers);
  if (bodyless) {
    res.end();
    return;
  }
  const partial = faults.resetMid || faults.stallBody;
  // Truncated answers still announce the full Content-Length, so clients can tell they were cut.
  const limit = partial ? Math.floor(total / 2) : total;
  if (partial) res.flushHeaders();
  await writeBody(res, big === undefined ? r.body : null, limit);
  if (!partial) res.end();
  else if (faults.resetMid) res.socket?.destroy(); // stall-body: leave it open, unfinished
}
