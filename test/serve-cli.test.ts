// `strangler serve` as operators run it (node bin/strangler.js serve, a child process), and the
// commands that talk to it: what it prints, reloads on a file edit and on SIGHUP, an invalid
// edit that keeps the last good table serving, SIGTERM that lets requests in flight finish, and
// `strangler flip/canary/status` with their exit codes.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { request } from 'undici';
import { ROUTING_MANIFEST } from './helpers/manifests';
import { freePort } from './helpers/net';
import { runCli, startServeChild, type ServeChild } from './helpers/serve-child';
import { startStack, type Stack } from './helpers/stack';

/** No token in the environment: serve generates the token file and the CLI reads it. */
const NO_ENV_TOKEN = { STRANGLER_ADMIN_TOKEN: '' };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(false); });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

describe('strangler serve (child process) and flip/canary/status', function () {
  this.timeout(60_000);
  let stack: Stack;
  let gw: ServeChild;
  let manifest: string;
  let adminArgs: string[];

  async function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; servedBy: string; route: string }> {
    const res = await request(`http://127.0.0.1:${gw.trafficPort}${path}`, { headers });
    await res.body.dump();
    return { status: res.statusCode, servedBy: String(res.headers['x-served-by']), route: String(res.headers['x-strangler-route']) };
  }

  before(async () => {
    stack = await startStack(ROUTING_MANIFEST, { nginx: false });
    manifest = stack.manifestPath;
    gw = await startServeChild([manifest, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0'], NO_ENV_TOKEN);
    adminArgs = ['--manifest', manifest, '--admin', `127.0.0.1:${gw.adminPort}`];
  });
  after(async () => {
    await gw?.kill();
    await stack?.stop();
  });

  describe('start', () => {
    it('prints the traffic and admin addresses, the token file path (created, 0600), state and audit paths, then ready', () => {
      const dir = dirname(manifest);
      const out = gw.stdout();
      assert.match(out, new RegExp(`^strangler serve: ${manifest} \\(12 routes, sha256 [0-9a-f]{12}\\)$`, 'm'));
      assert.match(out, /^ {2}traffic +http:\/\/127\.0\.0\.1:\d+$/m);
      assert.match(out, /^ {2}admin +http:\/\/127\.0\.0\.1:\d+$/m);
      assert.match(out, new RegExp(`^ {2}dashboard http://127\\.0\\.0\\.1:${gw.adminPort}/ui/$`, 'm'));
      assert.equal(gw.tokenLine, `${join(dir, 'routes.token')} (created)`);
      assert.equal(statSync(join(dir, 'routes.token')).mode & 0o777, 0o600);
      assert.match(out, new RegExp(`^ {2}state +${join(dir, 'routes.state.json')}$`, 'm'));
      assert.match(out, new RegExp(`^ {2}audit +${join(dir, 'routes.audit.jsonl')}$`, 'm'));
      assert.notEqual(gw.trafficPort, gw.adminPort);
      assert.equal(gw.stderr(), '', 'nothing on stderr at a clean start');
    });

    it('serves the manifest: a function route, a canary-0 route, unmatched traffic', async () => {
      assert.deepEqual(await get('/api/v1/track/1'), { status: 200, servedBy: 'function', route: 'track' });
      assert.deepEqual(await get('/off/1'), { status: 200, servedBy: 'legacy', route: 'off' });
      assert.deepEqual(await get('/health'), { status: 200, servedBy: 'legacy', route: 'default' });
    });

    it('an invalid manifest: diagnostics with file and line, exit 1, nothing listening', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'strangler-serve-bad-'));
      const bad = join(dir, 'routes.yaml');
      const port = await freePort();
      writeFileSync(bad, stack.manifestText.replace('match: { prefix: /search }', 'match: { prefix: "/se arch" }').replace(/listen: "127\.0\.0\.1:\d+", admin/, `listen: "127.0.0.1:${port}", admin`));
      const r = await runCli(['serve', bad]);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`${bad.replace(/[.]/g, '\\.')}:\\d+:\\d+: error STR_\\w+: routes\\[6\\]\\.match\\.prefix`));
      assert.match(r.stderr, /is invalid, not starting/);
      assert.ok(await refused(port), 'nothing listens');
    });

    it('a corrupt state file: exit 1 with the file and the problem', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'strangler-serve-state-'));
      const state = join(dir, 'state.json');
      writeFileSync(state, '{"version": 1, "routes": {"track": {"percent": 300}}}');
      const r = await runCli(['serve', manifest, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--state', state], NO_ENV_TOKEN);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`state file ${state.replace(/[.]/g, '\\.')}: routes\\["track"\\]\\.percent must be 0\\.\\.100`));
    });

    it('a usage error exits 2', async () => {
      const r = await runCli(['serve', manifest, '--listen']);
      assert.equal(r.status, 2);
      assert.match(r.stderr, /Usage: strangler serve/);
    });

    it('a malformed --listen or --admin is a usage error naming the option: exit 2, nothing started', async () => {
      for (const [option, bad] of [['--listen', 'nonsense'], ['--listen', '127.0.0.1:99999'], ['--admin', ':x']]) {
        const r = await runCli(['serve', manifest, option, bad], NO_ENV_TOKEN);
        assert.equal(r.status, 2, `${option} ${bad}: ${r.stderr}`);
        assert.match(r.stderr, new RegExp(`^strangler serve: ${option}: bad address "${bad}"`, 'm'));
      }
    });
  });

  describe('flip, canary, status against it', () => {
    it('status: a table of the routes, exit 0', async () => {
      const r = await runCli(['status', ...adminArgs], NO_ENV_TOKEN);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^ROUTE +MATCH +TARGET +MANIFEST +EFFECTIVE +REQUESTS +TO +LEGACY +ERRORS +FALLBACKS$/m);
      assert.match(r.stdout, /^images +\/images\/ +function:image-resizer +30% +30%/m);
      assert.match(r.stdout, /^track +\/api\/v1\/track +function:track-package +100% +100% +[1-9]/m);
      const json = await runCli(['status', '--json', ...adminArgs], NO_ENV_TOKEN);
      assert.equal(json.status, 0);
      assert.equal(JSON.parse(json.stdout).routes.length, 13);
    });

    it('flip ROUTE legacy / function / manifest: exit 0, effective from the next request', async () => {
      let r = await runCli(['flip', 'track', 'legacy', ...adminArgs], NO_ENV_TOKEN);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^track: 100% -> 0% to function:track-package, the rest to legacy \(runtime override; manifest says 100%\)/);
      assert.equal((await get('/api/v1/track/2')).servedBy, 'legacy');
      r = await runCli(['flip', 'off', 'function', ...adminArgs], NO_ENV_TOKEN);
      assert.equal(r.status, 0, r.stderr);
      assert.equal((await get('/off/2')).servedBy, 'function');
      r = await runCli(['flip', 'track', 'manifest', ...adminArgs], NO_ENV_TOKEN);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /the manifest's percent, no override/);
      assert.equal((await get('/api/v1/track/3')).servedBy, 'function');
      r = await runCli(['flip', 'off', 'manifest', ...adminArgs], NO_ENV_TOKEN);
      assert.equal(r.status, 0, r.stderr);
    });

    it('canary ROUTE PERCENT: exit 0 and the new percent in status', async () => {
      const r = await runCli(['canary', 'images', '12.5%', ...adminArgs], NO_ENV_TOKEN);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^images: 30% -> 12\.5% to function:image-resizer/);
      const s = await runCli(['status', '--json', ...adminArgs], NO_ENV_TOKEN);
      const images = JSON.parse(s.stdout).routes.find((x: { id: string }) => x.id === 'images');
      assert.equal(images.effective_percent, 12.5);
      const table = await runCli(['status', ...adminArgs], NO_ENV_TOKEN);
      assert.match(table.stdout, /^images +\/images\/ +function:image-resizer +30% +12\.5%\*/m);
      assert.match(table.stdout, /\* runtime override/);
      assert.equal((await runCli(['canary', 'images', 'manifest', ...adminArgs], NO_ENV_TOKEN)).status, 0);
    });

    it('a wrong token: exit 1 with a clear message, and nothing changes', async () => {
      const r = await runCli(['flip', 'track', 'legacy', ...adminArgs], { STRANGLER_ADMIN_TOKEN: 'not-the-token' });
      assert.equal(r.status, 1);
      assert.match(r.stderr, /^strangler flip: the admin API refused the token from \$STRANGLER_ADMIN_TOKEN/);
      assert.equal(r.stdout, '');
      assert.equal((await get('/api/v1/track/4')).servedBy, 'function');
      const s = await runCli(['status', ...adminArgs], { STRANGLER_ADMIN_TOKEN: 'not-the-token' });
      assert.equal(s.status, 1);
      assert.match(s.stderr, /refused the token/);
    });

    it('usage errors exit 2; an unknown route or no gateway exits 1 with what to do', async () => {
      for (const args of [['canary', 'images', '150'], ['canary', 'images', '1.234'], ['flip', 'track', 'sideways'], ['flip', 'track'], ['status', 'extra']]) {
        const r = await runCli([...args, ...adminArgs], NO_ENV_TOKEN);
        assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, /Usage: strangler/);
      }
      for (const [args, bad] of [[['status'], 'nonsense'], [['canary', 'images', '5'], '127.0.0.1:99999'], [['flip', 'track', 'legacy'], ':x'], [['rollout', 'images', 'status'], 'nonsense']] as const) {
        const r = await runCli([...args, '--manifest', manifest, '--admin', bad], NO_ENV_TOKEN);
        assert.equal(r.status, 2, `${args.join(' ')} --admin ${bad}: ${r.stderr}`);
        assert.match(r.stderr, new RegExp(`--admin: bad address "${bad}"`));
      }
      const unknown = await runCli(['flip', 'nope', 'legacy', ...adminArgs], NO_ENV_TOKEN);
      assert.equal(unknown.status, 1);
      assert.match(unknown.stderr, /404: no route "nope"/);
      const port = await freePort();
      const down = await runCli(['status', '--manifest', manifest, '--admin', `127.0.0.1:${port}`], NO_ENV_TOKEN);
      assert.equal(down.status, 1);
      assert.match(down.stderr, /the gateway is not running: nothing answers on http:\/\/127\.0\.0\.1:\d+/);
    });

    it('without --admin the CLI finds the gateway at the manifest\'s gateway.admin', async () => {
      const other = await startServeChild([manifest, '--state', join(dirname(manifest), 'second.state.json')], NO_ENV_TOKEN);
      try {
        assert.equal(other.adminPort, stack.ports.admin);
        assert.equal(other.trafficPort, stack.ports.gateway);
        assert.equal(other.tokenLine, join(dirname(manifest), 'routes.token'), 'the existing token file, not created again');
        const r = await runCli(['canary', 'images', '5', '--manifest', manifest], NO_ENV_TOKEN);
        assert.equal(r.status, 0, r.stderr);
        const s = await runCli(['status', '--json', '--manifest', manifest], NO_ENV_TOKEN);
        assert.equal(JSON.parse(s.stdout).routes.find((x: { id: string }) => x.id === 'images').effective_percent, 5);
      } finally {
        other.child.kill('SIGTERM');
        assert.equal(await other.exited, 0);
      }
    });

    it('a port in use or no token file: exit 1 saying so', async () => {
      const busy = await runCli(['serve', manifest, '--listen', `127.0.0.1:${gw.trafficPort}`, '--admin', '127.0.0.1:0'], NO_ENV_TOKEN);
      assert.equal(busy.status, 1);
      assert.match(busy.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${gw.trafficPort}: EADDRINUSE`));
      const dir = mkdtempSync(join(tmpdir(), 'strangler-cli-notoken-'));
      writeFileSync(join(dir, 'routes.yaml'), stack.manifestText);
      const none = await runCli(['status', '--manifest', join(dir, 'routes.yaml'), '--admin', `127.0.0.1:${gw.adminPort}`], NO_ENV_TOKEN);
      assert.equal(none.status, 1);
      assert.match(none.stderr, /no admin token: set STRANGLER_ADMIN_TOKEN, or start the gateway/);
    });

    it('the audit log holds the CLI\'s changes', () => {
      const lines = readFileSync(join(dirname(manifest), 'routes.audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      assert.ok(lines.some((l) => l.route === 'track' && l.old === 100 && l.new === 0 && l.client === '127.0.0.1'));
      assert.ok(lines.some((l) => l.route === 'images' && l.new === 12.5));
    });
  });

  describe('reload', () => {
    it('a file edit reloads the manifest: the change serves from the next request', async () => {
      const mark = gw.mark();
      writeFileSync(manifest, stack.manifestText.replace('canary: { percent: 0 }', 'canary: { percent: 100 }'));
      await gw.waitForOutput(/reload \(file changed\): serving .*, 12 routes/, 10_000, mark);
      assert.equal((await get('/off/3')).servedBy, 'function');
    });

    it('SIGHUP reloads the manifest', async () => {
      const mark = gw.mark();
      // Add a route; SIGHUP right away, before the file watcher's quiet period ends.
      writeFileSync(manifest, stack.manifestText.replace('canary: { percent: 0 }', 'canary: { percent: 100 }') +
        '  - id: hup\n    match: { prefix: /hup }\n    to: function:track-package\n');
      gw.child.kill('SIGHUP');
      await gw.waitForOutput(/reload \(SIGHUP\): serving .*, 13 routes/, 10_000, mark);
      assert.deepEqual(await get('/hup/1'), { status: 200, servedBy: 'function', route: 'hup' });
    });

    it('an invalid edit keeps the last good table serving and logs each error with file and line', async () => {
      const mark = gw.mark();
      const text = stack.manifestText.replace('canary: { percent: 0 }', 'canary: { percent: 100 }') +
        '  - id: hup\n    match: { prefix: /hup }\n    to: function:track-package\n' +
        '  - id: broken\n    match: { prefix: /broken }\n    to: upstream:nowhere\n';
      writeFileSync(manifest, text);
      const line = text.split('\n').findIndex((l) => l.includes('upstream:nowhere')) + 1;
      await gw.waitForOutput(/is invalid, still serving the previous manifest/, 10_000, mark);
      await gw.waitForOutput(new RegExp(`${manifest.replace(/[.]/g, '\\.')}:${line}:\\d+: error STR_\\w+: routes\\[13\\]\\.to`), 5_000, mark);
      assert.deepEqual(await get('/hup/2'), { status: 200, servedBy: 'function', route: 'hup' }, 'the last good table serves');
      assert.equal((await get('/broken/1')).route, 'default');
      // A YAML syntax error too.
      const mark2 = gw.mark();
      writeFileSync(manifest, text.replace('routes:\n', 'routes:\n  - id: [unclosed\n'));
      gw.child.kill('SIGHUP');
      await gw.waitForOutput(new RegExp(`${manifest.replace(/[.]/g, '\\.')}:\\d+:\\d+: error STR_`), 10_000, mark2);
      assert.equal((await get('/off/4')).servedBy, 'function');
      assert.equal(gw.child.exitCode, null, 'still running');
    });

    it('a reload keeps the overrides of routes still in the manifest and drops the others', async () => {
      assert.equal((await runCli(['canary', 'hup', '40', ...adminArgs], NO_ENV_TOKEN)).status, 0);
      assert.equal((await runCli(['canary', 'images', '55', ...adminArgs], NO_ENV_TOKEN)).status, 0);
      const mark = gw.mark();
      writeFileSync(manifest, stack.manifestText); // the original: no route hup, off back at 0%
      await gw.waitForOutput(/reload \(file changed\): serving .*, 12 routes; dropped overrides of removed routes: hup/, 10_000, mark);
      const state = JSON.parse(readFileSync(join(dirname(manifest), 'routes.state.json'), 'utf8'));
      assert.deepEqual(Object.keys(state.routes), ['images']);
      assert.equal(state.routes.images.percent, 55);
      assert.equal((await get('/hup/3')).route, 'default');
      assert.equal((await get('/off/5')).servedBy, 'legacy');
      const s = await runCli(['status', '--json', ...adminArgs], NO_ENV_TOKEN);
      assert.equal(JSON.parse(s.stdout).routes.find((r: { id: string }) => r.id === 'images').effective_percent, 55);
      assert.equal((await runCli(['canary', 'images', 'manifest', ...adminArgs], NO_ENV_TOKEN)).status, 0);
    });
  });

  describe('SIGTERM', () => {
    it('stops accepting, lets a request in flight finish, and exits 0', async () => {
      const before = stack.functions.requests;
      const inFlight = request(`http://127.0.0.1:${gw.trafficPort}/api/v1/track/slow`, { headers: { 'x-fixture-fault': 'delay=1500' } });
      while (stack.functions.requests === before) await sleep(10); // it reached the function
      const mark = gw.mark();
      gw.child.kill('SIGTERM');
      await gw.waitForOutput(/SIGTERM: no new connections/, 5_000, mark);
      // The line is written just before the listener closes: allow that moment.
      let tries = 0;
      while (!(await refused(gw.trafficPort)) && tries < 100) { tries++; await sleep(20); }
      assert.ok(tries < 100, 'no new connections once SIGTERM arrived');
      const res = await inFlight;
      assert.equal(res.statusCode, 200);
      const body = await res.body.json() as { served_by: string };
      assert.equal(body.served_by, 'function');
      const stoppedAt = Date.now();
      assert.equal(await gw.exited, 0);
      assert.match(gw.stdout(), /stopped\n$/);
      // Not held until the end of the 10 s grace period by the client's idle keep-alive connection.
      assert.ok(Date.now() - stoppedAt < 5000, `exited ${Date.now() - stoppedAt} ms after the request in flight finished`);
    });
  });
});
