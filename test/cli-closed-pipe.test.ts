// A reader that stops early (`strangler compile | head -3`) closes the CLI's stdout: the command
// ends quietly, with no EPIPE stack trace, as a Unix command killed by SIGPIPE would.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../gateway/version';

const BIN = join(PROJECT_ROOT, 'bin', 'strangler.js');

/** Runs the CLI with its stdout's reading end closed before it writes. */
function withClosedStdout(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('CLI: a reader that closes stdout early', () => {
  for (const args of [['--help'], ['compile', join('routes', 'routes.yaml')]]) {
    it(`strangler ${args.join(' ')} ends quietly with 0`, async () => {
      const r = await withClosedStdout(args);
      assert.equal(r.stderr, '', 'nothing on stderr');
      assert.equal(r.code, 0);
    });
  }
});
