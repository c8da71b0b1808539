// The comparison and the results store on their own: paths as `strangler diff` prints them, the
// ignore rules' wildcards, and the bounds that keep a route's results small.
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { compareAnswers, comparedHeaders, ignoreMatcher, type CapturedAnswer } from '../gateway/runtime/shadow-compare';
import { MAX_EXAMPLE_CHARS, ShadowResults } from '../gateway/runtime/shadow-results';
import { MAX_PATHS, sumShadowReports } from '../gateway/runtime/shadow-report';

const answer = (body: unknown, headers: Record<string, string | string[]> = {}, status = 200): CapturedAnswer => ({
  status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
});
const paths = (a: CapturedAnswer, b: CapturedAnswer) => compareAnswers(a, b).map((d) => d.path);

describe('shadow: comparing two answers', () => {
  it('ignores key order and finds nested, odd-key, type and length differences at their paths', () => {
    assert.deepEqual(paths(answer({ a: 1, b: 2 }), answer({ b: 2, a: 1 })), []);
    assert.deepEqual(paths(answer({ a: { 'odd key': [1, { c: 2 }] } }), answer({ a: { 'odd key': [1, { c: 3 }] } })), ['$.a["odd key"][1].c']);
    assert.deepEqual(paths(answer({ n: 1 }), answer({ n: '1' })), ['$.n']);
    assert.deepEqual(paths(answer({ l: [1, 2, 3] }), answer({ l: [1] })), ['$.l[1]', '$.l[2]']);
    assert.deepEqual(paths(answer([1]), answer({ 0: 1 })), ['$']);
  });

  it('compares a body that is not JSON by length and sha256, and a JSON type with a broken body likewise', () => {
    const d = compareAnswers(answer('abc', { 'content-type': 'text/plain' }), answer('abd', { 'content-type': 'text/plain' }));
    assert.deepEqual(d.map((x) => x.path), ['body']);
    assert.match(String(d[0].legacy), /^3 bytes, sha256 ba7816bf/);
    assert.deepEqual(paths(answer('{"a":'), answer('{"a":1}')), ['body']);
    assert.deepEqual(paths(answer('same', { 'content-type': 'text/plain' }), answer('same', { 'content-type': 'text/plain' })), []);
  });

  it('keeps of an answer\'s headers only those it compares, and finds the same differences with them', () => {
    const full = { 'content-type': 'text/html', location: '/x', 'cache-control': 'no-store', 'set-cookie': ['s=secret; Path=/', 't=1'], date: 'today', server: 'legacy', 'content-length': '4' };
    const kept = comparedHeaders(full);
    assert.deepEqual(kept, { 'content-type': 'text/html', location: '/x', 'cache-control': 'no-store', 'set-cookie': ['s=secret; Path=/', 't=1'] });
    const other = { ...full, location: '/y', 'set-cookie': 's=1', date: 'tomorrow' };
    const both = (a: Record<string, string | string[]>, b: Record<string, string | string[]>) => compareAnswers(answer('x', a), answer('x', b));
    assert.deepEqual(both(kept, comparedHeaders(other)), both(full, other));
    assert.deepEqual(both(kept, comparedHeaders(other)).map((d) => d.path), ['header:location', 'header:set-cookie']);
  });

  it('ignores $.a[*].b, $.a.*.b and header rules, and what lies below an ignored path', () => {
    const ignored = ignoreMatcher(['$.items[*].id', '$.by.*.at', '$.meta', 'header:date']);
    for (const p of ['$.items[0].id', '$.items[12].id', '$.by.x.at', '$.by["a b"].at', '$.meta', '$.meta.generated.at', 'header:date']) assert.ok(ignored(p), p);
    for (const p of ['$.items[0].idx', '$.items.id', '$.by.x.y', '$.metadata', 'header:dates', 'status']) assert.ok(!ignored(p), p);
  });
});

describe('shadow: results per route', () => {
  it('keeps at most MAX_PATHS paths and cuts examples, counting what it dropped', () => {
    const results = new ShadowResults(new Registry());
    const many = Array.from({ length: MAX_PATHS + 5 }, (_, i) => ({ path: `$.k${i}`, legacy: 'x'.repeat(1000), function: i }));
    results.compared('r', many);
    const report = results.report('r');
    assert.equal(report.differences.length, MAX_PATHS);
    assert.equal(report.paths_dropped, 5);
    const example = String(report.differences[0].example.legacy);
    assert.ok(example.length < MAX_EXAMPLE_CHARS + 40, `cut: ${example.length}`);
    assert.match(example, /… \(1002 characters\)$/);
  });

  it('sums the reports of several workers, worst paths first', () => {
    const a = new ShadowResults(new Registry());
    const b = new ShadowResults(new Registry());
    a.compared('r', [{ path: '$.x', legacy: 1, function: 2 }]);
    b.compared('r', [{ path: '$.x', legacy: 1, function: 2 }, { path: '$.y', legacy: 1, function: 2 }]);
    b.compared('r', []);
    b.skipped('r', 'in_flight');
    a.error('r', 'timeout');
    const sum = sumShadowReports([a.report('r'), b.report('r')]);
    assert.deepEqual([sum.compared, sum.equal, sum.different, sum.errors], [3, 1, 2, 1]);
    assert.deepEqual(sum.skipped, { in_flight: 1 });
    assert.deepEqual(sum.differences.map((d) => [d.path, d.count]), [['$.x', 2], ['$.y', 1]]);
    assert.equal(sum.match_ratio, 1 / 3);
  });
});
