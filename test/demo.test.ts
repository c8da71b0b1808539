// `strangler demo` as a person runs it: a child process on a manifest with free ports, the
// commands it prints run literally in a shell, then Ctrl-C (SIGINT) and nothing left behind.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { request } from 'undici';
import { childPids } from '../gateway/nginx/nginx-process';
import { PROJECT_ROOT } from '../gateway/version';
import { freePort } from './helpers/net';
import { requireNginx } from './helpers/nginx';
import { alive } from './helpers/process-alive';

const BIN = join(PROJECT_ROOT, 'bin', 'strangler.js');
const READY = 'Ctrl-C stops everything.';

interface Ports { nginx: number; legacy: number; functions: number; gateway: number; admin: number }

const tempDirs: string[] = [];

/** routes/routes.yaml with every port moved to a free one: the demo prints what the manifest says. */
async function tempManifest(): Promise<{ file: string; ports: Ports }> {
  const ports: Ports = { nginx: await freePort(), legacy: await freePort(), functions: await freePort(), gateway: await freePort(), admin: await freePort() };
  let text = readFileSync(join(PROJECT_ROOT, 'routes', 'routes.yaml'), 'utf8');
  const swap = (from: string, to: string) => {
    assert.ok(text.includes(from), `routes/routes.yaml no longer contains ${from}`);
    text = text.replace(from, to);
  };
  swap('listen: 8080', `listen: 127.0.0.1:${ports.nginx}`);
  swap('"127.0.0.1:8081"', `"127.0.0.1:${ports.legacy}"`);
  swap('"127.0.0.1:8082"', `"127.0.0.1:${ports.functions}"`);
  swap('"127.0.0.1:8090"', `"127.0.0.1:${ports.gateway}"`);
  swap('"127.0.0.1:8091"', `"127.0.0.1:${ports.admin}"`);
  const dir = mkdtempSync(join(tmpdir(), 'strangler-demo-test-'));
  tempDirs.push(dir);
  const file = join(dir, 'routes.yaml');
  writeFileSync(file, text);
  return { file, ports };
}

interface Demo {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startDemo(args: string[]): Demo {
  // cwd: the project, as after `npm install` in a fresh clone, so the printed `npx strangler` resolves.
  const child = spawn(process.execPath, [BIN, 'demo', ...args], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, stdout: () => out, stderr: () => err, exited };
}

async function waitFor(demo: Demo, text: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let gone = false;
  void demo.exited.then(() => { gone = true; });
  while (!demo.stdout().includes(text)) {
    if (gone) throw new Error(`the demo exited before printing ${JSON.stringify(text)}:\n${demo.stdout()}\n${demo.stderr()}`);
    if (Date.now() > deadline) throw new Error(`no ${JSON.stringify(text)} within ${timeoutMs} ms:\n${demo.stdout()}\n${demo.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Polls `check` until it holds; fails with the demo's output after the bound. */
async function until(check: () => Promise<boolean>, what: string, demo: Demo, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${demo.stdout()}\n${demo.stderr()}`);
  }
}

/** The commands under "Try:", exactly as printed (comments included: the shell drops them). */
function printedCommands(out: string): string[] {
  const lines = out.split('\n');
  const start = lines.indexOf('Try:');
  assert.ok(start >= 0, `no "Try:" in\n${out}`);
  const cmds: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (!line.startsWith('  ')) break;
    cmds.push(line.trim());
  }
  return cmds;
}

function shell(line: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('/bin/sh', ['-c', line], { cwd: PROJECT_ROOT, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

async function servedBy(line: string): Promise<Record<string, unknown>> {
  const r = await shell(line);
  assert.equal(r.code, 0, `${line}\n${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

async function routePercent(manifest: string, ports: Ports, id: string): Promise<number> {
  const token = readFileSync(join(dirname(manifest), 'routes.token'), 'utf8').trim();
  const res = await request(`http://127.0.0.1:${ports.admin}/routes/${id}`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.statusCode, 200);
  return ((await res.body.json()) as { effective_percent: number }).effective_percent;
}

/** Runs the five printed commands and checks what each one did. */
async function tryPrintedCommands(out: string, manifest: string, ports: Ports): Promise<void> {
  const cmds = printedCommands(out);
  assert.equal(cmds.length, 5, `expected five commands:\n${out}`);
  assert.match(cmds[0], new RegExp(`^curl -s http://127\\.0\\.0\\.1:${ports.gateway}/`));
  assert.match(cmds[1], new RegExp(`^curl -s http://127\\.0\\.0\\.1:${ports.gateway}/api/v1/track/42 `));
  assert.match(cmds[2], /^npx strangler canary images 50 --manifest /);

  const legacy = await servedBy(cmds[0]);
  assert.equal(legacy.served_by, 'legacy');
  const fn = await servedBy(cmds[1]);
  assert.equal(fn.served_by, 'function');
  assert.equal(fn.function, 'track-package');

  assert.equal(await routePercent(manifest, ports, 'images'), 10);
  const canary = await shell(cmds[2]);
  assert.equal(canary.code, 0, canary.stderr);
  assert.match(canary.stdout, /^images: 10% -> 50% to function:image-resizer/m);
  assert.equal(await routePercent(manifest, ports, 'images'), 50);

  // The shadowed route: legacy answers, the function's copy differs in one field.
  assert.match(cmds[3], new RegExp(`^curl -s http://127\\.0\\.0\\.1:${ports.gateway}/api/v1/prices/42 `));
  assert.match(cmds[4], /^npx strangler diff prices --manifest /);
  const quote = await servedBy(cmds[3]);
  assert.equal(quote.vat_included, true, 'served by legacy');
  const deadline = Date.now() + 10_000;
  let diff = await shell(cmds[4]);
  while (!/1 compared/.test(diff.stdout) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    diff = await shell(cmds[4]);
  }
  assert.equal(diff.code, 0, diff.stderr);
  assert.match(diff.stdout, /1 compared, 0 equal, 1 different/);
  assert.match(diff.stdout, /^ {2}\$\.vat_included +1x +legacy: true\n +function: false$/m);
  assert.doesNotMatch(diff.stdout, /quoted_at/, 'ignored by the manifest');
}

async function stopAndCheck(demo: Demo, ports: Ports): Promise<void> {
  demo.child.kill('SIGINT');
  const { code, signal } = await demo.exited;
  assert.equal(signal, null, demo.stderr());
  assert.equal(code, 0, demo.stderr());
  assert.match(demo.stdout(), /^stopped$/m);
  for (const [what, port] of Object.entries(ports)) assert.ok(await portFree(port), `port ${port} (${what}) still taken after the demo stopped`);
}

describe('strangler demo', function () {
  this.timeout(90_000);
  let demo: Demo | null = null;

  after(() => {
    for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  afterEach(async () => {
    // After a failed test: stop the demo the way a user would, so it takes nginx down with it
    // (a SIGKILLed demo cannot); SIGKILL only if that does not work.
    if (demo && demo.child.exitCode === null && demo.child.signalCode === null) {
      const d = demo;
      d.child.kill('SIGTERM');
      const timer = setTimeout(() => d.child.kill('SIGKILL'), 15_000);
      await d.exited;
      clearTimeout(timer);
    }
    demo = null;
  });

  it('runs legacy, functions, the gateway and nginx; the printed commands work verbatim; SIGINT stops it all', async function () {
    requireNginx(this);
    const { file, ports } = await tempManifest();
    demo = startDemo(['--manifest', file]);
    await waitFor(demo, READY);
    const out = demo.stdout();
    for (const port of Object.values(ports)) assert.match(out, new RegExp(`http://127\\.0\\.0\\.1:${port}\\b`), `port ${port} not printed:\n${out}`);

    const m = /nginx +http:\/\/127\.0\.0\.1:\d+ +\(pid (\d+), /.exec(out);
    assert.ok(m, `nginx did not start:\n${out}\n${demo.stderr()}`);
    const nginxPid = Number(m[1]);
    // nginx -p PREFIX: the temp prefix, which must be gone afterwards.
    // (nginx rewrites its argv into one title: "nginx: master process /usr/sbin/nginx -p DIR/ ...")
    const title = readFileSync(`/proc/${nginxPid}/cmdline`, 'latin1').replace(/\0/g, ' ');
    const nginxPrefix = / -p (\S+)/.exec(title)?.[1];
    assert.ok(nginxPrefix && existsSync(nginxPrefix), `no prefix in ${title}`);
    assert.ok(alive(nginxPid));
    const workers = childPids(nginxPid);
    assert.ok(workers.length > 0, 'nginx has no workers');

    await tryPrintedCommands(out, file, ports);
    // nginx serves the same manifest.
    const viaNginx = await servedBy(`curl -s http://127.0.0.1:${ports.nginx}/api/v1/track/42`);
    assert.equal(viaNginx.served_by, 'function');

    // nginx follows runtime flips and manifest edits through the demo's agent.
    const flip = await shell(`npx strangler flip track legacy --manifest ${file}`);
    assert.equal(flip.code, 0, flip.stderr);
    await until(async () => (await servedBy(`curl -s http://127.0.0.1:${ports.nginx}/api/v1/track/42`)).served_by === 'legacy', 'nginx to follow the flip', demo);
    writeFileSync(file, readFileSync(file, 'utf8') + '\n  - { id: health, match: { exact: /health }, to: "function:track-package" }\n');
    await until(async () => (await servedBy(`curl -s http://127.0.0.1:${ports.nginx}/health`)).served_by === 'function', 'nginx to follow the manifest edit', demo);

    await stopAndCheck(demo, ports);
    for (const pid of [nginxPid, ...workers]) assert.ok(!alive(pid), `nginx process ${pid} outlived the demo`);
    assert.ok(!existsSync(nginxPrefix), `nginx prefix ${nginxPrefix} left behind`);
  });

  it('runs without nginx with --no-nginx, and stops on SIGINT', async () => {
    const { file, ports } = await tempManifest();
    demo = startDemo(['--manifest', file, '--no-nginx']);
    await waitFor(demo, READY);
    const out = demo.stdout();
    assert.match(out, /nginx +not running \(--no-nginx\)/);
    assert.ok(await portFree(ports.nginx), 'something listens on the nginx port with --no-nginx');
    await tryPrintedCommands(out, file, ports);
    await stopAndCheck(demo, ports);
  });

  it('npm start execs node: SIGTERM to the npm process stops the demo and frees every port', async () => {
    const { file, ports } = await tempManifest();
    const child = spawn('npm', ['start', '--silent', '--', '--manifest', file, '--no-nginx'], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { out += d; });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    demo = { child, stdout: () => out, stderr: () => out, exited };
    await waitFor(demo, READY);
    // npm's child is node itself, not a shell that would take the signal and orphan node.
    const kids = childPids(child.pid!);
    assert.equal(kids.length, 1, `npm has children ${kids.join(', ')}`);
    const cmd = readFileSync(`/proc/${kids[0]}/cmdline`, 'latin1').split('\0');
    assert.match(cmd[0], /node$/, `npm's child is ${cmd.join(' ')}`);
    child.kill('SIGTERM');
    await exited;
    for (const [what, port] of Object.entries(ports)) {
      if (what === 'nginx') continue;
      const deadline = Date.now() + 15_000;
      while (!(await portFree(port))) if (Date.now() > deadline) assert.fail(`port ${port} (${what}) still taken after SIGTERM to npm start:\n${out}`);
    }
    assert.ok(!alive(kids[0]), 'the demo outlived npm start');
  });

  it('refuses a port already in use with one line naming it, and stops what it had started', async () => {
    const { file, ports } = await tempManifest();
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(ports.gateway, '127.0.0.1', resolve));
    try {
      demo = startDemo(['--manifest', file, '--no-nginx']);
      const { code } = await demo.exited;
      assert.equal(code, 1);
      const lines = demo.stderr().trim().split('\n');
      assert.equal(lines.length, 1, demo.stderr());
      assert.match(lines[0], new RegExp(`port ${ports.gateway} is already in use \\(wanted by the Node gateway, gateway\\.listen`));
      // The fixtures had started before the gateway failed: they are gone again.
      assert.ok(await portFree(ports.legacy), 'legacy fixture left running');
      assert.ok(await portFree(ports.functions), 'functions fixture left running');
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });
});
