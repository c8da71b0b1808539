// `strangler serve` with its access log, as an operator runs it: one line per request in the
// file gateway.access_log names; SIGUSR1 after logrotate moved the file starts a new one, in the
// serve process and in --workers; /metrics counts the lines; status and /routes split each
// route's requests by side.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFunctions, type FunctionsFixture } from '../monolith-fixture/functions';
import { startLegacy, type LegacyFixture } from '../monolith-fixture/legacy';
import { loggedLines } from './helpers/access-lines';
import { freePort } from './helpers/net';
import { raw } from './helpers/node-request';
import { runCli, startServeChild, type ServeChild } from './helpers/serve-child';

const TOKEN = 'serve-access-log-test';

function countLines(path: string): number {
  return loggedLines(path).length;
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10)); // polling a file another process writes
  }
}

for (const workers of [0, 2]) {
  describe(`strangler serve: access log and per-side stats${workers ? ` (--workers ${workers})` : ''}`, function () {
    this.timeout(60_000);
    let legacy: LegacyFixture;
    let functions: FunctionsFixture;
    let serve: ServeChild;
    let dir: string;
    let logPath: string;
    const admin = () => ['--admin', `127.0.0.1:${serve.adminPort}`];

    before(async () => {
      legacy = await startLegacy();
      functions = await startFunctions({ startWarm: true });
      dir = mkdtempSync(join(tmpdir(), 'strangler-serve-log-'));
      logPath = join(dir, 'logs', 'gateway.log');
      const manifest = join(dir, 'routes.yaml');
      require('node:fs').mkdirSync(join(dir, 'logs'));
      writeFileSync(manifest, `version: 1
listen: 8080
upstreams:
  legacy: { servers: ["127.0.0.1:${legacy.port}"] }
  functions: { servers: ["127.0.0.1:${functions.port}"] }
gateway:
  listen: "127.0.0.1:${await freePort()}"
  admin: "127.0.0.1:${await freePort()}"
  access_log: logs/gateway.log
routes:
  - id: track
    match: { prefix: /api/v1/track }
    to: function:track-package
`);
      serve = await startServeChild([manifest, ...(workers ? ['--workers', String(workers)] : [])], { STRANGLER_ADMIN_TOKEN: TOKEN });
      assert.match(serve.stdout(), new RegExp(`^  access +${logPath.replace(/[.]/g, '\\.')}$`, 'm'));
    });
    after(async () => {
      await serve?.kill();
      await Promise.all([legacy?.close(), functions?.close()]);
    });

    const get = (path: string) => raw(`http://127.0.0.1:${serve.trafficPort}`, path);

    it('one line per request, in the file the manifest names (relative to the manifest)', async () => {
      for (let i = 0; i < 5; i++) assert.equal((await get(`/api/v1/track/${i}`)).status, 200);
      await until(() => countLines(logPath) === 5, '5 lines');
      const line = JSON.parse(readFileSync(logPath, 'utf8').split('\n')[0]);
      assert.equal(line.route, 'track');
      assert.equal(line.target, 'function:track-package');
    });

    it('SIGUSR1 after the file was moved away: new lines go to a new file', async () => {
      renameSync(logPath, `${logPath}.1`);
      const mark = serve.mark();
      serve.child.kill('SIGUSR1');
      if (!workers) await serve.waitForOutput(/SIGUSR1: reopening the access log/, 10_000, mark);
      // The workers reopen when the primary's message arrives: wait until a request lands in the
      // new file, then every later one must (connections are spread over the workers).
      let n = 0;
      await until(() => { void get(`/probe/${n++}`); return countLines(logPath) > 0; }, 'a line in the new file');
      const old = countLines(`${logPath}.1`);
      for (let i = 0; i < 10; i++) assert.equal((await get(`/after-rotation/${i}`)).status, 200);
      await until(() => readFileSync(logPath, 'utf8').split('"/after-rotation/').length - 1 === 10, 'the 10 requests after rotation in the new file');
      assert.doesNotMatch(readFileSync(`${logPath}.1`, 'utf8'), /after-rotation/);
      assert.ok(old >= 5);
      assert.ok(serve.child.exitCode === null, 'still running');
    });

    it('status and /routes split the requests of a route by side; /metrics counts the log lines', async () => {
      let r = await runCli(['flip', 'track', 'legacy', ...admin()], { STRANGLER_ADMIN_TOKEN: TOKEN });
      assert.equal(r.status, 0, r.stderr);
      for (let i = 0; i < 3; i++) await get(`/api/v1/track/l${i}`);
      r = await runCli(['status', '--json', ...admin()], { STRANGLER_ADMIN_TOKEN: TOKEN });
      const track = JSON.parse(r.stdout).routes.find((x: { id: string }) => x.id === 'track');
      assert.deepEqual(track.stats.by_target, { 'function:track-package': { requests: 5, errors: 0 }, legacy: { requests: 3, errors: 0 } });
      r = await runCli(['status', ...admin()], { STRANGLER_ADMIN_TOKEN: TOKEN });
      assert.match(r.stdout, /^track +\/api\/v1\/track +function:track-package +100% +0%\* +8 +5 +3 /m);
      const metrics = await raw(`http://127.0.0.1:${serve.adminPort}`, '/metrics', { headers: { authorization: `Bearer ${TOKEN}` } });
      assert.match(metrics.body.toString(), /^strangler_access_log_lines_total \d+/m);
      assert.match(metrics.body.toString(), /^strangler_access_log_dropped_lines_total 0$/m);
    });
  });
}
