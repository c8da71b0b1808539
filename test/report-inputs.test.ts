// strangler report on the logs real hosts leave: a log on a pipe (gzipped or not), lines nginx
// wrote before routing (route "-"), layers whose clocks write different UTC offsets, and an
// overlong line wherever it lies in the file.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildReport } from '../gateway/cli/report';
import { compileManifest } from '../gateway/manifest/compile-manifest';
import { MAX_LINE_BYTES } from '../gateway/report/read-logs';
import { BIN } from './helpers/serve-child';
import { lines, REPORT_MANIFEST } from './helpers/access-lines';

const T = '2026-12-01T10:00:00+00:00';
const table = compileManifest(REPORT_MANIFEST, 'routes.yaml').table!;
const dir = mkdtempSync(join(tmpdir(), 'strangler-report-inputs-'));

function file(name: string, text: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** `cat LOG | strangler report --log /dev/stdin --format json`: through a shell, so the log arrives on a pipe. */
function reportFromPipe(input: Buffer): Promise<{ status: number | null; json: { requests: number; function_share: number }; stderr: string }> {
  const manifest = file('routes.yaml', REPORT_MANIFEST);
  const log = file('piped.log', input);
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', 'cat "$1" | "$2" "$3" report "$4" --log /dev/stdin --format json', 'sh', log, process.execPath, BIN, manifest], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.once('error', reject);
    child.once('close', (status) => {
      try {
        resolve({ status, json: JSON.parse(stdout), stderr });
      } catch {
        resolve({ status, json: { requests: -1, function_share: -1 }, stderr });
      }
    });
  });
}

describe('strangler report: logs as hosts leave them', () => {
  const traffic = lines(3, { time: T, route: 'track', target: 'function:track-package', uri: '/api/v1/track/1' }) +
    lines(1, { time: T, route: 'track', target: 'legacy', uri: '/api/v1/track/2' });

  it('reads a log from a pipe, plain or gzipped', async () => {
    for (const input of [Buffer.from(traffic), gzipSync(traffic)]) {
      const r = await reportFromPipe(input);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.json.requests, 4);
      assert.equal(r.json.function_share, 3 / 4);
    }
  });

  it('leaves out, with a note, the lines nginx answered before routing (route "-")', async () => {
    const refused = lines(2, { time: T, route: '-', target: '-', uri: '/../../etc/passwd', status: 400 });
    const report = await buildReport(table, [file('unrouted.log', traffic + refused)]);
    assert.equal(report.requests, 4);
    assert.equal(report.function_share, 3 / 4);
    assert.deepEqual(report.routes.map((r) => r.id).sort(), ['images', 'old', 'track']);
    assert.ok(report.notes.some((n) => /^2 lines answered before routing/.test(n)), report.notes.join('\n'));
  });

  it('orders the window by instant when the layers write different UTC offsets', async () => {
    const local = lines(1, { time: '2026-12-01T10:00:00+02:00', route: 'track', target: 'legacy', uri: '/api/v1/track/1' }); // 08:00Z
    const utc = lines(1, { time: '2026-12-01T09:00:00+00:00', route: 'track', target: 'legacy', uri: '/api/v1/track/1' });
    const report = await buildReport(table, [file('offsets.log', local + utc)]);
    assert.deepEqual([report.window.first, report.window.last], ['2026-12-01T10:00:00+02:00', '2026-12-01T09:00:00+00:00']);
  });

  it('counts a line over 64 KiB as malformed wherever it lies in the file', async () => {
    const long = lines(1, { time: T, route: 'track', target: 'legacy', uri: `/api/v1/track/${'x'.repeat(MAX_LINE_BYTES + 100)}` });
    const filler = lines(600, { time: T, route: 'track', target: 'legacy', uri: '/api/v1/track/1' });
    assert.ok(filler.length > 100 * 1024 && filler.length < 256 * 1024, `${filler.length}`);
    for (const text of [long + traffic, filler + long + traffic, filler.repeat(2) + long]) {
      const report = await buildReport(table, [file('overlong.log', text)]);
      assert.equal(report.lines.malformed, 1, `${text.indexOf(long)}: ${JSON.stringify(report.lines)}`);
    }
  });
});
