// `strangler validate | compile | apply` as a user runs them: real child processes, real nginx.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { sha256 } from '../gateway/manifest/compile-manifest';
import { PROJECT_ROOT } from '../gateway/version';
import { findNginx, requireNginx } from './helpers/nginx';
import { startStack, type Stack, type StackPorts } from './helpers/stack';
import { STACK_MANIFEST_HEAD } from './helpers/manifests';

const BIN = join(PROJECT_ROOT, 'bin', 'strangler.js');
const EXAMPLE = join(PROJECT_ROOT, 'routes', 'routes.yaml');

function strangler(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'strangler-cli-'));
}

describe('strangler CLI: help and usage', () => {
  it('lists every command in --help and exits 0', async () => {
    const r = await strangler(['--help']);
    assert.equal(r.code, 0);
    for (const c of ['validate', 'compile', 'apply', 'serve', 'agent', 'flip', 'canary', 'status']) assert.match(r.stdout, new RegExp(`^  ${c} `, 'm'));
  });
  it('prints a command\'s usage for --help', async () => {
    const r = await strangler(['compile', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /--snippet/);
    assert.match(r.stdout, /Exit codes/);
  });
  it('exits 2 on an unknown command or option', async () => {
    assert.equal((await strangler(['frobnicate'])).code, 2);
    const r = await strangler(['compile', '--frobnicate']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Usage: strangler compile/);
  });
});

describe('strangler validate', () => {
  it('accepts the example manifest', async () => {
    const r = await strangler(['validate', EXAMPLE]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /valid/);
  });
  it('reports every error with file, line, code and manifest path, and exits 1', async () => {
    const file = join(tempDir(), 'routes.yaml');
    writeFileSync(file, [
      'version: 1',
      'listen: 8080',
      'upstreams:',
      '  legacy: { servers: ["127.0.0.1:8081"] }',
      'routes:',
      '  - id: a',
      '    match: { prefix: "/x;" }',
      '    to: legacy',
      '  - id: a',
      '    match: { exact: /y }',
      '    to: function:f',
      '',
    ].join('\n'));
    const r = await strangler(['validate', file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /routes\.yaml:7:\d+: error STR_BAD_PATH: routes\[0\]\.match\.prefix/);
    assert.match(r.stderr, /routes\.yaml:9:\d+: error STR_DUPLICATE_ID: routes\[1\]\.id/);
    assert.match(r.stderr, /routes\.yaml:11:\d+: error STR_UNKNOWN_UPSTREAM: routes\[1\]\.to/);
    const json = await strangler(['validate', '--json', file]);
    const parsed = JSON.parse(json.stdout);
    assert.equal(parsed.valid, false);
    assert.deepEqual(parsed.diagnostics.map((d: { code: string }) => d.code).sort(), ['STR_BAD_PATH', 'STR_DUPLICATE_ID', 'STR_UNKNOWN_UPSTREAM']);
  });
  it('exits 2 for a missing file', async () => {
    assert.equal((await strangler(['validate', join(tempDir(), 'nope.yaml')])).code, 2);
  });
});

describe('strangler compile', () => {
  it('is deterministic and stamps the manifest sha256 and generator version', async () => {
    const a = await strangler(['compile', EXAMPLE]);
    const b = await strangler(['compile', EXAMPLE]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(a.stdout, b.stdout);
    const version = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')).version;
    assert.match(a.stdout.split('\n')[0], new RegExp(`strangler ${version.replace(/\./g, '\\.')} .*sha256 ${sha256(readFileSync(EXAMPLE, 'utf8'))}`));
  });
  it('emits worker_rlimit_nofile only with --worker-rlimit-nofile, and refuses a bad value with exit 2', async () => {
    const plain = await strangler(['compile', EXAMPLE]);
    assert.doesNotMatch(plain.stdout, /^worker_rlimit_nofile/m);
    const set = await strangler(['compile', EXAMPLE, '--worker-rlimit-nofile', '4096']);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /^worker_rlimit_nofile 4096;$/m);
    for (const bad of ['0', 'many', '1.5', '99999999']) {
      const r = await strangler(['compile', EXAMPLE, '--worker-rlimit-nofile', bad]);
      assert.equal(r.code, 2, bad);
      assert.match(r.stderr, /--worker-rlimit-nofile/);
    }
  });
  it('emits worker_connections 8192 unless --worker-connections says otherwise, and refuses a bad value with exit 2', async () => {
    const plain = await strangler(['compile', EXAMPLE]);
    assert.match(plain.stdout, /^ {4}worker_connections 8192;$/m);
    const set = await strangler(['compile', EXAMPLE, '--worker-connections', '30000']);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /^ {4}worker_connections 30000;$/m);
    assert.equal(set.stdout.match(/worker_connections/g)!.length, 1);
    for (const bad of ['0', '-5', 'many', '1.5', '1e4', ' 4096', '99999999']) {
      const r = await strangler(['compile', EXAMPLE, `--worker-connections=${bad}`]);
      assert.equal(r.code, 2, bad);
      assert.match(r.stderr, /--worker-connections .*expected a whole number from 1 to 1048576/);
      assert.equal(r.stdout, '', 'nothing compiled on a usage error');
    }
    for (const flag of ['--worker-connections', '--worker-rlimit-nofile']) {
      const r = await strangler(['compile', EXAMPLE, '--snippet', flag, '4096']);
      assert.equal(r.code, 2, flag);
      assert.match(r.stderr, /a --snippet has no events or main part/);
    }
  });
  it('--check exits 1 on a stale file and 0 on a fresh one; -o writes it', async () => {
    const out = join(tempDir(), 'nginx.conf');
    assert.equal((await strangler(['compile', EXAMPLE, '--check', out])).code, 1);
    assert.equal((await strangler(['compile', EXAMPLE, '-o', out])).code, 0);
    assert.equal((await strangler(['compile', EXAMPLE, '--check', out])).code, 0);
    writeFileSync(out, readFileSync(out, 'utf8') + '# hand edit\n');
    assert.equal((await strangler(['compile', EXAMPLE, '--check', out])).code, 1);
  });
  it('never HTML-escapes: & in a path reaches nginx.conf as &', async () => {
    const file = join(tempDir(), 'routes.yaml');
    writeFileSync(file, 'version: 1\nlisten: 8080\nupstreams:\n  legacy: { servers: ["127.0.0.1:8081"] }\nroutes:\n  - { id: amp, match: { exact: "/a&b" }, to: legacy }\n');
    const r = await strangler(['compile', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /location = \/a&b \{/);
    assert.doesNotMatch(r.stdout, /&amp;|&#/);
  });
  it('compiles the example (full and --snippet) to configs nginx -t accepts', async function () {
    requireNginx(this);
    const full = await strangler(['compile', EXAMPLE, '--test']);
    assert.equal(full.code, 0, full.stderr);
    const snippet = await strangler(['compile', EXAMPLE, '--snippet', '--test']);
    assert.equal(snippet.code, 0, snippet.stderr);
    assert.doesNotMatch(snippet.stdout, /^events|worker_processes/m);
  });
});

describe('strangler apply', function () {
  let stack: Stack;
  let dir: string;
  const manifest = (extra: string) => (p: StackPorts) => `
${STACK_MANIFEST_HEAD(p)}routes:
  - { id: track, match: { prefix: /api/v1/track }, to: "function:track-package" }
${extra}`;

  before(async function () {
    requireNginx(this);
    stack = await startStack(manifest(''));
    dir = tempDir();
  });
  after(async () => stack?.stop());

  async function routeOf(path: string): Promise<string | undefined> {
    // A fresh connection each time: a reload closes the old workers' idle keep-alive connections
    // by design, and a request sent on one as it closes fails with "other side closed".
    const res = await request(`http://127.0.0.1:${stack.ports.nginx}${path}`, { reset: true });
    await res.body.dump();
    return res.headers['x-strangler-route'] as string | undefined;
  }

  it('diffs, tests, swaps in and reloads, and returns once nginx serves it: the request right after apply sees the new config', async () => {
    const file = join(dir, 'routes.yaml');
    writeFileSync(file, manifest('  - { id: report, match: { prefix: /generate-report }, to: "function:generate-report" }')(stack.ports));
    assert.equal(await routeOf('/generate-report'), 'default');
    const r = await strangler(['apply', file, '--conf', stack.nginx!.confPath, '--prefix', stack.nginx!.prefix, '--nginx', findNginx()!]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\+\s+location = \/generate-report \{/m);
    assert.match(r.stdout, /nginx serves it; previous version in /);
    assert.equal(await routeOf('/generate-report'), 'report', 'the first request after apply returned');
    // And back, three times over: never the old config right after apply.
    for (let i = 0; i < 3; i++) {
      writeFileSync(file, manifest(i % 2 ? '  - { id: report, match: { prefix: /generate-report }, to: "function:generate-report" }' : '')(stack.ports));
      const again = await strangler(['apply', file, '--conf', stack.nginx!.confPath, '--prefix', stack.nginx!.prefix]);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(await routeOf('/generate-report'), i % 2 ? 'report' : 'default', `apply ${i + 2}: the first request after it`);
    }
    assert.equal((await strangler(['apply', file, '--conf', stack.nginx!.confPath, '--prefix', stack.nginx!.prefix])).stdout.includes('already up to date'), true);
  });

  it('refuses a candidate nginx -t rejects, leaves the file as it was and nginx serving', async () => {
    const file = join(dir, 'broken.yaml');
    // Valid to the manifest checks, refused by nginx: the host does not resolve.
    writeFileSync(file, manifest('  - { id: ext, match: { prefix: /ext }, to: "upstream:ext" }')(stack.ports)
      .replace('routes:', '  ext: { servers: ["no-such-host.invalid:80"] }\nroutes:'));
    const before = readFileSync(stack.nginx!.confPath, 'utf8');
    const r = await strangler(['apply', file, '--conf', stack.nginx!.confPath, '--prefix', stack.nginx!.prefix]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /nginx -t refused/);
    assert.equal(readFileSync(stack.nginx!.confPath, 'utf8'), before);
    assert.equal(await routeOf('/api/v1/track/1'), 'track');
  });

  it('rolls back when the reload fails (nginx not running for that config)', async () => {
    const prefix = tempDir();
    mkdirSync(join(prefix, 'logs'));
    const conf = join(prefix, 'nginx.conf');
    writeFileSync(conf, '# the previous config\n');
    const file = join(dir, 'routes.yaml');
    const r = await strangler(['apply', file, '--conf', conf, '--prefix', prefix]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /nginx is not running with this config/);
    assert.match(r.stderr, /rolled back/);
    assert.equal(readFileSync(conf, 'utf8'), '# the previous config\n');
  });

  it('refuses a --conf path that does not exist (a typo) unless --create, and says it changed nothing', async () => {
    const prefix = tempDir();
    const conf = join(prefix, 'ngnix.conf');
    const r = await strangler(['apply', join(dir, 'routes.yaml'), '--conf', conf, '--prefix', prefix]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no such file; nothing was changed.*--create/);
    assert.equal(existsSync(conf), false, 'no file created');
    // --create in a fresh prefix with no nginx: honest about what there is to roll back to.
    const c = await strangler(['apply', join(dir, 'routes.yaml'), '--conf', conf, '--prefix', prefix, '--create']);
    assert.equal(c.code, 1);
    assert.match(c.stderr, /removed .*which this apply created: there was no previous version/);
    assert.doesNotMatch(c.stderr, /rolled back/);
    assert.equal(existsSync(conf), false);
    const n = await strangler(['apply', join(dir, 'routes.yaml'), '--conf', conf, '--prefix', prefix, '--create', '--no-reload']);
    assert.equal(n.code, 0, n.stderr);
    assert.match(n.stdout, /\(not reloaded\) \(a new file\)/);
    assert.doesNotMatch(n.stdout, /previous version/);
  });

  it('needs --conf', async () => {
    assert.equal((await strangler(['apply', EXAMPLE])).code, 2);
  });
});

