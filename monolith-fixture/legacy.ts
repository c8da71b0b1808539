// The legacy monolith the strangler sits in front of (think PHP or Java): a plain node:http
// server that serves everything no route claims, echoes each request exactly as it arrived,
// and can be told to misbehave (see faults.ts) so gateways can be tested against real failures.
import { pbkdf2, randomUUID } from 'node:crypto';
import { createServer, STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { parseArgs, promisify } from 'node:util';
import { WebSocketServer } from 'ws';
import { echo, jsonReply, parseFaults, readBody, requestFaultSpec, sendReply, sleep, textReply, type BodyInfo, type Faults, type Reply } from './faults.js';
import { localUrl } from '../gateway/util/address.js';
import { priceQuote, skuOf } from './prices.js';
import { listen } from '../gateway/util/http-server.js';

export interface LegacyOptions { port?: number; host?: string; faults?: string; name?: string }
export interface LegacyFixture {
  port: number; url: string; close(): Promise<void>; readonly requests: number;
  /** Requests a proxy forwarded for this client address (its X-Real-IP): tests tag requests by source address. */
  requestsFrom(client: string): number;
}

const pbkdf2Async = promisify(pbkdf2);
const REPORT_PAGE_ITERATIONS = 250_000; // ~60 ms of SHA-256 per page on a laptop core
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const PNG_1X1 = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
const GIF_1X1 = Buffer.from('R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==', 'base64');
const HOME = `<!doctype html>
<html><head><meta charset="utf-8"><title>Acme Parcel (legacy)</title></head>
<body><h1>Acme Parcel</h1><p>Served by the legacy monolith.</p>
<img src="/images/logo.png" alt="logo"><a href="/api/v1/track/1">Track a parcel</a></body></html>
`;

/** Builds the answer for one fully-read request; faults are applied afterwards. */
async function route(req: IncomingMessage, body: BodyInfo, instance: string | undefined): Promise<Reply> {
  const base = { served_by: 'legacy', ...(instance ? { instance } : {}), ...echo(req, body) };
  const path = base.path;
  const method = req.method ?? 'GET';
  const track = /^\/api\/v1\/track\/([^/]+)$/.exec(path);

  if (path === '/') return { status: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, body: Buffer.from(HOME) };
  if (path === '/health') return jsonReply(200, { ...base, status: 'ok' });
  if (track && (method === 'GET' || method === 'HEAD')) {
    let id = track[1];
    try { id = decodeURIComponent(id); } catch { /* keep the raw segment */ }
    return jsonReply(200, { ...base, package: { id, status: 'in_transit', carrier: 'acme', eta_days: 2 } });
  }
  const sku = path.startsWith('/api/v1/prices/') ? skuOf(path) : null;
  if (sku !== null && (method === 'GET' || method === 'HEAD')) return jsonReply(200, priceQuote(sku, 'legacy'));
  if (path === '/api/v1/orders' && method === 'POST') {
    let order: unknown;
    try { order = JSON.parse(body.buffer!.toString('utf8')); } catch {
      return jsonReply(400, { ...base, error: 'request body is not valid JSON' });
    }
    return jsonReply(201, { ...base, order: { id: randomUUID(), status: 'accepted', received: order } }, { location: '/api/v1/orders/new' });
  }
  if (path === '/generate-report') {
    // Deliberately CPU-heavy (the reason this route is the first to move to a function), but
    // bounded, and run on the libuv pool so the fixture itself stays responsive.
    const started = Date.now();
    let digest = Buffer.from(body.sha256, 'hex');
    for (let page = 0; page < 4; page++) digest = await pbkdf2Async(digest, `page-${page}`, REPORT_PAGE_ITERATIONS, 32, 'sha256');
    return jsonReply(200, { ...base, report: { pages: 4, digest: digest.toString('hex'), took_ms: Date.now() - started } });
  }
  if (path.startsWith('/images/')) {
    const gif = path.toLowerCase().endsWith('.gif');
    const etag = gif ? '"gif-1x1"' : '"png-1x1"';
    if (req.headers['if-none-match'] === etag) return { status: 304, headers: { etag }, body: Buffer.alloc(0) };
    return { status: 200, headers: { 'content-type': gif ? 'image/gif' : 'image/png', 'cache-control': 'public, max-age=3600', etag }, body: gif ? GIF_1X1 : PNG_1X1 };
  }
  if (path === '/ws') return jsonReply(426, { ...base, error: 'WebSocket upgrade required' }, { upgrade: 'websocket' });
  return jsonReply(200, base); // the monolith serves whatever nobody else claims
}

export async function startLegacy(opts: LegacyOptions = {}): Promise<LegacyFixture> {
  const startFaults = parseFaults(opts.faults); // throws early on a bad spec
  const closing = new AbortController();
  let requests = 0;
  const byClient = new Map<string, number>();

  const faultsFor = (req: IncomingMessage): Faults => parseFaults(requestFaultSpec(req), startFaults);

  const count = (req: IncomingMessage) => {
    requests++;
    const client = req.headers['x-real-ip'];
    if (typeof client === 'string') byClient.set(client, (byClient.get(client) ?? 0) + 1);
  };

  const server: Server = createServer(async (req, res) => {
    count(req);
    res.setHeader('x-served-by', 'legacy');
    try {
      const keep = req.method === 'POST' && (req.url ?? '').split('?')[0] === '/api/v1/orders';
      const body = await readBody(req, keep);
      let faults: Faults;
      try { faults = faultsFor(req); } catch (err) {
        await sendReply(req, res, startFaults, textReply(400, `${(err as Error).message}\n`), closing.signal);
        return;
      }
      await sendReply(req, res, faults, await route(req, body, opts.name), closing.signal);
    } catch {
      res.destroy(); // the client went away mid-request
    }
  });

  // WebSocket echo at /ws. Other upgrade requests get the ordinary JSON answer, the way a
  // server that does not speak WebSocket on that path would ignore the Upgrade header.
  const wss = new WebSocketServer({ noServer: true });
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  server.on('upgrade', async (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    count(req);
    socket.on('error', () => socket.destroy());
    const path = (req.url ?? '').split('?')[0];
    let faults: Faults;
    try { faults = faultsFor(req); } catch { faults = { ...startFaults, status: 400 }; }
    if (faults.delayMs > 0 && !(await sleep(faults.delayMs, closing.signal))) return;
    if (faults.hang) return;
    if (faults.reset) return void socket.destroy();
    if (path !== '/ws' || faults.status !== undefined) {
      const r = jsonReply(faults.status ?? 200, { served_by: 'legacy', ...echo(req, { bytes: 0, sha256: EMPTY_SHA256 }) });
      socket.end(`HTTP/1.1 ${r.status} ${STATUS_CODES[r.status] ?? 'Unknown'}\r\ncontent-type: application/json; charset=utf-8\r\n` +
        `x-served-by: legacy\r\ncontent-length: ${r.body.length}\r\nconnection: close\r\n\r\n${r.body.toString('utf8')}`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  const host = opts.host ?? '127.0.0.1';
  const { port } = await listen(server, host, opts.port ?? 0);

  return {
    port,
    url: localUrl(host, port),
    get requests() { return requests; },
    requestsFrom: (client: string) => byClient.get(client) ?? 0,
    async close() {
      closing.abort();
      for (const ws of wss.clients) ws.terminate(); // upgraded sockets are no longer the server's
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections(); // keep-alive, hung and stalled connections too
      await closed;
    },
  };
}

if (require.main === module) {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '8081' }, host: { type: 'string', default: '127.0.0.1' }, fault: { type: 'string' }, name: { type: 'string' } } });
  startLegacy({ port: Number(values.port), host: values.host, faults: values.fault, name: values.name }).then((fx) => {
    console.log(`legacy fixture listening on ${fx.url}`);
    const stop = () => void fx.close().then(() => process.exit(0));
    process.once('SIGINT', stop).once('SIGTERM', stop);
  }, (err: Error) => {
    console.error(`legacy fixture: ${err.message}`);
    process.exit(1);
  });
}
