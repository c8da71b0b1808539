// What validation does, one behaviour per test: where errors point, that all of them come at
// once, and each rule the README's "Validation" section names. The corpus test covers breadth;
// these pin the exact paths, lines and messages.
import assert from 'node:assert/strict';
import { BUILTIN_DEFAULTS, compileManifest } from '../gateway/manifest/compile-manifest';
import { formatDiagnostic, type ManifestDiagnostic } from '../gateway/manifest/errors';
import type { RouteTable } from '../gateway/manifest/route-table';
import { parseDuration, parseSize } from '../gateway/manifest/units';
import { MANIFEST_HEAD, withRoutes } from './helpers/manifest-text';

const HEAD = MANIFEST_HEAD;

function compile(text: string): { table: RouteTable | null; ds: ManifestDiagnostic[]; errors: ManifestDiagnostic[] } {
  const { table, diagnostics } = compileManifest(text, 'routes.yaml');
  return { table, ds: diagnostics, errors: diagnostics.filter((d) => d.severity === 'error') };
}

function accepted(text: string): RouteTable {
  const { table, ds } = compile(text);
  assert.ok(table, `refused:\n${ds.map(formatDiagnostic).join('\n')}`);
  return table;
}

/** The one error of a refused manifest, as `CODE path @line`. */
function only(text: string): string {
  const { table, errors, ds } = compile(text);
  assert.equal(table, null);
  assert.equal(errors.length, 1, ds.map(formatDiagnostic).join('\n'));
  return `${errors[0].code} ${errors[0].path} @${errors[0].line}`;
}

const route = (body: string) => `  - { id: r, match: { prefix: /r }, to: "function:f", ${body} }`;

describe('manifest validation', () => {
  describe('where errors point', () => {
    it('gives every error its manifest path, line and column', () => {
      const text = withRoutes(
        '  - id: a',                          // 7
        '    match: { prefix: /a }',
        '    to: legacy',
        '  - id: b',                          // 10
        '    match: { exact: "/b;" }',        // 11
        '    to: function:f',
        '  - id: c',
        '    match:',
        '      regex: "^/c("',                // 15
        '    to: "upstream:nowhere"',         // 16
        '  - id: d',
        '    match: { prefix: /d }',
        '    to: function:f',
        '    canary: { percent: 101 }',       // 20
      );
      const { errors } = compile(text);
      const got = errors.map((d) => `${d.code} ${d.path} ${d.line}:${d.column}`);
      assert.deepEqual(got, [
        'STR_BAD_PATH routes[1].match.exact 11:21',
        'STR_BAD_REGEX routes[2].match.regex 15:14',
        'STR_UNKNOWN_UPSTREAM routes[2].to 16:9',
        'STR_BAD_PERCENT routes[3].canary.percent 20:24',
      ]);
    });

    it('points an unknown key at the key, and a missing key at the object that lacks it', () => {
      const text = withRoutes('  - id: a', '    match: { prefix: /a }', '    to: legacy', '    tiemouts: { read: 5s }', '  - id: b', '    to: legacy');
      const { errors } = compile(text);
      assert.deepEqual(errors.map((d) => `${d.code} ${d.path} ${d.line}:${d.column}`), [
        'STR_UNKNOWN_KEY routes[0].tiemouts 10:5',
        'STR_REQUIRED routes[1] 11:5',
      ]);
      assert.match(errors[1].message, /missing required key "match"/);
    });

    it('quotes a key that is not an identifier in the path', () => {
      const { errors } = compile([...HEAD, '  "my search": { servers: ["127.0.0.1:9200"] }', ''].join('\n'));
      assert.equal(errors[0].path, 'upstreams["my search"]');
      assert.equal(errors[0].line, 6);
    });

    it('points at the value inside an alias-free flow list', () => {
      const { errors } = compile([...HEAD.slice(0, 3), '  legacy: { servers: ["127.0.0.1:8081", "10.0.0.1", "10.0.0.2:80"] }', ''].join('\n'));
      assert.deepEqual(errors.map((d) => `${d.path} ${d.line}:${d.column}`), ['upstreams.legacy.servers[1] 4:41']);
    });

    it('formats diagnostics as FILE:LINE:COLUMN: error CODE: PATH: message', () => {
      const { errors } = compile(withRoutes('  - { id: a, match: { prefix: "/x;" }, to: legacy }'));
      assert.match(formatDiagnostic(errors[0]), /^routes\.yaml:7:31: error STR_BAD_PATH: routes\[0\]\.match\.prefix: "\/x;" is not allowed here/);
    });

    it('gives YAML syntax errors a line too', () => {
      const { errors } = compile([...HEAD, 'routes:', '  - id: a', '   match: {}', ''].join('\n'));
      assert.equal(errors[0].code, 'STR_YAML_SYNTAX');
      assert.equal(errors[0].path, '');
      assert.equal(errors[0].line, 8);
    });

    it('puts the problems of an empty file on line 1', () => {
      const { errors } = compile('');
      assert.deepEqual(errors.map((d) => `${d.code} ${d.line}`), ['STR_TYPE 1']);
    });
  });

  describe('all errors at once', () => {
    it('reports schema and semantic errors of every route in one run, sorted by line', () => {
      const text = withRoutes(
        '  - { id: Bad_Id, match: { prefix: /a }, to: legacy }',            // 7  STR_BAD_ID
        '  - { id: b, match: { prefix: /a }, to: legacy }',                 // 8  STR_DUPLICATE_MATCH
        '  - { id: b, match: { exact: /c }, to: "async:x" }',               // 9  STR_DUPLICATE_ID
        '  - { id: d, match: { exact: /d }, to: legacy, methods: [FETCH] }', // 10 STR_BAD_VALUE
        '  - { id: e, match: { exact: /e }, to: "function:f", timeouts: { read: 5s5s }, body: { max_size: 1.5m } }', // 11 ×2
      ).replace('listen: 8080', 'listen: 0');                              // 2  STR_BAD_VALUE
      const { table, errors } = compile(text);
      assert.equal(table, null);
      assert.deepEqual(errors.map((d) => `${d.line} ${d.code} ${d.path}`), [
        '2 STR_BAD_VALUE listen',
        '7 STR_BAD_ID routes[0].id',
        '8 STR_DUPLICATE_MATCH routes[1].match.prefix',
        '9 STR_DUPLICATE_ID routes[2].id',
        '10 STR_BAD_VALUE routes[3].methods[0]',
        '11 STR_BAD_DURATION routes[4].timeouts.read',
        '11 STR_BAD_SIZE routes[4].body.max_size',
      ]);
    });

    it('reports each problem once', () => {
      const { errors } = compile(withRoutes('  - { id: a, match: { prefix: /a }, to: "function:f", canary: { percent: 100.001 } }').replace('listen: 8080', 'listen: true'));
      assert.deepEqual(errors.map((d) => `${d.code} ${d.path} ${d.message}`), [
        'STR_TYPE listen must be integer or string',
        'STR_BAD_PERCENT routes[0].canary.percent 100.001 must be <= 100',
      ]);
    });
  });

  describe('ids and matches', () => {
    it('refuses a duplicate id on the second route, naming the first', () => {
      const { errors } = compile(withRoutes('  - { id: a, match: { prefix: /a }, to: legacy }', '  - { id: b, match: { prefix: /b }, to: legacy }', '  - { id: a, match: { prefix: /c }, to: legacy }'));
      assert.equal(errors.length, 1);
      assert.equal(`${errors[0].code} ${errors[0].path} @${errors[0].line}`, 'STR_DUPLICATE_ID routes[2].id @9');
      assert.match(errors[0].message, /already used by routes\[0\]/);
    });

    it('reserves the id "default"', () => {
      assert.equal(only(withRoutes('  - { id: default, match: { prefix: /a }, to: legacy }')), 'STR_RESERVED_ID routes[0].id @7');
    });

    it('refuses two routes on the same nginx location, and accepts = P beside P/', () => {
      const dup = (a: string, b: string) => only(withRoutes(`  - { id: a, match: ${a}, to: legacy }`, `  - { id: b, match: ${b}, to: legacy }`));
      assert.equal(dup('{ prefix: /api }', '{ exact: /api }'), 'STR_DUPLICATE_MATCH routes[1].match.exact @8');
      assert.equal(dup('{ prefix: /api }', '{ prefix: /api/ }'), 'STR_DUPLICATE_MATCH routes[1].match.prefix @8');
      assert.equal(dup('{ prefix: /api/ }', '{ prefix: /api/ }'), 'STR_DUPLICATE_MATCH routes[1].match.prefix @8');
      assert.equal(dup('{ exact: /x }', '{ exact: /x }'), 'STR_DUPLICATE_MATCH routes[1].match.exact @8');
      assert.equal(dup('{ regex: "^/r" }', '{ regex: "^/r" }'), 'STR_DUPLICATE_MATCH routes[1].match.regex @8');
      accepted(withRoutes('  - { id: a, match: { exact: /api/ }, to: legacy }', '  - { id: b, match: { prefix: /api/ }, to: legacy }'));
      accepted(withRoutes('  - { id: a, match: { exact: /api }, to: legacy }', '  - { id: b, match: { prefix: /api/ }, to: legacy }'));
      accepted(withRoutes('  - { id: a, match: { regex: "^/r" }, to: legacy }', '  - { id: b, match: { regex: "^/r$" }, to: legacy }'));
    });

    it('wants exactly one of prefix, exact, regex', () => {
      const m = (match: string) => only(withRoutes(`  - { id: a, match: ${match}, to: legacy }`));
      assert.equal(m('{}'), 'STR_BAD_MATCH routes[0].match @7');
      assert.equal(m('{ prefix: /a, exact: /a }'), 'STR_BAD_MATCH routes[0].match @7');
      assert.equal(m('{ prefix: /a, exact: /b, regex: "^/c" }'), 'STR_BAD_MATCH routes[0].match @7');
      const { errors } = compile(withRoutes('  - { id: a, match: {}, to: legacy }'));
      assert.equal(errors[0].message, 'must have exactly one of prefix, exact, regex');
      for (const kind of ['prefix: /a', 'exact: /a', 'regex: "^/a"']) accepted(withRoutes(`  - { id: a, match: { ${kind} }, to: legacy }`));
    });
  });

  describe('targets', () => {
    it('requires upstreams.functions for function: and async: targets', () => {
      const noFunctions = (to: string) => [...HEAD.slice(0, 4), 'routes:', `  - { id: a, match: { prefix: /a }, to: "${to}" }`, ''].join('\n');
      assert.equal(only(noFunctions('function:f')), 'STR_UNKNOWN_UPSTREAM routes[0].to @6');
      assert.equal(only(noFunctions('async:f')), 'STR_UNKNOWN_UPSTREAM routes[0].to @6');
      accepted(noFunctions('legacy'));
      assert.match(compile(noFunctions('function:f')).errors[0].message, /needs upstreams\.functions/);
    });

    it('requires upstream:NAME to be defined, as an own key', () => {
      assert.equal(only(withRoutes('  - { id: a, match: { prefix: /a }, to: "upstream:search" }')), 'STR_UNKNOWN_UPSTREAM routes[0].to @7');
      for (const name of ['constructor', 'tostring']) {
        assert.equal(only(withRoutes(`  - { id: a, match: { prefix: /a }, to: "upstream:${name}" }`)), 'STR_UNKNOWN_UPSTREAM routes[0].to @7');
      }
      const table = accepted(withRoutes('  - { id: a, match: { prefix: /a }, to: "upstream:search" }').replace('routes:', '  search: { servers: ["127.0.0.1:9200"] }\nroutes:'));
      assert.deepEqual(table.routes[0].to, { kind: 'upstream', name: 'search', text: 'upstream:search' });
    });

    it('reserves the upstream name gateway once a route is dynamic', () => {
      const text = withRoutes('  - { id: a, match: { prefix: /a }, to: "function:f", dynamic: true }').replace('routes:', '  gateway: { servers: ["127.0.0.1:9000"] }\nroutes:');
      assert.equal(only(text), 'STR_BAD_NAME upstreams.gateway @6');
      accepted(text.replace('dynamic: true', 'dynamic: false'));
    });
  });

  describe('units', () => {
    it('parses nginx durations, bare numbers as seconds', () => {
      const cases: [string, number][] = [['500ms', 500], ['5s', 5000], ['2m', 120_000], ['1m30s', 90_000], ['1h', 3_600_000], ['1d', 86_400_000], ['90', 90_000], ['1m30', 90_000], ['1s500ms', 1500]];
      for (const [text, ms] of cases) {
        assert.equal(parseDuration(text), ms, text);
        const table = accepted(withRoutes(route(`timeouts: { read: "${text}" }`)));
        assert.deepEqual(table.routes[0].timeouts.read, { text, ms });
      }
    });

    it('takes unquoted YAML numbers as nginx does: seconds and bytes', () => {
      const table = accepted(withRoutes(route('timeouts: { read: 90 }, body: { max_size: 0, buffer: 16384 }')));
      assert.deepEqual(table.routes[0].timeouts.read, { text: '90', ms: 90_000 });
      assert.deepEqual(table.routes[0].body.max_size, { text: '0', bytes: 0 });
      assert.deepEqual(table.routes[0].body.buffer, { text: '16384', bytes: 16384 });
      assert.equal(only(withRoutes(route('timeouts: { read: 0 }'))), 'STR_BAD_DURATION routes[0].timeouts.read @7');
    });

    it('refuses malformed, zero, over-a-day and out-of-order durations', () => {
      for (const bad of ['5 s', '5sec', '1.5s', '-5s', '5S', '1y', '', '0s', '0', '2d', '86401s', '25h', '5s5s', '500ms1s', '30s1m', '1h2d']) {
        assert.equal(only(withRoutes(route(`timeouts: { read: "${bad}" }`))), 'STR_BAD_DURATION routes[0].timeouts.read @7', bad);
      }
    });

    it('parses nginx sizes', () => {
      const cases: [string, number][] = [['1024', 1024], ['128k', 131_072], ['128K', 131_072], ['50m', 52_428_800], ['1g', 1_073_741_824], ['0', 0]];
      for (const [text, bytes] of cases) {
        assert.equal(parseSize(text), bytes, text);
        const table = accepted(withRoutes(route(`body: { max_size: "${text}" }`)));
        assert.deepEqual(table.routes[0].body.max_size, { text, bytes });
      }
    });

    it('refuses malformed and out-of-range sizes, and g where nginx has no g', () => {
      const bad: [string, string][] = [
        ['body: { max_size: "50MB" }', 'body.max_size'], ['body: { max_size: "1.5m" }', 'body.max_size'], ['body: { max_size: "-1" }', 'body.max_size'],
        ['body: { max_size: "1025g" }', 'body.max_size'], ['body: { buffer: "0" }', 'body.buffer'], ['body: { buffer: "1g" }', 'body.buffer'],
        ['buffers: { size: "512" }', 'buffers.size'], ['buffers: { size: "65m" }', 'buffers.size'], ['buffers: { size: "1g" }', 'buffers.size'],
      ];
      for (const [body, path] of bad) {
        const { table, errors } = compile(withRoutes(route(body)));
        assert.equal(table, null);
        assert.ok(errors.some((d) => `${d.code} ${d.path} @${d.line}` === `STR_BAD_SIZE routes[0].${path} @7`), `${body}: ${errors.map(formatDiagnostic).join('\n')}`);
      }
      const { errors } = compile(withRoutes(route('body: { buffer: "1g" }')));
      assert.match(errors[0].message, /only k and m .*1024m/);
      accepted(withRoutes(route('body: { buffer: "1024m", max_size: "2g" }')));
    });

    it('checks the buffer rules on the effective values', () => {
      // count 2 × each 64k leaves room for 64k busy; the inherited busy is 256k.
      const { errors } = compile(withRoutes(route('buffers: { count: 2, each: 64k }')));
      assert.deepEqual(errors.map((d) => `${d.code} ${d.path}`), ['STR_BAD_BUFFERS routes[0].buffers.busy']);
      assert.match(errors[0].message, /must not exceed \(count - 1\) × each \(65536 bytes\)/);
      accepted(withRoutes(route('buffers: { size: 64k, count: 2, each: 64k, busy: 64k }')));
      const low = compile(withRoutes(route('buffers: { busy: 64k }')));
      assert.match(low.errors[0].message, /must be at least the larger of size and each/);
    });
  });

  describe('canary', () => {
    it('accepts 0..100 with at most two decimals and stores the number', () => {
      for (const p of [0, 0.01, 12.5, 12.34, 99.99, 100]) {
        const table = accepted(withRoutes(route(`canary: { percent: ${p} }`)));
        assert.equal(table.routes[0].canary.percent, p);
      }
    });

    it('refuses percents out of range or with more decimals', () => {
      for (const p of ['-1', '-0.01', '100.01', '101', '12.345', '0.001', '1e-7']) {
        assert.equal(only(withRoutes(route(`canary: { percent: ${p} }`))), 'STR_BAD_PERCENT routes[0].canary.percent @7', p);
      }
      assert.equal(only(withRoutes(route('canary: { percent: "50" }'))), 'STR_TYPE routes[0].canary.percent @7');
      assert.equal(only(withRoutes(route('canary: { sticky: ip }'))), 'STR_REQUIRED routes[0].canary @7');
    });

    it('defaults to 100% with a random key and no salt', () => {
      const c = accepted(withRoutes(route('dynamic: false'))).routes[0].canary;
      assert.deepEqual(c, { percent: 100, sticky: { kind: 'random' }, salt: '', rollout: null });
    });

    it('knows cookie:NAME, header:NAME and ip as sticky keys; header names are case-insensitive', () => {
      const sticky = (s: string) => accepted(withRoutes(route(`canary: { percent: 5, sticky: "${s}" }`))).routes[0].canary.sticky;
      assert.deepEqual(sticky('cookie:Session_ID'), { kind: 'cookie', name: 'Session_ID' });
      assert.deepEqual(sticky('header:X-User-Id'), { kind: 'header', name: 'x-user-id' });
      assert.deepEqual(sticky('ip'), { kind: 'ip' });
    });

    it('refuses other sticky keys, and cookie names nginx cannot read', () => {
      for (const s of ['cookie:', 'cookie:a-b', 'header:', 'header:X_User', 'Cookie:x', 'IP', 'ip:1', 'query:x', 'session', `cookie:${'c'.repeat(65)}`, 'cookie:a b']) {
        assert.equal(only(withRoutes(route(`canary: { percent: 5, sticky: "${s}" }`))), 'STR_BAD_STICKY routes[0].canary.sticky @7', s);
      }
    });

    it('keeps the salt as written and refuses salts with spaces or quotes', () => {
      assert.equal(accepted(withRoutes(route('canary: { percent: 5, salt: "v2:2024.06_a-b" }'))).routes[0].canary.salt, 'v2:2024.06_a-b');
      for (const s of ['a b', 'a"b', 'a;b', '$x']) {
        assert.equal(only(withRoutes(route(`canary: { percent: 5, salt: ${JSON.stringify(s)} }`))), 'STR_UNSAFE_STRING routes[0].canary.salt @7', s);
      }
    });
  });

  describe('warnings', () => {
    it('warns when a regex route claims every path below a prefix, and still compiles', () => {
      const { table, ds } = compile(withRoutes(
        '  - { id: api, match: { prefix: /api }, to: "function:f" }',
        '  - { id: img, match: { prefix: /img/ }, to: "function:f" }',
        '  - { id: all, match: { regex: "^/(api|img)/" }, to: legacy }',
      ));
      assert.ok(table);
      assert.deepEqual(ds.map((d) => `${d.severity} ${d.code} ${d.path} @${d.line}`), [
        'warning STR_W_UNREACHABLE routes[0].match.prefix @7',
        'warning STR_W_UNREACHABLE routes[1].match.prefix @8',
      ]);
      assert.match(ds[0].message, /routes\[2\] \(all\).*only \/api itself reaches it/);
      assert.match(ds[1].message, /it can never be reached/);
    });

    it('does not warn when a regex claims only some paths below a prefix', () => {
      const { ds } = compile(withRoutes('  - { id: api, match: { prefix: /api }, to: "function:f" }', '  - { id: pdf, match: { regex: "^/api/.+\\\\.pdf$" }, to: legacy }'));
      assert.deepEqual(ds, []);
    });

    it('warns about canary and fallback on a legacy route', () => {
      const { table, ds } = compile(withRoutes('  - { id: a, match: { prefix: /a }, to: legacy, canary: { percent: 5 }, fallback: legacy }'));
      assert.ok(table);
      assert.deepEqual(ds.map((d) => `${d.code} ${d.path}`), ['STR_W_IGNORED routes[0].canary', 'STR_W_IGNORED routes[0].fallback']);
    });
  });

  describe('defaults', () => {
    it('uses the built-in defaults when the manifest sets none', () => {
      const t = accepted(withRoutes(route('dynamic: false')));
      for (const r of [t.routes[0], t.defaultRoute]) {
        assert.equal(r.timeouts.connect.text, BUILTIN_DEFAULTS.timeouts.connect);
        assert.equal(r.timeouts.read.ms, 60_000);
        assert.equal(r.buffers.count, 4);
        assert.equal(r.buffers.busy.bytes, 256 * 1024);
        assert.equal(r.body.max_size.bytes, 50 * 1024 * 1024);
      }
      assert.equal(t.upstreams.get('legacy')!.keepalive, BUILTIN_DEFAULTS.keepalive);
      assert.equal(t.server_name, '_');
      assert.equal(t.debug_headers, false);
      assert.equal(t.gateway.listen.text, '127.0.0.1:8090');
    });

    it('inherits manifest defaults key by key and lets each route override single keys', () => {
      const text = withRoutes(
        '  - { id: a, match: { prefix: /a }, to: "function:f" }',
        '  - { id: b, match: { prefix: /b }, to: "function:f", timeouts: { read: 300s }, body: { max_size: "0" }, buffers: { count: 8 } }',
      ).replace('routes:', 'defaults:\n  timeouts: { read: 30s }\n  body: { buffer: 16k }\nroutes:');
      const t = accepted(text);
      const [a, b] = t.routes;
      assert.equal(a.timeouts.read.text, '30s');
      assert.equal(a.timeouts.connect.text, '5s', 'keys the defaults leave out stay built in');
      assert.equal(a.body.buffer.text, '16k');
      assert.equal(b.timeouts.read.text, '300s');
      assert.equal(b.timeouts.send.text, '60s');
      assert.equal(b.body.max_size.bytes, 0);
      assert.equal(b.body.buffer.text, '16k', 'an override of one key keeps the other inherited');
      assert.equal(b.buffers.count, 8);
      assert.equal(b.buffers.each.text, '256k');
      assert.equal(t.defaults.timeouts.read.text, '30s');
      assert.equal(t.defaultRoute.timeouts.read.text, '30s', 'unmatched traffic uses the manifest defaults');
    });
  });

  describe('the route table', () => {
    const t = () => accepted(withRoutes(route('canary: { percent: 5, sticky: "cookie:s" }, methods: [GET]')));

    it('is deeply frozen: every mutation throws', () => {
      const table = t() as any;
      assert.throws(() => { table.listen = null; }, TypeError);
      assert.throws(() => { table.routes.push({}); }, TypeError);
      assert.throws(() => { table.routes[0].id = 'x'; }, TypeError);
      assert.throws(() => { table.routes[0].canary.percent = 50; }, TypeError);
      assert.throws(() => { table.routes[0].canary.sticky.name = 'x'; }, TypeError);
      assert.throws(() => { table.routes[0].methods.push('POST'); }, TypeError);
      assert.throws(() => { table.routes[0].timeouts.read.ms = 1; }, TypeError);
      assert.throws(() => { table.defaultRoute.to = { kind: 'function' }; }, TypeError);
      assert.throws(() => { delete table.defaults.body; }, TypeError);
      assert.throws(() => { table.upstreams.get('legacy').servers[0].port = 1; }, TypeError);
      assert.throws(() => table.upstreams.set('x', {}), TypeError);
      assert.throws(() => table.upstreams.delete('legacy'), TypeError);
      assert.throws(() => table.upstreams.clear(), TypeError);
      assert.equal(table.upstreams.size, 2);
    });

    it('stamps the manifest sha256 and keeps manifest order', () => {
      const text = withRoutes('  - { id: z, match: { prefix: /z }, to: legacy }', '  - { id: a, match: { prefix: /a }, to: legacy }');
      const table = accepted(text);
      assert.match(table.sha256, /^[0-9a-f]{64}$/);
      assert.deepEqual(table.routes.map((r) => [r.id, r.index]), [['z', 0], ['a', 1]]);
      assert.notEqual(accepted(text + '# changed\n').sha256, table.sha256);
    });
  });
});
