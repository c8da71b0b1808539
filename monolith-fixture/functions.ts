// An OpenFaaS-compatible gateway with its functions built in: the HTTP API the strangler talks
// to once a route has moved (/function, /async-function, /system/functions, /healthz), with
// scale-from-zero cold starts and the same fault injection as the legacy fixture.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders, type Server } from 'node:http';
import { parseArgs } from 'node:util';
import { echo, jsonReply, mergeFaults, NO_FAULTS, parseFaults, readBody, requestFaultSpec, sendReply, sleep, textReply, type BodyInfo, type Faults } from './faults.js';
import { localUrl } from '../gateway/util/address.js';
import { listen } from '../gateway/util/http-server.js';
import { priceQuote, skuOf } from './prices.js';

export interface FunctionSpec { name: string; image?: string; faults?: string }

export interface FunctionsOptions {
  port?: number;
  host?: string;
  /** Faults applied to every invocation (per-request ones are added on top). */
  faults?: string;
  functions?: ReadonlyArray<string | FunctionSpec>;
  /** Extra latency of the first call after scaling from zero (default 300 ms). */
  coldStartMs?: number;
  /** A function idle longer than this is scaled to zero (default 60 s). */
  idleMs?: number;
  /** Answer 503 instead of waiting while a function scales from zero. */
  coldStartFails?: boolean;
  /** Start with one ready replica per function instead of scaled to zero. */
  startWarm?: boolean;
}

/** One finished /async-function call, as the queue-worker would have reported it. */
export interface AsyncCompletion {
  callId: string;
  function: string;
  status: number;
  body: Buffer;
  contentType?: string;
  callbackUrl?: string;
  callbackStatus?: number;
  callbackError?: string;
}

export interface FunctionsFixture {
  port: number;
  url: string;
  close(): Promise<void>;
  /** HTTP requests the gateway received, of any kind. */
  readonly requests: number;
  /** Invocations per function name, sync and async, failed ones included. */
  readonly invocations: Readonly<Record<string, number>>;
  /** Invocations a proxy forwarded for this client address (its X-Real-IP): tests tag requests by source address. */
  invocationsFrom(client: string): number;
  readonly completions: readonly AsyncCompletion[];
  waitForCompletion(callId: string, timeoutMs?: number): Promise<AsyncCompletion>;
  /** Replace the start-up faults of one function, or of the whole gateway; '' clears. */
  setFaults(spec: string, functionName?: string): void;
}

export const DEFAULT_FUNCTIONS = ['track-package', 'generate-report', 'order-intake', 'image-resizer', 'price-quote'];
const NAMESPACE = 'openfaas-fn';

interface FnState { name: string; image: string; faults: Faults; lastActive: number; readyAt: number; createdAt: string }

export async function startFunctions(opts: FunctionsOptions = {}): Promise<FunctionsFixture> {
  const coldStartMs = opts.coldStartMs ?? 300;
  const idleMs = opts.idleMs ?? 60_000;
  let gatewayFaults = parseFaults(opts.faults);
  const closing = new AbortController();
  const events = new EventEmitter();
  const invocations: Record<string, number> = {};
  const byClient = new Map<string, number>();
  const completions: AsyncCompletion[] = [];
  const fns = new Map<string, FnState>();
  let requests = 0;
  for (const f of opts.functions ?? DEFAULT_FUNCTIONS) {
    const spec = typeof f === 'string' ? { name: f } : f;
    fns.set(spec.name, {
      name: spec.name, image: spec.image ?? `ghcr.io/acme/${spec.name}:latest`, faults: parseFaults(spec.faults),
      lastActive: opts.startWarm ? Date.now() : -Infinity, readyAt: 0, createdAt: new Date().toISOString(),
    });
    invocations[spec.name] = 0;
  }

  /** Scale from zero if idle. 'unavailable' mirrors the 503 a gateway gives while no replica is ready. */
  async function scale(fn: FnState): Promise<'warm' | 'cold' | 'unavailable' | 'closed'> {
    const now = Date.now();
    let cold = now < fn.readyAt; // a replica is already starting
    if (!cold && now - fn.lastActive > idleMs) {
      fn.readyAt = now + coldStartMs;
      cold = true;
    }
    fn.lastActive = Math.max(now, fn.readyAt);
    if (!cold) return 'warm';
    if (opts.coldStartFails) return 'unavailable';
    return (await sleep(fn.readyAt - now, closing.signal)) ? 'cold' : 'closed';
  }

  function replicas(fn: FnState) {
    const now = Date.now();
    const scaling = now < fn.readyAt;
    const idle = !scaling && now - fn.lastActive > idleMs;
    return { replicas: idle ? 0 : 1, availableReplicas: idle || scaling ? 0 : 1 };
  }

  function status(fn: FnState) {
    return {
      name: fn.name, image: fn.image, namespace: NAMESPACE, invocationCount: invocations[fn.name], ...replicas(fn),
      envProcess: '', labels: { faas_function: fn.name }, annotations: {}, createdAt: fn.createdAt,
    };
  }

  /**
   * One invocation up to where faults take over: the function's own answer (ran), or the
   * gateway's 503 while no replica is ready (the function never ran, so no faults apply).
   */
  async function invoke(fn: FnState, req: IncomingMessage, body: BodyInfo, rest: string, callId: string, isAsync: boolean) {
    invocations[fn.name]++;
    const client = req.headers['x-real-ip'];
    if (typeof client === 'string') byClient.set(client, (byClient.get(client) ?? 0) + 1);
    const state = await scale(fn);
    if (state === 'closed') return null;
    if (state === 'unavailable') return { ran: false, reply: textReply(503, `No endpoints available for: ${fn.name}.`) };
    // price-quote answers like the monolith's price page (monolith-fixture/prices.ts), not with an echo.
    const sku = fn.name === 'price-quote' && !isAsync ? skuOf(rest) : null;
    if (sku !== null) return { ran: true, reply: jsonReply(200, priceQuote(sku, 'function'), { 'x-call-id': callId, 'x-served-by': 'function' }) };
    return {
      ran: true,
      reply: jsonReply(200, {
        served_by: 'function', function: fn.name, ...echo(req, body), function_path: rest || '/',
        cold_start: state === 'cold', invocation: invocations[fn.name], call_id: callId, ...(isAsync ? { async: true } : {}),
      }, { 'x-call-id': callId, 'x-served-by': 'function' }),
    };
  }

  /** The queue-worker's part: run in the background, buffer the result, POST it to the callback. */
  async function runAsync(fn: FnState, req: IncomingMessage, body: BodyInfo, rest: string, callId: string, faults: Faults, started: number) {
    const outcome = await invoke(fn, req, body, rest, callId, true);
    if (!outcome) return;
    const reply = outcome.reply;
    if (!outcome.ran) faults = NO_FAULTS;
    if (faults.delayMs > 0 && !(await sleep(faults.delayMs, closing.signal))) return;
    if (faults.hang || faults.stallBody) return; // the worker would wait forever
    let status = faults.status ?? reply.status;
    let result = reply.body;
    let contentType = reply.headers['content-type'] as string | undefined;
    if (faults.bigBytes !== undefined) {
      result = Buffer.alloc(faults.bigBytes);
      for (let i = 0; i < result.length; i++) result[i] = i % 251;
      contentType = 'application/octet-stream';
    }
    if (faults.reset) { status = 503; result = Buffer.alloc(0); contentType = undefined; } // connection error
    if (faults.resetMid) result = result.subarray(0, Math.floor(result.length / 2));
    const done: AsyncCompletion = { callId, function: fn.name, status, body: result, contentType };
    const callbackUrl = req.headers['x-callback-url'];
    if (typeof callbackUrl === 'string' && callbackUrl) {
      done.callbackUrl = callbackUrl;
      try {
        done.callbackStatus = await postCallback(callbackUrl, result, {
          ...(contentType ? { 'content-type': contentType } : {}),
          'x-call-id': callId, 'x-function-status': String(status), 'x-function-name': fn.name,
          'x-duration-seconds': ((Date.now() - started) / 1000).toFixed(6),
        }, closing.signal);
      } catch (err) {
        done.callbackError = (err as Error).message;
      }
    }
    completions.push(done);
    events.emit('completion', done);
  }

  const server: Server = createServer(async (req, res) => {
    requests++;
    const started = Date.now();
    try {
      const body = await readBody(req);
      const path = (req.url ?? '').split('?')[0];
      if (path === '/healthz') return void (await sendReply(req, res, NO_FAULTS, textReply(200, 'OK')));
      if (path === '/system/functions' && req.method === 'GET') {
        return void (await sendReply(req, res, NO_FAULTS, jsonReply(200, [...fns.values()].map(status))));
      }
      const m = /^\/(async-)?function\/([-a-zA-Z_0-9.]+)(\/.*)?$/.exec(path);
      if (!m) return void (await sendReply(req, res, NO_FAULTS, textReply(404, '404 page not found\n')));
      const [name, ns] = m[2].split('.', 2);
      const fn = fns.get(name);
      if (!fn || (ns !== undefined && ns !== NAMESPACE)) {
        // Same status and plain-text wording as the OpenFaaS gateway's scaling handler.
        return void (await sendReply(req, res, NO_FAULTS, textReply(404, `error finding function ${name}.${ns ?? NAMESPACE}: function not found`)));
      }
      let faults: Faults;
      try {
        faults = parseFaults(requestFaultSpec(req), mergeFaults(gatewayFaults, fn.faults));
      } catch (err) {
        return void (await sendReply(req, res, NO_FAULTS, textReply(400, `${(err as Error).message}\n`)));
      }
      const callId = (req.headers['x-call-id'] as string | undefined) || randomUUID();
      const rest = m[3] ?? '';
      if (m[1]) {
        // Accepted for the queue: 202 at once, the invocation and its faults happen in the background.
        void runAsync(fn, req, body, rest, callId, faults, started).catch(() => {});
        res.writeHead(202, { 'x-call-id': callId, 'x-start-time': String(started * 1e6), 'content-length': 0 });
        return void res.end();
      }
      const outcome = await invoke(fn, req, body, rest, callId, false);
      if (!outcome) return;
      outcome.reply.headers['x-duration-seconds'] = ((Date.now() - started) / 1000).toFixed(6);
      await sendReply(req, res, outcome.ran ? faults : NO_FAULTS, outcome.reply, closing.signal);
    } catch {
      res.destroy(); // the client went away mid-request
    }
  });

  const host = opts.host ?? '127.0.0.1';
  const { port } = await listen(server, host, opts.port ?? 0);

  return {
    port,
    url: localUrl(host, port),
    get requests() { return requests; },
    invocations,
    invocationsFrom: (client: string) => byClient.get(client) ?? 0,
    completions,
    waitForCompletion(callId, timeoutMs = 10_000) {
      const found = completions.find((c) => c.callId === callId);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => { events.off('completion', on); reject(new Error(`no async completion for ${callId} within ${timeoutMs} ms`)); }, timeoutMs);
        const on = (c: AsyncCompletion) => {
          if (c.callId !== callId) return;
          clearTimeout(timer);
          events.off('completion', on);
          resolve(c);
        };
        events.on('completion', on);
      });
    },
    setFaults(spec, functionName) {
      if (functionName === undefined) gatewayFaults = parseFaults(spec);
      else if (fns.has(functionName)) fns.get(functionName)!.faults = parseFaults(spec);
      else throw new Error(`no such function: ${functionName}`);
    },
    async close() {
      closing.abort();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

/** POSTs an async result like the queue-worker: one request, no keep-alive; resolves the status. */
function postCallback(url: string, body: Buffer, headers: OutgoingHttpHeaders, signal: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', agent: false, signal, headers: { ...headers, 'content-length': body.length, connection: 'close' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

if (require.main === module) {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8082' }, host: { type: 'string', default: '127.0.0.1' }, fault: { type: 'string' },
      functions: { type: 'string' }, 'cold-start-ms': { type: 'string' }, 'idle-ms': { type: 'string' },
      'cold-start-fails': { type: 'boolean' }, warm: { type: 'boolean' },
    },
  });
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  startFunctions({
    port: Number(values.port), host: values.host, faults: values.fault,
    functions: values.functions?.split(',').map((f) => f.trim()).filter(Boolean),
    coldStartMs: num(values['cold-start-ms']), idleMs: num(values['idle-ms']),
    coldStartFails: values['cold-start-fails'], startWarm: values.warm,
  }).then((fx) => {
    console.log(`functions fixture (OpenFaaS gateway API) listening on ${fx.url}`);
    const stop = () => void fx.close().then(() => process.exit(0));
    process.once('SIGINT', stop).once('SIGTERM', stop);
  }, (err: Error) => {
    console.error(`functions fixture: ${err.message}`);
    process.exit(1);
  });
}
