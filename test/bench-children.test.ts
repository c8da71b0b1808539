// A bench command's servers end with it: stopped by a signal in the middle of its load, it leaves
// no echo upstream, gateway or load generator running to skew the next run on the same machine.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { descendantPids } from '../bench/proc';
import { pollUntil } from './helpers/poll';
import { alive } from './helpers/process-alive';

describe('bench commands stop what they started', function () {
  this.timeout(60_000);
  let bench: ChildProcess | null = null;
  let started: number[] = [];

  afterEach(() => {
    // Only if the behaviour under test failed: nothing may outlive the test either way.
    for (const pid of started.filter(alive)) process.kill(pid, 'SIGKILL');
    if (bench?.exitCode === null) bench.kill('SIGKILL');
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} to the shadow bench alone, under load: its upstreams, gateway and load generator exit too`, async () => {
      // Rounds far longer than the test: the signal always lands in the middle of the load.
      const b = spawn(process.execPath, [join(__dirname, '..', 'bench', 'shadow.js')], {
        env: { ...process.env, BENCH_DURATION: '600', BENCH_ROUNDS: '1' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      bench = b;
      let stderr = '';
      b.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
      const exited = new Promise<number | null>((resolve) => b.once('exit', (code) => resolve(code)));
      // Three echo upstreams, the gateway and the load generator.
      started = await pollUntil('the bench to start its servers and its load', () => {
        const pids = descendantPids(b.pid!);
        return pids.length >= 5 ? pids : null;
      }, 30_000);
      b.kill(signal);
      assert.equal(await exited, 128 + (signal === 'SIGTERM' ? 15 : 2), stderr);
      await pollUntil('every process the bench started to exit', () => started.every((pid) => !alive(pid)));
    });
  }
});
