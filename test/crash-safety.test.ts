// A real `strangler serve` child killed with SIGKILL while PATCHes are in flight, then restarted,
// again and again: the state file always parses, and after each restart the route's effective
// percent is one the admin API acknowledged (or the one in flight when the kill landed).
// 20 restarts by default, 200 with STRANGLER_HEAVY=1 (test/state-store.test.ts kills a bare
// StateStore writer 50 times as well).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { freePort } from './helpers/net';

const HEAVY = process.env.STRANGLER_HEAVY === '1';
const ROUNDS = HEAVY ? 200 : 20;
const TOKEN = 'crash-safety-token';
const BIN = join(__dirname, '..', '..', 'bin', 'strangler.js');

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('crash safety: kill -9 of strangler serve during changes', function () {
  this.timeout(HEAVY ? 900_000 : 120_000);
  let dir: string;
  let child: ChildProcess | null = null;

  before(() => { dir = mkdtempSync(join(tmpdir(), 'strangler-crash-')); });
  after(() => {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  async function serve(manifest: string, listen: number, admin: number): Promise<ChildProcess> {
    const c = spawn(process.execPath, [BIN, 'serve', manifest, '--listen', `127.0.0.1:${listen}`, '--admin', `127.0.0.1:${admin}`],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, STRANGLER_ADMIN_TOKEN: TOKEN } });
    let out = '';
    let err = '';
    c.stderr!.on('data', (d: Buffer) => { err += d; });
    await new Promise<void>((resolve, reject) => {
      c.stdout!.on('data', (d: Buffer) => {
        out += d;
        if (/^ready$/m.test(out)) resolve();
      });
      c.once('exit', (code) => reject(new Error(`strangler serve exited ${code} before ready:\n${out}\n${err}`)));
    });
    return c;
  }

  it(`${ROUNDS} kills during PATCHes: the state file always parses and holds an acknowledged percent`, async () => {
    const [listen, admin, legacy, fns] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const manifest = join(dir, 'routes.yaml');
    writeFileSync(manifest, `version: 1
listen: 8080
upstreams:
  legacy: { servers: ["127.0.0.1:${legacy}"] }
  functions: { servers: ["127.0.0.1:${fns}"] }
routes:
  - { id: track, match: { prefix: /api/v1/track }, to: "function:track-package", canary: { percent: 10 } }
`);
    const stateFile = join(dir, 'routes.state.json');
    const url = `http://127.0.0.1:${admin}/routes/track`;
    const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    let acknowledged = 10; // the manifest's percent until the first PATCH is acknowledged
    let patches = 0;
    let inFlightAtKill = 0;
    for (let round = 0; round < ROUNDS; round++) {
      child = await serve(manifest, listen, admin);
      // The state after a restart: the last acknowledged percent, or the one in flight at the kill.
      const seen = await request(url, { headers: auth });
      const view = await seen.body.json() as { effective_percent: number };
      assert.equal(seen.statusCode, 200);
      const candidates = new Set([acknowledged, ...(round > 0 ? [inFlightAtKill] : [])]);
      assert.ok(candidates.has(view.effective_percent), `round ${round}: effective ${view.effective_percent}%, acknowledged ${acknowledged}%, in flight ${inFlightAtKill}%`);
      acknowledged = view.effective_percent;

      // PATCH as fast as the server acknowledges, and kill it at a random moment.
      let stop = false;
      const patching = (async () => {
        for (let i = 0; !stop; i++) {
          const percent = Math.round(Math.random() * 10000) / 100;
          inFlightAtKill = percent;
          try {
            const res = await request(url, { method: 'PATCH', headers: auth, body: JSON.stringify({ percent }) });
            await res.body.dump();
            if (res.statusCode === 200) { acknowledged = percent; patches++; }
            else throw new Error(`PATCH answered ${res.statusCode}`);
          } catch (err) {
            if (!stop) throw err;
          }
        }
      })();
      await sleep(20 + Math.random() * 80);
      const exited = new Promise((r) => child!.once('exit', r));
      stop = true;
      child.kill('SIGKILL');
      await exited;
      child = null;
      await patching;
      // Whatever moment the kill hit, the file is whole and valid.
      let text = '{"version":0,"routes":{}}'; // no PATCH ever reached the disk: no file yet
      try { text = readFileSync(stateFile, 'utf8'); } catch (err) { if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; }
      const data = JSON.parse(text) as { version: number; routes: Record<string, { percent: number }> };
      assert.ok(Number.isSafeInteger(data.version) && data.version >= 0, `round ${round}: version ${data.version} is a change count`);
      const inFile = data.routes.track?.percent ?? 10;
      assert.ok(inFile === acknowledged || inFile === inFlightAtKill, `round ${round}: file holds ${inFile}%, acknowledged ${acknowledged}%`);
    }
    console.log(`      crash safety: ${ROUNDS} kill -9 restarts of strangler serve, ${patches} acknowledged PATCHes, state always valid`);
  });
});
