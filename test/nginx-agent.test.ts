// strangler agent with a real nginx and a real `strangler serve`: flips and canary changes of
// static routes reach nginx within a bound, the kill switch is one change, a change nginx -t
// refuses leaves the old config serving and shows in `strangler status`, and keep-alive clients
// under load lose at most a bounded number of requests per applied change (counted, reported).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { Agent as UndiciAgent, request } from 'undici';
import { requireNginx } from './helpers/nginx';
import { startStack, type Stack, type StackPorts } from './helpers/stack';
import { runCli, startCliChild, startServeChild, type CliChild, type ServeChild } from './helpers/serve-child';
import { STACK_MANIFEST_HEAD } from './helpers/manifests';

const TOKEN = 'agent-test-token-0123456789abcdef';
const ENV = { STRANGLER_ADMIN_TOKEN: TOKEN };
/** The bound on how long nginx may take to follow a change (the agent aims at about a second). */
const FOLLOW_BOUND_MS = 30_000;

const MANIFEST = (p: StackPorts) => `
${STACK_MANIFEST_HEAD(p)}gateway: { listen: "127.0.0.1:${p.gateway}", admin: "127.0.0.1:${p.admin}" }
routes:
  - { id: track, match: { prefix: /api/v1/track }, to: "function:track-package" }
  - { id: images, match: { prefix: /images/ }, to: "function:image-resizer", canary: { percent: 0, sticky: "cookie:sid" } }
  - { id: report, match: { exact: /report }, to: "function:generate-report" }
`;

describe('strangler agent: nginx follows runtime changes', function () {
  this.timeout(120_000);
  let stack: Stack;
  let serve: ServeChild;
  let agent: CliChild;
  const pool = new UndiciAgent({ connections: 8, pipelining: 1, keepAliveTimeout: 60_000 });

  before(async function () {
    requireNginx(this);
    stack = await startStack(MANIFEST);
    serve = await startServeChild([stack.manifestPath], ENV);
    agent = await startCliChild('agent', [stack.manifestPath, '--conf', stack.nginx!.confPath, '--prefix', stack.nginx!.prefix], ENV);
  });
  after(async () => {
    await agent?.kill();
    await serve?.kill();
    await pool.close();
    await stack?.stop();
  });

  const cli = (...args: string[]) => runCli([...args, '--manifest', stack.manifestPath], ENV);

  async function targetOf(path: string, cookie = ''): Promise<string> {
    const res = await request(`http://127.0.0.1:${stack.ports.nginx}${path}`, { dispatcher: pool, headers: cookie ? { cookie } : {} });
    await res.body.dump();
    return String(res.headers['x-strangler-target']);
  }

  /**
   * Polls nginx until `path` is served by `want`; resolves to the polls it took and how many
   * failed (a keep-alive connection an old worker closed as the reload retired it).
   */
  async function untilServedBy(path: string, want: string): Promise<{ polls: number; failed: number; ms: number }> {
    const start = Date.now();
    let failed = 0;
    for (let polls = 1; ; polls++) {
      try {
        if ((await targetOf(path)) === want) return { polls, failed, ms: Date.now() - start };
      } catch (err) {
        // A closed keep-alive connection, as undici reports it; anything else is a real failure.
        if (!['UND_ERR_SOCKET', 'ECONNRESET', 'UND_ERR_CLOSED'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
        failed++;
      }
      if (Date.now() - start > FOLLOW_BOUND_MS) throw new Error(`nginx did not send ${path} to ${want} within ${FOLLOW_BOUND_MS} ms:\n${agent.stdout()}\n${agent.stderr()}`);
    }
  }

  async function statusJson(): Promise<{ state_version: number; nginx_hosts: Array<{ host: string; state_version: number; lagging: boolean; failure: null | { message: string } }> }> {
    // --admin: the manifest may be mid-edit (invalid) while status is asked.
    const r = await cli('status', '--json', '--admin', `127.0.0.1:${stack.ports.admin}`);
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout);
  }

  async function untilHostsAt(version: number): Promise<void> {
    const start = Date.now();
    for (;;) {
      const s = await statusJson();
      if (s.nginx_hosts.length === 1 && s.nginx_hosts[0].state_version >= version) return;
      if (Date.now() - start > FOLLOW_BOUND_MS) throw new Error(`no nginx host reported version ${version}: ${JSON.stringify(s.nginx_hosts)}`);
    }
  }

  /** Polls status until the host reports a failure matching `pattern`; resolves to its message. */
  async function untilFailure(pattern: RegExp): Promise<string> {
    const start = Date.now();
    for (;;) {
      const failure = (await statusJson()).nginx_hosts[0]?.failure?.message ?? '';
      if (pattern.test(failure)) return failure;
      if (Date.now() - start > FOLLOW_BOUND_MS) throw new Error(`no failure matching ${pattern} reported:\n${agent.stderr()}`);
    }
  }

  /** Polls status until the host's failure is gone (the next sync applied). */
  async function untilFailureCleared(): Promise<void> {
    const start = Date.now();
    while ((await statusJson()).nginx_hosts[0].failure !== null) {
      if (Date.now() - start > FOLLOW_BOUND_MS) throw new Error('the failure did not clear once the manifest was fixed');
    }
  }

  it('usage: --conf is required; --state redis://… is refused by this build, naming no password', async () => {
    const noConf = await runCli(['agent', stack.manifestPath]);
    assert.equal(noConf.status, 2);
    assert.match(noConf.stderr, /--conf PATH is required/);
    const redis = await runCli(['agent', stack.manifestPath, '--conf', stack.nginx!.confPath, '--state', 'redis://u:pw-123@cache:6379']);
    assert.equal(redis.status, 1);
    assert.match(redis.stderr, /Redis state is not supported in this build/);
    assert.doesNotMatch(redis.stderr, /pw-123/);
  });

  it('reports the state version nginx serves, beside the gateway, in strangler status', async () => {
    const s = await statusJson();
    await untilHostsAt(s.state_version);
    const text = await cli('status');
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /^NGINX HOST\s+VERSION\s+MANIFEST\s+STATUS$/m);
    assert.match(text.stdout, new RegExp(`:${stack.nginx!.confPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s+${s.state_version}\\s+[0-9a-f]{12}\\s+ok$`, 'm'));
    const metrics = await request(`http://127.0.0.1:${stack.ports.admin}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const body = await metrics.body.text();
    assert.match(body, new RegExp(`^strangler_state_version ${s.state_version}$`, 'm'));
    assert.match(body, new RegExp(`^strangler_nginx_host_state_version\\{host="[^"]+nginx\\.conf"\\} ${s.state_version}$`, 'm'));
  });

  it('a flip of a static route moves nginx\'s traffic within the bound, and back', async () => {
    assert.equal(await targetOf('/api/v1/track/1'), 'function:track-package');
    const flip = await cli('flip', 'track', 'legacy');
    assert.equal(flip.status, 0, flip.stderr);
    assert.match(flip.stdout, /track: 100% -> 0% to function:track-package.*\n.*state version [0-9]+/);
    const there = await untilServedBy('/api/v1/track/1', 'legacy');
    const back = await cli('flip', 'track', 'manifest');
    assert.equal(back.status, 0, back.stderr);
    const again = await untilServedBy('/api/v1/track/1', 'function:track-package');
    console.log(`      flip -> nginx serving it: ${there.ms} ms (${there.polls} polls), back: ${again.ms} ms (${again.polls} polls)`);
  });

  it('a canary change reaches nginx: the split follows the new percent, sticky per cookie', async () => {
    const r = await cli('canary', 'images', '50');
    assert.equal(r.status, 0, r.stderr);
    await untilHostsAt((await statusJson()).state_version);
    let toFunction = 0;
    for (let i = 0; i < 200; i++) if ((await targetOf('/images/a.png', `sid=user-${i}`)) === 'function:image-resizer') toFunction++;
    assert.ok(toFunction > 60 && toFunction < 140, `50% canary: ${toFunction}/200 to the function`);
    // The same user stays on the same side.
    const side = await targetOf('/images/a.png', 'sid=user-7');
    for (let i = 0; i < 5; i++) assert.equal(await targetOf('/images/a.png', 'sid=user-7'), side);
    assert.equal((await cli('canary', 'images', 'manifest')).status, 0);
  });

  it('flip --all legacy is one change (one state version, one audit entry) that nginx applies as a whole', async () => {
    const before = (await statusJson()).state_version;
    const auditPath = stack.manifestPath.replace(/\.yaml$/, '.audit.jsonl');
    const auditLines = () => readFileSync(auditPath, 'utf8').trim().split('\n');
    const linesBefore = auditLines().length;
    const r = await cli('flip', '--all', 'legacy');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /3 routes in one change/);
    const after = (await statusJson()).state_version;
    assert.equal(after, before + 1, 'one state version for three routes');
    const added = auditLines().slice(linesBefore).map((l) => JSON.parse(l));
    assert.equal(added.length, 1);
    assert.equal(added[0].action, 'bulk');
    assert.deepEqual(Object.keys(added[0].routes).sort(), ['images', 'report', 'track']);
    await untilHostsAt(after);
    // The host reported the version: every route of it is served by legacy now.
    for (const path of ['/api/v1/track/9', '/report', '/images/x.png']) assert.equal(await targetOf(path), 'legacy', path);
    // Several named routes at once, then everything back.
    const two = await cli('flip', 'track', 'report', 'function');
    assert.equal(two.status, 0, two.stderr);
    assert.equal((await statusJson()).state_version, after + 1);
    await untilHostsAt(after + 1);
    assert.equal(await targetOf('/report'), 'function:generate-report');
    assert.equal(await targetOf('/images/x.png'), 'legacy');
    assert.equal((await cli('flip', '--all', 'manifest')).status, 0);
  });

  it('a change nginx -t refuses is not applied: the old config keeps serving and status shows the failure', async () => {
    const original = readFileSync(stack.manifestPath, 'utf8');
    const confBefore = readFileSync(stack.nginx!.confPath, 'utf8');
    // Valid to the manifest checks, refused by nginx -t: the host name does not resolve.
    writeFileSync(stack.manifestPath, original
      .replace(/^( {2}functions: .*)$/m, '$1\n  ext: { servers: ["no-such-host.invalid:80"] }')
      .replace('  - { id: report', '  - { id: ext, match: { prefix: /ext }, to: "upstream:ext" }\n  - { id: report'));
    try {
      await untilFailure(/nginx -t refused the config/);
      const text = await cli('status');
      assert.match(text.stdout, /FAILED to apply version [0-9]+ at .*nginx -t refused/);
      assert.equal(readFileSync(stack.nginx!.confPath, 'utf8'), confBefore, 'the running config is untouched');
      assert.equal(await targetOf('/api/v1/track/2'), 'function:track-package', 'nginx keeps serving the old config');
    } finally {
      writeFileSync(stack.manifestPath, original);
    }
    // Fixed: the next sync applies and clears the failure.
    await untilFailureCleared();
  });

  it('an invalid manifest edit is not applied either: status names the diagnostic, nginx keeps serving', async () => {
    const original = readFileSync(stack.manifestPath, 'utf8');
    writeFileSync(stack.manifestPath, original.replace('to: "function:generate-report"', 'to: "functon:generate-report"'));
    try {
      const failure = await untilFailure(/is invalid/);
      assert.match(failure, /routes\.yaml:[0-9]+:[0-9]+: error STR_BAD_TARGET: routes\[2\]\.to: .*did you mean function:generate-report/);
      assert.equal(await targetOf('/report'), 'function:generate-report', 'nginx keeps serving the last good manifest');
    } finally {
      writeFileSync(stack.manifestPath, original);
    }
    await untilFailureCleared();
  });

  it('under keep-alive load: failed requests per applied change are counted and bounded', async () => {
    const CHANGES = 6;
    const CONNECTIONS = 8;
    let ok = 0;
    const failures: string[] = [];
    let running = true;
    const loadPool = new UndiciAgent({ connections: CONNECTIONS, keepAliveTimeout: 60_000 });
    const worker = async () => {
      while (running) {
        try {
          const res = await request(`http://127.0.0.1:${stack.ports.nginx}/api/v1/track/3`, { dispatcher: loadPool });
          await res.body.dump();
          if (res.statusCode === 200) ok++;
          else failures.push(`status ${res.statusCode}`);
        } catch (err) {
          failures.push((err as NodeJS.ErrnoException).code ?? (err as Error).message);
        }
      }
    };
    const workers = Array.from({ length: CONNECTIONS }, worker);
    let probeFailed = 0;
    try {
      for (let i = 0; i < CHANGES; i++) {
        const r = await cli('flip', 'track', i % 2 ? 'function' : 'legacy');
        assert.equal(r.status, 0, r.stderr);
        probeFailed += (await untilServedBy('/api/v1/track/3', i % 2 ? 'function:track-package' : 'legacy')).failed;
      }
    } finally {
      running = false;
      await Promise.all(workers);
      await loadPool.close();
      await cli('flip', 'track', 'manifest');
    }
    const perChange = failures.length / CHANGES;
    console.log(`      keep-alive load: ${ok} ok, ${failures.length} failed over ${CHANGES} applied changes (${perChange.toFixed(2)} per change, ${CONNECTIONS} connections; the probe: ${probeFailed} failed)` +
      (failures.length ? `: ${[...new Set(failures)].join(', ')}` : ''));
    assert.ok(ok > CHANGES * 10, `traffic flowed during the changes (${ok} ok)`);
    // Each reload closes the old workers' idle keep-alive connections: a request racing that
    // close fails once per connection and change, never more (the probe is one more connection).
    const total = failures.length + probeFailed;
    assert.ok(total <= CHANGES * (CONNECTIONS + 1), `${total} failures > ${CHANGES} changes × ${CONNECTIONS + 1} connections`);
  });
});
