// Hostile requests against nginx (on the compiled config) and the Node gateway alike: path and
// header tricks, smuggling attempts, huge bodies, slow clients. For every request of the corpus
// (request-corpus-table.ts): both answer with the same status class (exact codes where the table
// documents a genuine difference), the upstream fixtures saw the same request from both or none
// at all, and afterwards the gateway still serves a health request.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { exchange, sleep, type Exchange } from './helpers/raw-http';
import { startGateway, type GatewayHandle } from '../gateway/runtime/serve-gateway';
import { ROUTING_MANIFEST } from './helpers/manifests';
import { requireNginx } from './helpers/nginx';
import { startStack, type Stack } from './helpers/stack';
import { requestCorpus } from './request-corpus-table';
import { observe, pick } from './helpers/parity';

const HEAVY = process.env.STRANGLER_HEAVY === '1';
const BIG_BODY = HEAVY ? 45 * 1024 * 1024 : 4 * 1024 * 1024; // under the manifest's 50m default
const SLOWLORIS = HEAVY ? 400 : 100;

/**
 * What the corpus compares: everything the parity helper observes but the function instance; the
 * request's tag (its source address) reads "client" in the headers the upstream received.
 */
function observeCorpus(e: Exchange, client: string) {
  const seen = pick(observe(e), ['route', 'target', 'servedBy', 'fn', 'url', 'bodyBytes', 'bodySha', 'upstreamHeaders']);
  if (seen.upstreamHeaders) seen.upstreamHeaders = JSON.parse(JSON.stringify(seen.upstreamHeaders).split(client).join('client'));
  return seen;
}

const cls = (s: number) => (s <= 0 ? s : Math.floor(s / 100) * 100);

describe('request corpus: hostile requests to nginx and the gateway alike', function () {
  this.timeout(HEAVY ? 600_000 : 180_000);
  let stack: Stack;
  let gateway: GatewayHandle;

  before(async function () {
    requireNginx(this);
    stack = await startStack(ROUTING_MANIFEST);
    gateway = await startGateway({ manifestPath: stack.manifestPath, watch: false, env: { STRANGLER_ADMIN_TOKEN: 'corpus-test-token' } });
  });
  after(async () => {
    await gateway?.close(1000);
    await stack?.stop();
  });

  async function healthy(port: number): Promise<boolean> {
    const e = await exchange(port, { raw: Buffer.from('GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n') }, 10_000);
    return e.status === 200 && observe(e).servedBy === 'legacy';
  }

  it('answers every request of the corpus in the same class as nginx, reaching the same upstream or none', async () => {
    const corpus = requestCorpus(BIG_BODY);
    const problems: string[] = [];
    const codes = new Map<string, number>();
    let refused = 0;
    // Each request is sent from its own loopback address, which both pass upstream as X-Real-IP:
    // a hit is attributed by that tag, not by timing.
    const tag = (side: 1 | 2, i: number) => `127.${side}.${i >> 8}.${i & 255}`;
    const reachedFrom = (client: string) => stack.legacy.requestsFrom(client) + stack.search.requestsFrom(client) + stack.functions.invocationsFrom(client);
    /** Upstream counts to judge once arrivals have settled: equal, or the gateway's at most nginx's. */
    const counted: { i: number; rule: 'equal' | 'at_most'; why: string; say: (why: string) => void }[] = [];
    for (const [i, c] of corpus.entries()) {
      const n = await exchange(stack.ports.nginx, { ...c, from: tag(1, i) });
      const g = await exchange(gateway.listen.port, { ...c, from: tag(2, i) });
      const sn = observeCorpus(n, tag(1, i));
      const sg = observeCorpus(g, tag(2, i));
      const say = (why: string) => problems.push(`${c.name}: ${why}\n    nginx:   ${JSON.stringify(sn).slice(0, 400)} (upstream requests ${reachedFrom(tag(1, i))})\n    gateway: ${JSON.stringify(sg).slice(0, 400)} (upstream requests ${reachedFrom(tag(2, i))})`);
      codes.set(`${n.status}/${g.status}`, (codes.get(`${n.status}/${g.status}`) ?? 0) + 1);
      if (cls(n.status) >= 400 && cls(g.status) >= 400) refused++;

      if (g.status === -1) say('the gateway never answered');
      else if (c.differs) {
        if (n.status !== c.differs.nginx || g.status !== c.differs.gateway) say(`documented difference no longer holds (expected nginx ${c.differs.nginx}, gateway ${c.differs.gateway})`);
        // Never more upstream traffic than nginx sends, unless the table says the gateway serves it.
        if (c.differs.gateway >= 400) counted.push({ i, rule: 'at_most', why: 'the gateway sent more to the upstreams than nginx', say });
      } else if (n.status !== g.status) {
        say(cls(n.status) === cls(g.status) ? 'same class, different code: document it in the table' : 'different status class');
      } else if (sn.servedBy || sg.servedBy) {
        try { assert.deepEqual(sg, sn); } catch { say('served differently'); }
        counted.push({ i, rule: 'equal', why: 'a different number of upstream requests', say });
      } else {
        // Refused by both: no upstream served it. (A chunked body over the limit is relayed
        // until it crosses the limit, then cut: the function sees a broken request, never runs.)
        counted.push({ i, rule: 'equal', why: 'refused by both, but the upstreams served a different number of requests', say });
      }
      if (!(await healthy(gateway.listen.port))) say('the gateway stopped serving');
    }
    // An arrival can trail the answer (a body relayed until it crossed the limit): poll until the
    // tagged counts agree, then judge whatever still disagrees.
    const holds = (k: (typeof counted)[number]) => {
      const nReached = reachedFrom(tag(1, k.i));
      const gReached = reachedFrom(tag(2, k.i));
      return k.rule === 'equal' ? nReached === gReached : gReached <= nReached;
    };
    const deadline = Date.now() + 5_000;
    while (!counted.every(holds) && Date.now() < deadline) await sleep(20);
    for (const k of counted) if (!holds(k)) k.say(k.why);
    const summary = [...codes].sort().map(([k, v]) => `${k}×${v}`).join(' ');
    console.log(`      request corpus: ${corpus.length} requests, ${problems.length} disagreements (${refused} refused by both; nginx/gateway statuses ${summary})`);
    assert.equal(problems.length, 0, problems.join('\n'));
  });

  it(`keeps serving while ${SLOWLORIS} slowloris connections dribble headers, and while bodies stall`, async function () {
    const held: Socket[] = [];
    const open = (port: number, first: string) => new Promise<Socket>((resolve) => {
      const s = connect(port, '127.0.0.1', () => { s.write(first); resolve(s); });
      s.on('error', () => undefined);
    });
    try {
      for (const port of [stack.ports.nginx, gateway.listen.port]) {
        for (let i = 0; i < SLOWLORIS; i++) {
          held.push(await open(port, i % 2
            ? `GET /images/a.png HTTP/1.1\r\nHost: localhost\r\nX-T-${i}: `
            : `POST /api/v1/orders HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\n{"a":`));
        }
      }
      for (let round = 0; round < 3; round++) {
        for (const s of held) s.write('a');
        await sleep(200);
        assert.ok(await healthy(stack.ports.nginx), `nginx serves during round ${round}`);
        assert.ok(await healthy(gateway.listen.port), `the gateway serves during round ${round}`);
      }
      const before = stack.legacy.requests;
      // Dropped mid-head: nothing reaches an upstream. Dropped mid-body: the gateway relays the
      // start of the body as nginx would not, so only ask that the servers survive.
      for (const s of held) s.destroy();
      held.length = 0;
      await sleep(200);
      assert.ok(await healthy(gateway.listen.port), 'the gateway serves after the slow clients left');
      assert.ok(stack.legacy.requests - before <= 2 + 2 * SLOWLORIS, 'bounded upstream traffic');
      console.log(`      slow clients: ${2 * SLOWLORIS} held connections, both kept serving`);
    } finally {
      for (const s of held) s.destroy();
    }
  });
});
