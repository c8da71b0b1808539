// The two ways a manifest is read must never disagree. The fast path (js-yaml) may decline a
// document, but when it answers, the exact path (the yaml package) must accept the same text
// without an error and give the same data; and compileManifest must report exactly what the
// exact path alone reports (code, path, line, column, message) for every manifest.
//
//   STRANGLER_YAML_RUNS=20000 npm test     more generated documents (default 1500)
//   STRANGLER_PROPERTY_SEED=123 | random   replay a failing run, or explore (the default seed is fixed)
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { compileManifest, compileManifestExact } from '../gateway/manifest/compile-manifest';
import type { ManifestDiagnostic } from '../gateway/manifest/errors';
import { parseManifestYaml } from '../gateway/manifest/parse-yaml';
import { parseManifestYamlFast } from '../gateway/manifest/parse-yaml-fast';
import { PROJECT_ROOT } from '../gateway/version';
import { benchManifest } from '../bench/manifests';
import { BAD_MANIFESTS, corpusText } from './corpus/bad-manifests';
import { baseManifest, manifestText, withRoutes } from './helpers/manifest-text';
import { propertySeed } from './helpers/property-seed';

const RUNS = Number(process.env.STRANGLER_YAML_RUNS ?? 1500);
const SEED = propertySeed();

/** 'declined', or 'agreed' after proving the exact path reads the same data without an error. */
function bothPaths(text: string): 'declined' | 'agreed' {
  const fast = parseManifestYamlFast(text);
  if (!fast) return 'declined';
  const exact = parseManifestYaml(text, 'routes.yaml');
  assert.deepEqual(exact.diagnostics, [], `the fast path accepted what the yaml package refuses:\n${JSON.stringify(text)}`);
  assert.deepStrictEqual(fast.data, exact.data, `the two paths read different data from:\n${JSON.stringify(text)}`);
  return 'agreed';
}

/** compileManifest (fast path first) against the exact path alone: same table, same diagnostics. */
function sameCompile(text: string): void {
  const got = compileManifest(text, 'routes.yaml', { checkFiles: false });
  const exact = compileManifestExact(text, 'routes.yaml', { checkFiles: false });
  assert.deepStrictEqual(got.diagnostics.map(comparable), exact.diagnostics.map(comparable), `diagnostics differ for:\n${text}`);
  assert.deepStrictEqual(plain(got.table), plain(exact.table), `tables differ for:\n${text}`);
}

/**
 * Where the yaml package runs out of stack on deep block nesting depends on how deep the caller's
 * stack already was: that position was never reproducible, so only its code and message count.
 */
function comparable(d: ManifestDiagnostic): ManifestDiagnostic {
  return /call stack/i.test(d.message) ? { ...d, line: undefined, column: undefined } : d;
}

/** A RouteTable as plain data: its frozen Maps carry throwing set/delete functions of their own. */
function plain(table: unknown): unknown {
  return JSON.parse(JSON.stringify(table, (_k, v) => (v instanceof Map ? [...v.entries()] : v)));
}

const MANIFEST = withRoutes('  - id: track', '    match: { prefix: /api/v1/track }', '    to: function:track');

/**
 * Documents where YAML parsers are known to part ways: YAML 1.1 against 1.2 scalars, merge keys,
 * duplicate keys, tags, anchors and aliases, directives, several documents, complex and null keys,
 * block and multi-line scalars, flow collections over lines, tabs, CR, BOM, reserved indicators,
 * escapes, comments, indentation mistakes, Unicode line separators.
 */
const TRICKY: string[] = [
  // Scalars: YAML 1.1 booleans and octal, the 1.2 core forms, numbers js-yaml's own core schema reads otherwise.
  ...['yes', 'no', 'on', 'off', 'y', 'n', 'Yes', 'NO', 'true', 'True', 'TRUE', 'tRUE', 'false', 'FALSE',
    '0777', '0o17', '0o8', '0x1F', '0X1F', '0b101', '+12', '-0', '+0', '1_000', '1e3', '1E+3', '-1e-3', '.5', '5.', '-.5e2',
    '.inf', '-.Inf', '+.INF', '.NaN', '.nan', 'NaN', '1e400', '9'.repeat(400), '12:30:00', '2001-12-14', '2001-12-14t21:59:43.10-05:00',
    '~', 'null', 'Null', 'NULL', 'nULL', '', '=', '<<', '0.', '00', '-', '--', '+', '.', '1.2.3', '0x', '0o']
    .flatMap((v) => [`a: ${v}\n`, `- ${v}\n`, `{a: ${v}}\n`, `[${v}]\n`, `a: [x, ${v}]\n`]),
  ...['yes', '0777', '1e3', 'null', '~', '', '1', '01', '0x1', '1.0', '.nan', 'true', 'True', '<<', '__proto__', 'constructor', 'toString']
    .flatMap((k) => [`${k}: 1\n`, `"${k}": 1\n`, `${k}: 1\nb: 2\n`, `upstreams:\n  ${k}: { servers: ["127.0.0.1:1"] }\n`]),
  // Duplicate keys, also between spellings of one value.
  'a: 1\na: 2\n', 'a: 1\n"a": 2\n', "a: 1\n'a': 2\n", '1: a\n"1": b\n', '1: a\n01: b\n', '1: a\n0x1: b\n', '1: a\n1.0: b\n',
  'null: a\n~: b\n', 'true: a\nTrue: b\n', '.nan: a\n.NaN: b\n', '{a: 1, a: 2}\n', '- {a: 1, "a": 2}\n', '-0: a\n0: b\n',
  // Merge keys, anchors, aliases.
  'base: &b { x: 1 }\nother:\n  <<: *b\n  y: 2\n', 'a: &x 1\nb: *x\n', 'a: *x\n', 'a: &x [1, 2]\nb: *x\nc: *x\n', '&a a: b\n',
  'a: &anchor\nb: 1\n', '- &x\n- *x\n', 'a: !!str &x 1\n', 'a: *\n',
  `a: &a [x]\n${Array.from({ length: 120 }, (_, i) => `b${i}: *a`).join('\n')}\n`,
  `a: &a x\n${Array.from({ length: 120 }, (_, i) => `b${i}: *a`).join('\n')}\n`,
  // Tags.
  'a: !!str 5\n', 'a: !!int "5"\n', 'a: !!float 1\n', 'a: !!bool yes\n', 'a: !custom x\n', 'a: !!binary aGVsbG8=\n', 'a: !!set {x, y}\n',
  'a: !!timestamp 2001-12-14\n', 'a: !!omap [x: 1]\n', '! a: b\n', 'a: !<tag:yaml.org,2002:str> 1\n', 'a: !!null ""\n', '!!map {a: 1}\n',
  // Directives and documents.
  '%YAML 1.1\n---\na: yes\n', '%YAML 1.2\n---\na: 1\n', '%YAML 1.3\n---\na: 1\n', '%TAG ! tag:example.com,2000:\n---\na: !x 1\n',
  '%FOO bar\n---\na: 1\n', 'a: 1\n---\nb: 2\n', '---\na: 1\n', '---\na: 1\n...\n', 'a: 1\n...\nb: 2\n', '---\n---\n', '', '# only a comment\n',
  '---\n', '...\n', '\n...\n{}\n', '...\n[]\n', '# c\n---\na: 1\n', '--- a\n', '--- |\n  x\n', 'a: 1\n--- \n', '\uFEFFa: 1\n', '\uFEFF- x\n', ' ---\n#c[]\n', 'a: 1\n\uFEFF', '---\n%YAML 1.2\n',
  // Keys: complex, explicit, null, long, odd.
  '? [a, b]\n: c\n', '[a]: b\n', '{a: b}: c\n', '? a\n: b\n', '? a\n', ': a\n', 'a b: c\n', '"a\\nb": c\n', `${'k'.repeat(1100)}: v\n`,
  `"${'k'.repeat(1100)}": v\n`, '{[a]: b}\n', '[a: b]\n', '[a: b, c]\n', '{a, b}\n', '{a: }\n', '{: a}\n', '[? a : b]\n',
  // Block scalars, multi-line scalars, folding.
  'a: |\n  x\n  y\n', 'a: >\n  x\n  y\n', 'a: |-\n  x\n', 'a: |+\n  x\n\n', 'a: |2\n   x\n', 'a: >\n\n  x\n\n  y\n', 'a: |\nb: 1\n',
  'a: x\n  y\n', 'a: "x\n  y"\n', "a: 'x\n\n  y'\n", 'a: "x\\\n  y"\n', '- x\n  y\n', 'a: x\n# c\n  y\n', 'a: "x\n"\n', 'a: x \n',
  // Flow collections over lines, in and out of block context.
  'a: [x,\n  y]\n', 'a: [x,\ny]\n', 'a: {b: 1,\n  c: 2}\n', 'a: {b: 1,\nc: 2}\n', '[x,\ny]\n', '{\n"a": 1,\n"b": [\n1,\n2\n]\n}\n',
  '{"a"\n: 1}\n', '{"a":\n1}\n', '{a:\n1}\n', '[a,\n]\n', '{"a": [1,\n2], "b": {"c":\n3}}\n', '- [a,\n  b]\n', '{"a": 1}\n# c\n',
  '{"a": 1} x\n', '[1] [2]\n', '{"a": 1,}\n', '[1,,2]\n', '[1, 2\n', '{a: 1\n', '{"a": 1}}\n', '{"a":1}\n', '{"a":b}\n', '{a:1}\n', '{a:b:c}\n',
  // Whitespace: tabs, CR, odd indentation.
  'a:\tb\n', 'a:\n\tb: 1\n', 'a: [\t1]\n', 'a: b\t\n', 'a: 1\r\nb: 2\r\n', 'a: 1\rb: 2\n', 'a: "x\ty"\n', '\ta: 1\n',
  'a:\n  b: 1\n c: 2\n', 'a:\n  b: 1\n   c: 2\n', 'a:\n- b\n- c\n', 'a:\n  - b\n  -c\n', '- a\n - b\n', ' a: 1\nb: 2\n', 'a: 1\n  b: 2\n',
  'a:\n    b: 1\n  c: 2\n', '- - a\n  - b\n- c\n', '-\n  a: 1\n', 'a:\n  -\n    b\n',
  // Reserved indicators, odd starts, comments.
  'a: @x\n', 'a: `x\n', 'a: %x\n', 'a: x%\n', 'a: b: c\n', 'a: - b\n', 'a: ? b\n', 'a: b #c\n', 'a: b#c\n', 'a: "b"#c\n', 'a: "b" c\n',
  "a: 'b' c\n", 'a: "b"x: 1\n', '#c\na: 1 # c\n', 'a: 1 #\n', 'a: [1 #c\n]\n', 'a: {b: 1} #c\n', 'a: &x #c\n  b: 1\n', '- # c\n  a: 1\n',
  'a: |  # c\n  x\n', 'a: x: \n', 'a:b\n', 'a :b\n', 'a : b\n', 'a:  b\n', '"a":b\n', 'a: "\\q"\n', 'a: "\\x4"\n',
  // Escapes and characters.
  'a: "\\x41\\u0042\\U00000043\\N\\_\\L\\P\\e\\0\\a\\b\\t\\/\\ "\n', "a: 'it''s'\n", 'a: "\\uD800"\n', 'a: "\\uD83D\\uDE00"\n',
  'a: "\u0001"\n', 'a: \u0001\n', 'a: x\u0085y\n', 'a: x\u2028y\n', 'a: x\u2029y\n', 'a: "x\u2028y"\n', 'a: x\u200by\n', 'a: \u202ex\n',
  'a: x\u0000y\n', 'a: "x\u007fy"\n', 'a: \uFFFE\n', 'a: \uD800\n', 'a: x\u00A0y\n', '\u00A0a: 1\n',
  // Nesting.
  `${'['.repeat(70)}${']'.repeat(70)}\n`, `${Array.from({ length: 70 }, (_, i) => `${' '.repeat(i * 2)}k:`).join('\n')} v\n`,
  `${Array.from({ length: 110 }, (_, i) => `${' '.repeat(i * 2)}k:`).join('\n')} v\n`, `${'- '.repeat(120)}x\n`,
  // The manifest itself with each kind of trouble spliced in.
  MANIFEST, MANIFEST.replace('version: 1', 'version: !!int 1'), MANIFEST.replace('listen: 8080', 'listen: 0x1F90'),
  MANIFEST.replace('listen: 8080', 'listen: 017620'), MANIFEST.replace('listen: 8080', 'listen: 8080.0'), MANIFEST.replace('listen: 8080', 'listen: 8.08e3'),
  MANIFEST.replace('listen: 8080', 'listen: &p 8080\nx: *p'), MANIFEST.replace('upstreams:', 'upstreams: &u'), MANIFEST.replace('version: 1', 'version: 1\nversion: 1'),
  MANIFEST.replace('  functions:', '  null: { servers: ["127.0.0.1:1"] }\n  functions:'), MANIFEST.replace('  functions:', '  ~: { servers: ["127.0.0.1:1"] }\n  functions:'),
  MANIFEST.replace('  functions:', '  ? [pool]\n  : { servers: ["127.0.0.1:1"] }\n  functions:'), MANIFEST.replace('  functions:', '  [pool]: { servers: ["127.0.0.1:1"] }\n  functions:'),
  MANIFEST.replace('    to: function:track', '    to: function:track\n    dynamic: yes'), MANIFEST.replace('    to: function:track', '    to: function:track\n    dynamic: True'),
  MANIFEST.replace('    to: function:track', '    to: function:track\n    methods: [GET,\n      HEAD]'),
  MANIFEST.replace('    to: function:track', '    to: function:track\n    methods: [GET,\n    HEAD]'),
  MANIFEST.replace('    to: function:track', '    to: |-\n      function:track'), MANIFEST.replace('    to: function:track', '    to: "function:\\\n      track"'),
  MANIFEST.replace('    to: function:track', '    to: function:track\n    canary: { percent: 1e1 }'), MANIFEST.replace('    to: function:track', '    to: function:track\n    canary: { percent: .inf }'),
  MANIFEST.replace('    to: function:track', '    to: function:track\n    canary: { percent: 0o12 }'), MANIFEST.replace('    to: function:track', '    to: function:track\n    timeouts: { read: 30 }'),
  MANIFEST.replace(/\n/g, '\r\n'), MANIFEST.replace('routes:', 'routes:\n'), `\uFEFF${MANIFEST}`, `---\n${MANIFEST}...\n`, `${MANIFEST}---\n`, MANIFEST.replace(/  /g, '\t'),
  manifestText(baseManifest()), JSON.stringify(baseManifest()), JSON.stringify(baseManifest(), null, '\t'),
];

describe('manifest: the fast and the exact YAML paths agree', function () {
  this.timeout(120_000);

  it('on a corpus of documents where YAML parsers part ways', () => {
    const counts = { agreed: 0, declined: 0 };
    for (const text of TRICKY) counts[bothPaths(text)]++;
    console.log(`      tricky YAML: ${TRICKY.length} documents, the fast path read ${counts.agreed}, declined ${counts.declined}`);
    // The corpus must exercise both sides: documents the fast path reads and ones it leaves.
    assert.ok(counts.agreed >= 100 && counts.declined >= 100, JSON.stringify(counts));
  });

  it('compiles each tricky document to the same table and diagnostics as the exact path', () => {
    for (const text of TRICKY) sameCompile(text);
  });

  it('reports, for every bad manifest of the corpus, exactly what the exact path reports', () => {
    for (const entry of BAD_MANIFESTS) sameCompile(corpusText(entry));
  });

  it('reads the shipped, golden and bench manifests the fast way, to the same table', () => {
    const goldenDir = join(PROJECT_ROOT, 'test', 'golden');
    const texts = [
      readFileSync(join(PROJECT_ROOT, 'routes', 'routes.yaml'), 'utf8'),
      ...readdirSync(goldenDir).filter((f) => f.endsWith('.golden')).map((f) => readFileSync(join(goldenDir, f), 'utf8').split('\n----------\n')[0] + '\n'),
      benchManifest({ listen: 8080, upstream: 8081, routes: 200 }),
      manifestText(baseManifest()),
    ];
    for (const text of texts) {
      assert.equal(bothPaths(text), 'agreed', `the fast path declined:\n${text}`);
      sameCompile(text);
    }
  });

  it('reads a manifest written on one line (minified JSON, 20,000 routes) the fast way, to what JSON.parse reads', function () {
    // A search per scalar back to its line's start is quadratic on one line: minutes here, where
    // line lookups by binary search take about a second.
    this.timeout(20_000);
    const m = baseManifest();
    m.routes = Array.from({ length: 20_000 }, (_, i) => ({ id: `r${i}`, match: { prefix: `/r/${i}` }, to: 'function:x', methods: ['GET', 'HEAD'] }));
    const text = JSON.stringify(m);
    const fast = parseManifestYamlFast(text);
    assert.ok(fast, 'the fast path declined a one-line JSON manifest');
    assert.deepStrictEqual(fast.data, JSON.parse(text));
  });

  it(`agrees on ${RUNS} generated documents (random values, styles and splices)`, () => {
    const counts = { agreed: 0, declined: 0 };
    fc.assert(fc.property(documentArb, (text) => {
      counts[bothPaths(text)]++;
    }), { numRuns: RUNS, seed: SEED });
    console.log(`      generated YAML: the fast path read ${counts.agreed} of ${RUNS} documents, declined ${counts.declined}`);
    assert.ok(counts.agreed >= RUNS / 10 && counts.declined >= RUNS / 10, JSON.stringify(counts));
  });
});

// ---------------------------------------------------------------------------------------------
// Generated documents: a random tree of maps, sequences and scalars written in random styles,
// with random fragments spliced in at random places.

const PLAIN = ['x', 'a b', 'yes', 'no', 'on', 'Off', 'true', 'False', 'null', '~', 'NULL', '0', '-0', '+1', '017', '0o17', '0x1f', '0b1',
  '1_0', '1e3', '1.5', '.5', '5.', '.inf', '-.inf', '.nan', '1e999', '2001-12-14', '12:30', '/api/v1', 'function:x', '^/a.*$', 'a#b', 'a:b',
  'a-b', '=', '<<', '-x', '?x', ':x', 'x:', '.', '..', 'é', '\u2028', '\u0085', '9'.repeat(320)];
const KEYS = ['a', 'b', 'to', 'id', 'match', 'routes', '1', '01', 'null', '~', '', 'true', 'yes', '<<', '__proto__', 'a b', '-a', '?a', 'x:y'];
const SPLICES = ['&a ', '*a', '!!str ', '!x ', '\t', ': ', '- ', ' #c', '#', '"', "'", '{', '}', '[', ']', ',', '\n', '\n  ', '\n    ', '? ',
  '|', '>', '|-\n  ', '%YAML 1.1\n---\n', '---\n', '\n...\n', '@', '`', '\r\n', '\r', '\\', '\u00a0', '\ufeff', '\u2028', 'ÿ', '\u0001', '<<: ', '~', ': ~'];

type Tree = string | { seq: Tree[] } | { map: [string, Tree][] };

const treeArb: fc.Arbitrary<Tree> = fc.letrec<{ tree: Tree }>((tie) => ({
  tree: fc.oneof({ depthSize: 'small', withCrossShrink: true },
    fc.oneof(fc.constantFrom(...PLAIN), fc.string({ unit: fc.constantFrom(...'ab1 :#-"\'\\{}[],&*!|>%@`.\n\tz'), maxLength: 6 })),
    fc.array(tie('tree'), { maxLength: 4 }).map((seq) => ({ seq })),
    fc.array(fc.tuple(fc.constantFrom(...KEYS), tie('tree')), { maxLength: 4 }).map((map) => ({ map }))),
})).tree;

/** The writer's style choices, drawn by fast-check (so that a failure shrinks and replays). */
class Choices {
  private at = 0;
  constructor(private readonly values: readonly number[]) {}
  next(): number {
    return this.values.length ? this.values[this.at++ % this.values.length] : 0;
  }
}

/** Writes a tree in YAML: plain, quoted or double-quoted scalars; block or flow collections. */
function writeYaml(t: Tree, style: Choices, indent: number, inFlow: boolean): string {
  const pick = (n: number) => style.next() % n;
  if (typeof t === 'string') {
    switch (pick(3)) {
      case 0: return t;
      case 1: return `'${t.replace(/'/g, "''")}'`;
      default: return JSON.stringify(t);
    }
  }
  const pad = ' '.repeat(indent);
  const flow = inFlow || pick(2) === 0;
  if ('seq' in t) {
    if (flow || !t.seq.length) return `[${t.seq.map((x) => writeYaml(x, style, indent, true)).join(', ')}]`;
    return '\n' + t.seq.map((x) => `${pad}- ${writeYaml(x, style, indent + 2, false).replace(/^\n\s*/, '')}`).join('\n');
  }
  const key = (k: string) => (pick(3) === 0 ? JSON.stringify(k) : k);
  if (flow || !t.map.length) return `{${t.map.map(([k, v]) => `${key(k)}: ${writeYaml(v, style, indent, true)}`).join(', ')}}`;
  return '\n' + t.map.map(([k, v]) => `${pad}${key(k)}: ${writeYaml(v, style, indent + 2, false)}`).join('\n');
}

const documentArb: fc.Arbitrary<string> = fc.tuple(
  treeArb.filter((t) => typeof t !== 'string'),
  fc.array(fc.nat(), { minLength: 1, maxLength: 32 }),
  fc.array(fc.tuple(fc.nat(), fc.constantFrom(...SPLICES)), { maxLength: 3 }),
).map(([tree, choices, splices]) => {
  let text = writeYaml(tree, new Choices(choices), 0, false).replace(/^\n/, '') + '\n';
  for (const [at, s] of splices) {
    const i = at % (text.length + 1);
    text = text.slice(0, i) + s + text.slice(i);
  }
  return text;
});
