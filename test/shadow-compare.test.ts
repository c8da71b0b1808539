// The comparison and the results store on their own: paths as `strangler diff` prints them, the
// ignore rules' wildcards, and the bounds that keep a route's results small.
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { compareAnswers, comparedHeaders, ignoreMatcher, MAX_EXAMPLE_CHARS, type CapturedAnswer } from '../gateway/runtime/shadow-compare';
import { MAX_PATH_CHARS, ShadowResults } from '../gateway/runtime/shadow-results';
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

  it('compares integers past 2^53 by their digits: a function that rounds an int64 id differs', () => {
    const d = compareAnswers(answer('{"order_id":9007199254740993,"n":1}'), answer('{"n":1,"order_id":9007199254740992}'));
    assert.deepEqual(d, [{ path: '$.order_id', legacy: '9007199254740993', function: '9007199254740992' }]);
    assert.deepEqual(paths(answer('{"a":[123456789012345678901],"b":1}'), answer('{"b":1, "a":[123456789012345678901]}')), []);
    assert.deepEqual(paths(answer('{"n":-9007199254740993}'), answer('{"n":5}')), ['$.n']);
    assert.deepEqual(paths(answer('{"s":"12345678901234567890","f":0.12345678901234567}'), answer('{"f":0.12345678901234567,"s":"12345678901234567890"}')), []);
    assert.deepEqual(paths(answer('{"s":"x 12345678901234567890 \\" 12345678901234567891"}'), answer('{"s":"x 12345678901234567890 \\" 12345678901234567892"}')), ['$.s']);
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

  it('never keeps a cookie\'s value, not even of a cookie without a name (all of it is its value)', () => {
    const d = compareAnswers(answer('x', { 'set-cookie': ['SECRET-legacy-1; Path=/', 's=v'] }), answer('x', { 'set-cookie': 'token=SECRET-fn' }));
    assert.deepEqual(d, [{ path: 'header:set-cookie', legacy: '(no name), s', function: 'token' }]);
    assert.deepEqual(paths(answer('x', { 'set-cookie': 'SECRET-a' }), answer('x', { 'set-cookie': 'SECRET-b; HttpOnly' })), []);
  });

  it('ignores $.a[*].b, $.a.*.b and header rules, and what lies below an ignored path', () => {
    const ignored = ignoreMatcher(['$.items[*].id', '$.by.*.at', '$.meta', 'header:date']);
    for (const p of ['$.items[0].id', '$.items[12].id', '$.by.x.at', '$.by["a b"].at', '$.meta', '$.meta.generated.at', 'header:date']) assert.ok(ignored(p), p);
    for (const p of ['$.items[0].idx', '$.items.id', '$.by.x.y', '$.metadata', 'header:dates', 'status']) assert.ok(!ignored(p), p);
  });

  it('takes a key either way, as .key or ["key"], meaning the path a difference is reported at', () => {
    const reported = paths(answer({ '1abc': 1, '-x': [{ 'a.b*': 1 }], 'odd key': { y: 1 } }), answer({ '1abc': 2, '-x': [{ 'a.b*': 2 }], 'odd key': { y: 2 } }));
    assert.deepEqual(reported, ['$["1abc"]', '$["-x"][0]["a.b*"]', '$["odd key"].y']);
    assert.deepEqual(reported.filter((p) => !ignoreMatcher(['$.1abc', '$.-x[*]["a.b*"]', '$["odd key"]'])(p)), []);
    assert.deepEqual(reported.filter((p) => !ignoreMatcher(reported)(p)), [], 'every reported path works as a rule');
    assert.deepEqual(reported.filter((p) => !ignoreMatcher(['$["1abc"].*', '$.*[0]'])(p)), ['$["1abc"]', '$["odd key"].y']);
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

  it('makes room for a path that keeps differing: paths seen once give way, the oldest first', () => {
    const results = new ShadowResults(new Registry());
    const d = (path: string) => ({ path, legacy: 1, function: 2 });
    for (let i = 0; i < 3 * MAX_PATHS; i++) results.compared('r', i % 2 === 0 ? [d(`$.id${i}`)] : [d(`$.id${i}`), d('$.total')]);
    const report = results.report('r');
    assert.equal(report.differences.length, MAX_PATHS);
    assert.deepEqual(report.differences[0], { path: '$.total', count: 1.5 * MAX_PATHS, example: { legacy: 1, function: 2 } });
    assert.ok(report.differences.slice(1).every((x) => x.count === 1));
    assert.equal(report.paths_dropped, 2 * MAX_PATHS + 1, 'every unique path dropped or given way is counted');
  });

  it('cuts a path as long as a body (a key can be) to MAX_PATH_CHARS', () => {
    const results = new ShadowResults(new Registry());
    const long = `$.${'k'.repeat(10 * MAX_PATH_CHARS)}`;
    results.compared('r', [{ path: long, legacy: 1, function: 2 }]);
    results.learnNoise('r', [long]);
    const report = results.report('r');
    assert.equal(report.differences[0].path, `${long.slice(0, MAX_PATH_CHARS)}…`);
    assert.equal(report.noise[0].path, `${long.slice(0, MAX_PATH_CHARS)}…`);
  });

  it('leaves a difference out as noise only while the function differs there no more often than legacy differs from itself', () => {
    const results = new ShadowResults(new Registry());
    const status = { path: 'status', legacy: 200, function: 500 };
    const stamp = { path: '$.t', legacy: 1, function: 2 };
    // Legacy answered a noise sample once with a 503; its timestamp differs in every sample.
    for (let i = 0; i < 20; i++) {
      results.learnNoise('r', i === 0 ? ['status', '$.t'] : ['$.t']);
      results.compared('r', i === 0 ? [stamp] : [status, stamp]);
    }
    const report = results.report('r');
    // The second comparison is left out: one failure in two, as often as legacy's one in two samples.
    assert.deepEqual([report.compared, report.equal, report.different], [20, 2, 18], 'a failing function is not hidden by one odd legacy answer');
    assert.deepEqual(report.differences.map((x) => [x.path, x.count]), [['status', 18]]);
    assert.equal(report.noise_samples, 20);
    assert.deepEqual(report.noise, [{ path: '$.t', count: 20, left_out: 20 }, { path: 'status', count: 1, left_out: 1 }]);
  });

  it('forgets on reset, and tells a comparison begun before it by its generation', () => {
    const results = new ShadowResults(new Registry());
    results.compared('r', []);
    const before = results.generation('r');
    results.reset('r');
    assert.notEqual(results.generation('r'), before);
    assert.equal(results.report('r').compared, 0);
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

  it('keeps the most frequent paths of the sum when the reports name more than MAX_PATHS', () => {
    const a = new ShadowResults(new Registry());
    const b = new ShadowResults(new Registry());
    a.compared('r', Array.from({ length: MAX_PATHS }, (_, i) => ({ path: `$.a${i}`, legacy: 1, function: 2 })));
    for (let i = 0; i < 3; i++) b.compared('r', [{ path: '$.often', legacy: 1, function: 2 }]);
    const sum = sumShadowReports([a.report('r'), b.report('r')]);
    assert.equal(sum.differences.length, MAX_PATHS);
    assert.deepEqual([sum.differences[0].path, sum.differences[0].count], ['$.often', 3]);
    assert.equal(sum.paths_dropped, 1);
  });
});
