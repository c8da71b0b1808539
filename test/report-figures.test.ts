// strangler report: synthetic logs with known figures give exact numbers; rotated and gzipped
// files are read; malformed lines are counted and skipped with a note; the JSON shape is stable.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { compileManifest } from '../gateway/manifest/compile-manifest';
import { buildReport } from '../gateway/cli/report';
import type { MigrationReport } from '../gateway/report/aggregate';
import { lines, REPORT_MANIFEST } from './helpers/access-lines';
import { runCli } from './helpers/serve-child';


const D1 = '2026-11-30T10:00:00+00:00';
const D2 = '2026-12-01T10:00:00+00:00';
const UUID = '550e8400-e29b-41d4-a716-446655440000';

// Day 1: track 6 by the function (10 ms), 2 by legacy (one 500); unclaimed: /users/42 ×3,
// /users/43 ×1 (502), /static/app.js ×2, /orders/UUID ×1 (404). 15 requests, 6 by functions.
const DAY1_A = lines(6, { time: D1, route: 'track', target: 'function:track-package', uri: '/api/v1/track/1', seconds: 0.01 }) +
  lines(1, { time: D1, route: 'track', target: 'legacy', uri: '/api/v1/track/2', status: 500, seconds: 0.1 }) +
  lines(1, { time: D1, route: 'track', target: 'legacy', uri: '/api/v1/track/3', seconds: 0.1 });
const DAY1_B = lines(3, { time: D1, route: 'default', target: 'legacy', uri: '/users/42?full=1', seconds: 0.05 }) +
  lines(1, { time: D1, route: 'default', target: 'legacy', uri: '/users/43', status: 502, seconds: 0.05 }) +
  lines(2, { time: D1, route: 'default', target: 'legacy', uri: '/static/app.js', seconds: 0.001 }) +
  lines(1, { time: D1, route: 'default', target: 'legacy', uri: `/orders/${UUID}`, status: 404, seconds: 0.2 });
// Day 2: images 6 by the function, 2 by legacy; /users/7 ×2. 10 requests, 6 by functions.
const DAY2 = lines(6, { time: D2, route: 'images', target: 'function:image-resizer', uri: '/images/a.png', seconds: 0.2 }) +
  lines(2, { time: D2, route: 'images', target: 'legacy', uri: '/images/b.png', seconds: 0.3 }) +
  lines(2, { time: D2, route: 'default', target: 'legacy', uri: '/users/7', seconds: 0.05 });
const MALFORMED = 'garbage\n{"route":1}\n[1,2]\n{"time":"2026-12-01T10:00:00+00:00","route":"track",\n';

function near(actual: number | null, expected: number): void {
  assert.ok(actual !== null && Math.abs(actual - expected) <= 0.05 * expected, `${actual} is not within 5% of ${expected}`);
}

describe('strangler report: figures from synthetic logs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'strangler-report-'));
  const manifest = join(dir, 'routes.yaml');
  const current = join(dir, 'access.log');
  const rotated = join(dir, 'access.log.1');
  const gzipped = join(dir, 'access.log.2.gz');
  writeFileSync(manifest, REPORT_MANIFEST);
  const cut = DAY2.indexOf('\n', 200) + 1; // between two lines
  writeFileSync(current, DAY2.slice(0, cut) + MALFORMED + DAY2.slice(cut));
  writeFileSync(rotated, DAY1_A);
  writeFileSync(gzipped, gzipSync(DAY1_B));
  const table = compileManifest(REPORT_MANIFEST, 'routes.yaml').table!;
  let report: MigrationReport;

  before(async () => {
    report = await buildReport(table, [current, rotated, gzipped]);
  });

  it('overall: requests and function share, and by day', () => {
    assert.equal(report.requests, 25);
    assert.equal(report.function_share, 12 / 25);
    assert.equal(report.error_rate, 2 / 25);
    assert.deepEqual(report.days, [
      { day: '2026-11-30', requests: 15, function_share: 0.4 },
      { day: '2026-12-01', requests: 10, function_share: 0.6 },
    ]);
  });

  it('per route: requests, function share, error rates and latency per side', () => {
    const track = report.routes.find((r) => r.id === 'track')!;
    assert.equal(track.requests, 8);
    assert.equal(track.function_share, 0.75);
    assert.equal(track.to, 'function:track-package');
    assert.equal(track.function.requests, 6);
    assert.equal(track.function.error_rate, 0);
    assert.equal(track.legacy.requests, 2);
    assert.equal(track.legacy.error_rate, 0.5);
    near(track.function.p50_ms, 10);
    near(track.function.p95_ms, 10);
    near(track.legacy.p50_ms, 100);
    const images = report.routes.find((r) => r.id === 'images')!;
    assert.equal(images.requests, 8);
    assert.equal(images.function_share, 0.75);
    near(images.function.p95_ms, 200);
    near(images.legacy.p95_ms, 300);
  });

  it('backlog: unclaimed requests by path template, busiest first, with time spent and error rates', () => {
    assert.deepEqual(report.backlog.map((b) => [b.path, b.requests]), [['/users/{id}', 6], ['/static/app.js', 2], [`/orders/{uuid}`, 1]]);
    const users = report.backlog[0];
    assert.equal(users.error_rate, Number((1 / 6).toFixed(6)));
    assert.equal(users.time_spent_s, 0.3);
    assert.equal(users.share, 6 / 25);
    near(users.p50_ms, 50);
    assert.equal(report.backlog[2].client_error_rate, 1);
  });

  it('routes with no traffic in the window', () => {
    assert.deepEqual(report.unused_routes, ['old']);
    assert.equal(report.routes.find((r) => r.id === 'old')!.requests, 0);
  });

  it('malformed lines are counted and skipped with a note naming the first', () => {
    assert.equal(report.lines.malformed, 4);
    assert.equal(report.lines.counted, 25);
    assert.match(report.notes.join('\n'), new RegExp(`4 malformed lines skipped .* first at ${current.replace(/[.]/g, '\\.')}:\\d+`));
  });

  it('a gzip file cut short (rotated while compressing): the lines before the damage count, a note, no crash', async () => {
    const cut = join(dir, 'cut.log.gz');
    const whole = gzipSync(DAY1_B);
    writeFileSync(cut, whole.subarray(0, whole.length - 12));
    const r = await buildReport(table, [cut]);
    assert.ok(r.requests <= 7);
    assert.match(r.notes.join('\n'), /cut\.log\.gz: .*the lines before it were read/);
  });

  it('a line too long to keep (over 64 KiB) is malformed, not buffered; CRLF and a last line without a newline are read', async () => {
    const odd = join(dir, 'odd.log');
    const line = lines(1, { time: D1, route: 'track', target: 'legacy', uri: '/api/v1/track/1' }).trimEnd();
    writeFileSync(odd, `${'x'.repeat(1024 * 1024)}\n${line}\r\n{"uri":"${'y'.repeat(100 * 1024)}"}\n${line}`);
    const r = await buildReport(table, [odd]);
    assert.equal(r.lines.counted, 2);
    assert.equal(r.lines.malformed, 2);
    assert.match(r.notes.join('\n'), /first at .*odd\.log:1, .*odd\.log:3/);
  });

  it('templates beyond the bound are counted under "(other paths)" with a note', async () => {
    const many = join(dir, 'many.log');
    writeFileSync(many, Array.from({ length: 30 }, (_, i) => lines(1, { time: D1, route: 'default', target: 'legacy', uri: `/page-${i}` })).join(''));
    const r = await buildReport(table, [many], { maxTemplates: 10 });
    assert.equal(r.backlog.length, 11);
    assert.equal(r.backlog[0].path, '(other paths)');
    assert.equal(r.backlog[0].requests, 20);
    assert.match(r.notes.join('\n'), /more than 10 path templates: 20 requests/);
  });

  it("nginx's edge answers (HTTPS redirect, refused Host, ACME file) are left out of the figures, with a note", async () => {
    const edge = join(dir, 'edge.log');
    writeFileSync(edge, lines(2, { time: D1, route: 'track', target: 'function:track-package', uri: '/api/v1/track/1' }) +
      lines(3, { time: D1, route: 'default', target: 'https_redirect', uri: '/users/1', status: 301 }) +
      lines(1, { time: D1, route: 'default', target: 'refused', uri: '/', status: 444 }) +
      lines(1, { time: D1, route: 'default', target: 'acme_webroot', uri: '/.well-known/acme-challenge/t' }));
    const r = await buildReport(table, [edge]);
    assert.equal(r.requests, 2);
    assert.equal(r.function_share, 1);
    assert.deepEqual(r.backlog, []);
    assert.match(r.notes.join('\n'), /5 lines answered by nginx's edge servers .* not counted/);
  });

  describe('the CLI', () => {
    it('--format json: the stable shape, shares from 0 to 1, backlog busiest first', async () => {
      const r = await runCli(['report', manifest, '--log', current, rotated, gzipped, '--format', 'json']);
      assert.equal(r.status, 0, r.stderr);
      const j = JSON.parse(r.stdout);
      assert.equal(j.requests, 25);
      assert.equal(j.function_share, 0.48);
      assert.deepEqual(Object.keys(j.routes[0]).slice(0, 3), ['id', 'match', 'to']);
      for (const route of j.routes) {
        assert.equal(typeof route.id, 'string');
        assert.equal(typeof route.requests, 'number');
        assert.ok(route.function_share >= 0 && route.function_share <= 1);
      }
      assert.deepEqual(j.backlog.map((b: { path: string }) => b.path), ['/users/{id}', '/static/app.js', '/orders/{uuid}']);
      assert.match(r.stderr, /note: 4 malformed lines skipped/);
    });

    it('text and md name the figures; -o writes the file', async () => {
      const text = await runCli(['report', manifest, '--log', current, '--log', rotated, '--log', gzipped]);
      assert.equal(text.status, 0, text.stderr);
      assert.match(text.stdout, /25 requests .* 48\.0% served by functions/);
      assert.match(text.stdout, /^ {2}\/users\/\{id\} +6 +24\.0%/m);
      assert.match(text.stdout, /Candidates to delete rather than migrate: old/);
      // By time spent: /users/{id} 0.3 s, /orders/{uuid} 0.2 s, /static/app.js 0.002 s.
      const byTime = text.stdout.slice(text.stdout.indexOf('Backlog by time spent'));
      assert.deepEqual([...byTime.matchAll(/^ {2}(\/\S+) +[0-9.]+ s/gm)].map((m) => m[1]), ['/users/{id}', '/orders/{uuid}', '/static/app.js']);
      const out = join(dir, 'report.md');
      const md = await runCli(['report', manifest, '--log', current, rotated, gzipped, '--format', 'md', '-o', out]);
      assert.equal(md.status, 0, md.stderr);
      assert.equal(md.stdout, '');
      assert.match(require('node:fs').readFileSync(out, 'utf8'), /^\| `\/users\/\{id\}` \| 6 \| 24\.0% \|/m);
    });

    it('--since keeps only the recent requests', async () => {
      const recent = join(dir, 'recent.log');
      const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, '+00:00');
      writeFileSync(recent, lines(3, { time: iso(Date.now() - 3600_000), route: 'track', target: 'function:track-package', uri: '/api/v1/track/1' }) +
        lines(5, { time: iso(Date.now() - 3 * 86400_000), route: 'track', target: 'legacy', uri: '/api/v1/track/1' }));
      const r = await runCli(['report', manifest, '--log', recent, '--since', '2d', '--format', 'json']);
      assert.equal(r.status, 0, r.stderr);
      const j = JSON.parse(r.stdout);
      assert.equal(j.requests, 3);
      assert.equal(j.function_share, 1);
      assert.equal(j.lines.outside_window, 5);
    });

    it('usage errors exit 2; an unreadable log exits 1', async () => {
      assert.equal((await runCli(['report', manifest])).status, 2);
      assert.equal((await runCli(['report', manifest, '--log', current, '--format', 'pdf'])).status, 2);
      assert.equal((await runCli(['report', manifest, '--log', current, '--since', 'soon'])).status, 2);
      for (const top of ['0', '1e1', '2.5', ' 3', '10001']) {
        const r = await runCli(['report', manifest, '--log', current, '--top', top]);
        assert.equal(r.status, 2, `--top ${JSON.stringify(top)}`);
        assert.match(r.stderr, /--top ".*": expected a whole number from 1 to 10000/);
      }
      assert.equal((await runCli(['report', manifest, '--log', current, '--top', '10000'])).status, 0);
      const missing = await runCli(['report', manifest, '--log', join(dir, 'nope.log')]);
      assert.equal(missing.status, 1);
      assert.match(missing.stderr, /nope\.log: no such file/);
    });
  });
});
