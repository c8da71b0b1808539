// The bench commands' arguments: `--help` answers without starting load, and a mistyped flag is
// refused before anything runs, so it can never rewrite BENCHMARKS.md with a half run.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';

const BENCH = join(__dirname, '..', 'bench');

function run(script: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(BENCH, script), ...args], { timeout: 10_000, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

describe('bench command arguments', () => {
  it('npm run bench -- --help lists every setting with its default and starts nothing', async () => {
    const r = await run('run.js', ['--help']);
    assert.equal(r.code, 0, r.stderr);
    for (const knob of ['BENCH_DURATION', 'BENCH_ROUNDS', 'BENCH_RUNS', 'BENCH_SUITES', 'BENCH_CONFIGS', 'BENCH_LOAD']) {
      assert.match(r.stdout, new RegExp(`^  ${knob} `, 'm'));
    }
    assert.match(r.stdout, /BENCH_ROUNDS .*\(default 7\)/);
    assert.match(r.stdout, /--report-only/);
    assert.doesNotMatch(r.stderr, /warmed up|round \d|bench: run/);
  });

  it('an unknown argument exits 2 and names it, before any load', async () => {
    const r = await run('run.js', ['--reprot-only']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^unknown argument --reprot-only/);
    assert.doesNotMatch(r.stderr, /warmed up|round \d|bench: run/);
  });

  it('a setting that is not a positive number exits 2 and names it', async () => {
    const r = await run('idle-connections.js', [], { BENCH_IDLE_ROUNDS: 'six' });
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'BENCH_IDLE_ROUNDS=six: expected a positive number\n');
  });

  it('a suite or configuration that does not exist exits 2 with the ones that do, so no report is rewritten empty', async () => {
    const suite = await run('run.js', [], { BENCH_SUITES: 'overhead,sclae' });
    assert.equal(suite.code, 2);
    assert.match(suite.stderr, /^BENCH_SUITES: unknown sclae; expected some of overhead, scale, changes, shared-state, agent\n$/);
    const config = await run('run.js', [], { BENCH_SUITES: 'overhead', BENCH_CONFIGS: 'gateway,undici' });
    assert.equal(config.code, 2);
    assert.match(config.stderr, /^BENCH_CONFIGS: unknown undici; expected some of direct, .*undici-pool/);
    const counts = await run('run.js', [], { BENCH_ROUTE_COUNTS: '100,1e3x' });
    assert.equal(counts.code, 2);
    assert.match(counts.stderr, /^BENCH_ROUTE_COUNTS: 1e3x is not a whole number of at least 10/);
  });

  it('the idle-connections bench answers --help with its own settings', async () => {
    const r = await run('idle-connections.js', ['--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /BENCH_IDLE_ROUNDS .*\(default 6\)/);
    assert.doesNotMatch(r.stdout, /BENCH_RUNS/);
  });

  it('the access-log and report-speed benches answer --help with their own settings and refuse bad ones', async () => {
    const log = await run('access-log.js', ['--help']);
    assert.equal(log.code, 0, log.stderr);
    assert.match(log.stdout, /BENCH_ACCESS_LOG_ROUNDS .*\(default 2\)/);
    const report = await run('report-speed.js', ['--help']);
    assert.equal(report.code, 0, report.stderr);
    assert.match(report.stdout, /BENCH_REPORT_LINES .*\(default 1000000\)/);
    const bad = await run('report-speed.js', [], { BENCH_REPORT_LINES: 'lots' });
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr, 'BENCH_REPORT_LINES=lots: expected a positive number\n');
  });

  it('the CLI-start bench answers --help with its arguments, and refuses a count it cannot run before timing anything', async () => {
    const help = await run('cli-start.js', ['--help']);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^Arguments:\n  ROUTES .*\(default 10000\)\n  RUNS .*\(default 7\)$/m);
    assert.doesNotMatch(help.stdout, /cli start:|Settings/);
    const few = await run('cli-start.js', ['5']);
    assert.equal(few.code, 2);
    assert.match(few.stderr, /^ROUTES 5: expected a whole number of at least 10\n/);
    const extra = await run('cli-start.js', ['100', '3', '9']);
    assert.equal(extra.code, 2);
    assert.match(extra.stderr, /^unknown argument 9\n/);
    assert.doesNotMatch(few.stdout + extra.stdout, /cli start:/);
  });

  it('the shadow bench answers --help with only the settings it reads', async () => {
    const r = await run('shadow.js', ['-h']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /BENCH_CONNECTIONS/);
    assert.doesNotMatch(r.stdout, /BENCH_ROUTE_COUNTS/);
  });
});
