// Memory back after a storm of connections: once many connections have closed, the server's
// process collects (bench/idle-connections.ts measures what that returns); a few closing does not.
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { collectAfterStorms, STORM_CONNECTIONS, type StormWatch } from '../gateway/runtime/after-storm-gc';
import { pollUntil } from './helpers/poll';

function connections(server: Server): Promise<number> {
  return new Promise((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
}

async function openClients(port: number, n: number): Promise<Socket[]> {
  const out: Socket[] = [];
  for (let i = 0; i < n; i += 200) {
    out.push(...await Promise.all(Array.from({ length: Math.min(200, n - i) }, () => new Promise<Socket>((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(s));
      s.once('error', reject);
    }))));
  }
  return out;
}

describe('memory back after a storm of connections', function () {
  this.timeout(30_000);
  let server: Server;
  let watch: StormWatch;
  let collections = 0;

  beforeEach(async () => {
    collections = 0;
    server = createServer((s) => s.on('error', () => s.destroy()));
    watch = collectAfterStorms(server, () => collections++);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });

  afterEach(async () => {
    watch.stop();
    await new Promise((r) => server.close(r));
  });

  const port = () => (server.address() as { port: number }).port;

  it(`collects once ${STORM_CONNECTIONS} connections have closed, and not before`, async () => {
    const clients = await openClients(port(), STORM_CONNECTIONS + 200);
    await pollUntil('every connection accepted', async () => (await connections(server)) === clients.length);
    for (const s of clients.slice(0, STORM_CONNECTIONS - 1)) s.destroy();
    await pollUntil('the first closes seen', async () => (await connections(server)) === 201);
    assert.equal(watch.pending(), false, 'fewer than a storm closed: nothing scheduled');
    for (const s of clients.slice(STORM_CONNECTIONS - 1)) s.destroy();
    await pollUntil('all closes seen', async () => (await connections(server)) === 0);
    assert.equal(watch.pending(), true, 'a storm has passed: a collection is scheduled');
    await pollUntil('the collection done', () => collections === 1);
  });

  it('a few hundred connections opening and closing never collect', async () => {
    for (let round = 0; round < 3; round++) {
      const clients = await openClients(port(), 400);
      await pollUntil('connections accepted', async () => (await connections(server)) === 400);
      for (const s of clients) s.destroy();
      await pollUntil('connections closed', async () => (await connections(server)) === 0);
      assert.equal(watch.pending(), false);
    }
    assert.equal(collections, 0);
  });
});
