// `strangler apply` and `strangler agent` where the probe found them unsafe, with a real nginx:
// a stale pid file naming another process, an apply killed between its swap and its reload,
// two applies at once, a symlinked config, a snippet in a directory included with a wildcard,
// a filesystem error during an agent's sync, and an agent logging the same refusal over again.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { compileManifest } from '../gateway/manifest/compile-manifest';
import { tryConfLock } from '../gateway/nginx/conf-files';
import { renderNginxConfig } from '../gateway/nginx/render-config';
import { STACK_MANIFEST_HEAD } from './helpers/manifests';
import { freePort } from './helpers/net';
import { nginxTestConf, requireNginx, startNginx } from './helpers/nginx';
import { pollUntil } from './helpers/poll';
import { alive } from './helpers/process-alive';
import { BIN, startCliChild, type CliChild } from './helpers/serve-child';
import { startStack, type Stack, type StackPorts } from './helpers/stack';

interface Run { code: number | null; stdout: string; stderr: string }
interface Running { child: ChildProcess; stderr(): string; done: Promise<Run> }

function start(args: string[]): Running {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const done = new Promise<Run>((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
  return { child, stderr: () => stderr, done };
}
const strangler = (args: string[]) => start(args).done;

const REPORT = '  - { id: report, match: { prefix: /generate-report }, to: "function:generate-report" }';
const OTHER = '  - { id: other, match: { prefix: /other-thing }, to: "function:price-quote" }';
const manifest = (p: StackPorts, ...extra: string[]) => `${STACK_MANIFEST_HEAD(p)}routes:
  - { id: track, match: { prefix: /api/v1/track }, to: "function:track-package" }
${extra.join('\n')}
`;
/** Valid to the manifest checks, refused by nginx -t: its upstream's host does not resolve. */
const refusedManifest = (p: StackPorts) => manifest(p, '  - { id: ext, match: { prefix: /ext }, to: "upstream:ext" }')
  .replace('routes:', '  ext: { servers: ["no-such-host.invalid:80"] }\nroutes:');

function render(text: string, name: string, snippet = false): string {
  const { table } = compileManifest(text, name);
  assert.ok(table);
  return renderNginxConfig(table, { snippet, manifestName: name });
}

/** Names in `dir` a killed or racing apply could leave behind. */
function leftovers(dir: string): string[] {
  return readdirSync(dir).filter((f) => /candidate|\.tmp$|\.lock/.test(f));
}

describe('strangler apply and agent: safe beside a real nginx', function () {
  this.timeout(120_000);
  let stack: Stack;
  let dir: string;
  const children: Array<{ kill(): unknown }> = [];

  before(async function () {
    requireNginx(this);
    stack = await startStack((p) => manifest(p));
    dir = mkdtempSync(join(tmpdir(), 'strangler-apply-'));
  });
  after(async () => {
    for (const c of children) await c.kill();
    await stack?.stop();
  });

  async function routeOf(path: string, port = stack.ports.nginx): Promise<string | undefined> {
    // A fresh connection each time: a reload closes the old workers' idle keep-alive connections.
    const res = await request(`http://127.0.0.1:${port}${path}`, { reset: true });
    await res.body.dump();
    return res.headers['x-strangler-route'] as string | undefined;
  }
  const write = (name: string, text: string) => { const f = join(dir, name); writeFileSync(f, text); return f; };
  const apply = (file: string, ...more: string[]) => strangler(['apply', file, '--conf', stack.nginx!.confPath, '--prefix', stack.nginx!.prefix, ...more]);

  it('sends no signal to the process a stale pid file names (pid reuse): apply and the agent say the pid file is stale', async () => {
    const prefix = mkdtempSync(join(tmpdir(), 'strangler-stale-'));
    mkdirSync(join(prefix, 'logs'));
    const conf = join(prefix, 'nginx.conf');
    const base = write('stale.yaml', manifest(stack.ports));
    assert.equal((await strangler(['apply', base, '--conf', conf, '--prefix', prefix, '--create', '--no-reload'])).code, 0);
    const victim = spawn('sleep', ['1000'], { stdio: 'ignore' });
    children.push(victim);
    writeFileSync(join(prefix, 'logs', 'nginx.pid'), `${victim.pid}\n`);

    const r = await strangler(['apply', write('stale2.yaml', manifest(stack.ports, REPORT)), '--conf', conf, '--prefix', prefix]);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, new RegExp(`nginx is not running with this config: .*nginx\\.pid names pid ${victim.pid}, which is not an nginx master but \`sleep 1000\` \\(a stale pid file`));
    assert.match(r.stderr, /rolled back/);
    assert.ok(alive(victim.pid!), 'apply signalled the unrelated process');

    const agent = await startCliChild('agent', [base, '--conf', conf, '--prefix', prefix, '--state', join(prefix, 'state.json')]);
    children.push(agent);
    assert.match(agent.stderr(), /nginx is not running on .*: .*names pid \d+, which is not an nginx master/);
    assert.ok(alive(victim.pid!), 'the agent signalled the unrelated process');
    await agent.kill();
  });

  it('finishes an apply killed between its swap and its reload: the re-run reloads nginx on the unchanged file', async () => {
    const v2 = write('interrupted.yaml', manifest(stack.ports, REPORT));
    // What the killed apply left: the new file in place, nginx still on the old one.
    writeFileSync(stack.nginx!.confPath, render(readFileSync(v2, 'utf8'), v2));
    assert.equal(await routeOf('/generate-report'), 'default');
    const r = await apply(v2);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /already up to date, nothing to apply; nginx reloaded and serves it/);
    assert.equal(await routeOf('/generate-report'), 'report', 'nginx serves the file apply found in place');
    // --no-reload keeps its word: nothing to do.
    const n = await apply(v2, '--no-reload');
    assert.equal(n.code, 0, n.stderr);
    assert.match(n.stdout, /already up to date, nothing to apply\n$/);
  });

  it('two applies at once: the second waits for the first; a refused one is never swapped in, and nginx serves what is on disk', async () => {
    const a = write('a.yaml', manifest(stack.ports, REPORT));
    const b = write('b.yaml', manifest(stack.ports, OTHER));
    const bad = write('bad.yaml', refusedManifest(stack.ports));
    for (let round = 0; round < 4; round++) {
      const reset = await apply(write('reset.yaml', manifest(stack.ports)));
      assert.equal(reset.code, 0, reset.stderr);
      const other = round % 2 ? bad : b;
      const [ra, rb] = await Promise.all([apply(a), apply(other)]);
      assert.equal(ra.code, 0, `round ${round}: ${ra.stderr}`);
      const disk = readFileSync(stack.nginx!.confPath, 'utf8');
      if (other === bad) {
        assert.equal(rb.code, 1, `round ${round}: the refused manifest: ${rb.stdout}`);
        assert.match(rb.stderr, /nginx -t refused/);
        assert.doesNotMatch(disk, /no-such-host/, `round ${round}: a refused config was swapped in`);
      } else {
        assert.equal(rb.code, 0, `round ${round}: ${rb.stderr}`);
      }
      const onDisk = disk.includes('/generate-report') ? 'report' : disk.includes('/other-thing') ? 'other' : 'none';
      assert.notEqual(onDisk, 'none', `round ${round}: neither apply is on disk`);
      assert.equal(await routeOf(onDisk === 'report' ? '/generate-report' : '/other-thing'), onDisk, `round ${round}: nginx serves what is on disk`);
      assert.deepEqual(leftovers(stack.nginx!.prefix), [], `round ${round}: left behind`);
    }
  });

  it('the lock: a live holder makes apply wait (saying for whom), a dead one is taken over', async () => {
    const lockFile = join(stack.nginx!.prefix, '.nginx.conf.lock');
    const held = tryConfLock(lockFile, 'test');
    assert.ok('lock' in held);
    const waiting = start(['apply', write('locked.yaml', manifest(stack.ports, OTHER)), '--conf', stack.nginx!.confPath, '--prefix', stack.nginx!.prefix]);
    await pollUntil('apply to wait for the lock', () => /waiting for test pid \d+ to finish changing it \(lock .*\.nginx\.conf\.lock/.test(waiting.stderr()));
    assert.equal(waiting.child.exitCode, null, 'apply went ahead under a held lock');
    held.lock.release();
    const r = await waiting.done;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await routeOf('/other-thing'), 'other');

    // The lock of an apply killed mid-change: its pid is gone.
    const dead = spawn('true');
    await new Promise((res) => dead.once('exit', res));
    writeFileSync(lockFile, `${dead.pid} - apply\n`);
    const t = await apply(write('after-dead.yaml', manifest(stack.ports, REPORT)));
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stderr, new RegExp(`took over the lock of apply pid ${dead.pid}, which is gone`));
    assert.equal(existsSync(lockFile), false, 'the lock is released at the end');
  });

  it('writes through a symlinked --conf: the link stays a link, its target gets the config (apply and the agent)', async () => {
    const prefix = mkdtempSync(join(tmpdir(), 'strangler-link-'));
    mkdirSync(join(prefix, 'logs'));
    mkdirSync(join(prefix, 'available'));
    const real = join(prefix, 'available', 'strangler.conf');
    writeFileSync(real, '# before\n');
    const link = join(prefix, 'nginx.conf');
    symlinkSync('available/strangler.conf', link);
    const r = await strangler(['apply', write('link.yaml', manifest(stack.ports, REPORT)), '--conf', link, '--prefix', prefix, '--no-reload']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(lstatSync(link).isSymbolicLink(), 'apply replaced the link with a file');
    assert.match(readFileSync(real, 'utf8'), /generate-report/);
    assert.equal(readFileSync(join(prefix, 'available', '.strangler.conf.previous'), 'utf8'), '# before\n');

    const agent = await startCliChild('agent', [write('link2.yaml', manifest(stack.ports, OTHER)), '--conf', link, '--prefix', prefix, '--state', join(prefix, 'state.json')]);
    children.push(agent);
    assert.match(readFileSync(real, 'utf8'), /other-thing/);
    assert.ok(lstatSync(link).isSymbolicLink(), 'the agent replaced the link with a file');
    await agent.kill();
  });

  it('--snippet in a directory nginx includes with a wildcard: what apply keeps beside the snippet is never included', async () => {
    const port = await freePort();
    const ports = { ...stack.ports, nginx: port };
    const name = join(dir, 'snippet.yaml');
    const ngx = await startNginx(nginxTestConf({ port, http: 'include sites-enabled/*;' }).replace(`# strangler test config (port ${port})`, ''), {
      ports: [port], files: { 'sites-enabled/strangler': render(manifest(ports), name, true) },
    });
    children.push({ kill: () => ngx.stop() });
    const snippet = join(ngx.prefix, 'sites-enabled', 'strangler');
    const applySnippet = (...extra: string[]) => {
      writeFileSync(name, manifest(ports, ...extra));
      return strangler(['apply', name, '--snippet', '--conf', snippet, '--main-conf', ngx.confPath, '--prefix', ngx.prefix]);
    };
    for (const [i, extra] of [[REPORT], [], [OTHER]].entries()) {
      const r = await applySnippet(...extra);
      assert.equal(r.code, 0, `apply ${i + 1}: ${r.stderr}`);
    }
    assert.equal(await routeOf('/other-thing', port), 'other');
    assert.equal(await routeOf('/generate-report', port), 'default');
    // Only dotfiles beside the snippet: nginx's glob(3) does not match them.
    assert.deepEqual(readdirSync(join(ngx.prefix, 'sites-enabled')).filter((f) => !f.startsWith('.')), ['strangler']);
    assert.ok(existsSync(join(ngx.prefix, 'sites-enabled', '.strangler.previous')));
    await ngx.stop();
  });

  it('the agent: a refusal repeated at every sync is logged once; a filesystem error is reported and retried, not fatal', async () => {
    const file = write('agent.yaml', manifest(stack.ports));
    const state = join(dir, 'agent-state.json');
    const agent: CliChild = await startCliChild('agent', [file, '--conf', stack.nginx!.confPath, '--prefix', stack.nginx!.prefix, '--state', state]);
    children.push(agent);
    const hosts = `${state}.hosts`;
    const report = () => {
      const files = existsSync(hosts) ? readdirSync(hosts).filter((f) => f.endsWith('.json')) : [];
      return files.length ? JSON.parse(readFileSync(join(hosts, files[0]), 'utf8')) as { seen_at: string; failure: null | { message: string } } : null;
    };
    const syncAgain = async () => {
      const seen = report()?.seen_at;
      // seen_at has millisecond resolution: a sync in the same millisecond would not show.
      await pollUntil('the agent to sync again', () => { agent.child.kill('SIGHUP'); return report()?.seen_at !== seen; });
    };

    writeFileSync(file, refusedManifest(stack.ports));
    await pollUntil('the refusal in the report', () => /nginx -t refused/.test(report()?.failure?.message ?? ''));
    for (let i = 0; i < 3; i++) await syncAgain();
    assert.equal(agent.stderr().match(/nginx -t refused/g)?.length, 1, `logged more than once:\n${agent.stderr()}`);

    // The config's place turns into something that cannot be read or replaced.
    const conf = stack.nginx!.confPath;
    const good = readFileSync(conf, 'utf8');
    rmSync(conf);
    mkdirSync(conf);
    writeFileSync(file, manifest(stack.ports, REPORT));
    await pollUntil('the filesystem error in the report', () => /cannot update .*nginx\.conf: EISDIR/.test(report()?.failure?.message ?? ''));
    assert.equal(agent.child.exitCode, null, `the agent died:\n${agent.stderr()}`);
    assert.match(agent.stderr(), /not applied, nginx keeps serving state version \d+: cannot update .*EISDIR/);

    rmSync(conf, { recursive: true });
    writeFileSync(conf, good);
    await syncAgain();
    await pollUntil('the failure to clear', () => report()?.failure === null);
    assert.equal(await routeOf('/generate-report'), 'report');
    await agent.kill();
  });
});
