// Hostile and broken manifests (test/corpus/bad-manifests.ts) are refused with the right code and
// manifest path, without throwing and without output; and values the schema does accept although
// they contain nginx syntax characters reach a real nginx quoted and intact.
import assert from 'node:assert/strict';
import { compileManifest, type CompileResult } from '../gateway/manifest/compile-manifest';
import { formatDiagnostic } from '../gateway/manifest/errors';
import { renderNginxConfig } from '../gateway/nginx/render-config';
import { canarySide } from '../gateway/runtime/split-clients';
import { BAD_MANIFESTS, BASE_TEXT, corpusText } from './corpus/bad-manifests';
import { requireNginx } from './helpers/nginx';
import { rawRequest } from './helpers/raw-http';
import { startStack, type Stack, type StackPorts } from './helpers/stack';

/** Runs `fn` with stdout and stderr captured; returns what it wrote. */
function silently<T>(fn: () => T): { value?: T; error?: unknown; output: string } {
  const out = process.stdout.write;
  const err = process.stderr.write;
  let output = '';
  const capture = ((chunk: string | Uint8Array) => { output += String(chunk); return true; }) as typeof process.stdout.write;
  process.stdout.write = capture;
  process.stderr.write = capture;
  try {
    return { value: fn(), output };
  } catch (error) {
    return { error, output };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

describe('manifest corpus: bad manifests are refused', function () {
  let refused = 0;
  let crashed = 0;

  after(() => {
    console.log(`manifest corpus: ${refused} refused, ${crashed} crashed`);
  });

  it('starts from a valid base manifest', () => {
    const { table, diagnostics } = compileManifest(BASE_TEXT(), 'routes.yaml');
    assert.ok(table, diagnostics.map(formatDiagnostic).join('\n'));
    assert.deepEqual(diagnostics.filter((d) => d.severity === 'error'), []);
  });

  it(`holds at least 100 distinct cases`, () => {
    assert.ok(BAD_MANIFESTS.length >= 100, `${BAD_MANIFESTS.length} cases`);
    const names = new Set(BAD_MANIFESTS.map((e) => e.name));
    assert.equal(names.size, BAD_MANIFESTS.length, 'case names must be unique');
  });

  for (const entry of BAD_MANIFESTS) {
    it(`${entry.name} → ${entry.code} at ${entry.path || '(file)'}`, () => {
      const text = corpusText(entry);
      const run = silently(() => compileManifest(text, 'routes.yaml'));
      if (run.error !== undefined) {
        crashed++;
        assert.fail(`compileManifest threw: ${(run.error as Error).stack ?? String(run.error)}`);
      }
      assert.equal(run.output, '', 'compiling a manifest writes nothing');
      const { table, diagnostics } = run.value as CompileResult;
      const shown = diagnostics.map(formatDiagnostic).join('\n  ');
      assert.equal(table, null, `accepted, with diagnostics:\n  ${shown}`);
      const hit = diagnostics.find((d) => d.code === entry.code && d.path === entry.path && d.severity === 'error');
      assert.ok(hit, `expected ${entry.code} at ${JSON.stringify(entry.path)}, got:\n  ${shown}`);
      // Only a file too large or expanded too far has no position to show.
      if (entry.code !== 'STR_YAML_LIMIT') assert.ok(hit.line && hit.line > 0, `no line number: ${formatDiagnostic(hit)}`);
      for (const d of diagnostics) {
        assert.equal(d.file, 'routes.yaml');
        assert.ok(d.message.length > 0 && d.message.length < 2000, `message length ${d.message.length}`);
      }
      refused++;
    });
  }
});

// ---------------------------------------------------------------------------------------------

/** Values the manifest accepts that nginx would misread unquoted: each route proves one arrives intact. */
const TRICKY = (p: StackPorts) => `
version: 1
listen: "127.0.0.1:${p.nginx}"
server_name: "_ *.example.no api.example.*"
debug_headers: true
upstreams:
  legacy: { servers: ["127.0.0.1:${p.legacy}"] }
  functions: { servers: ["127.0.0.1:${p.functions}"] }
routes:
  - id: quantifier
    match: { regex: "^/q/a{2,3}$" }
    to: function:track-package
  - id: punctuation
    match: { regex: "^/p/[;#\\"'{}]x$" }
    to: function:track-package
  - id: dollar
    match: { regex: "^/d/\\\\$host(/|$)" }
    to: function:track-package
  - id: backslash
    match: { regex: "^/b/\\\\d+\\\\.txt$" }
    to: function:track-package
  - id: space
    match: { regex: "^/s/a b$" }
    to: function:track-package
  - id: amp
    match: { exact: "/a&b=c" }
    to: function:generate-report
  - id: marks
    match: { prefix: "/m/it's(1)!*+,@:~" }
    to: function:generate-report
  - id: salted
    match: { prefix: /salted }
    to: function:image-resizer
    canary: { percent: 50, sticky: "cookie:session_id", salt: "v2:a.b_c-d" }
`;

describe('manifest corpus: accepted values with nginx syntax characters are quoted', function () {
  let stack: Stack;

  before(async function () {
    requireNginx(this);
    // startStack compiles the manifest and starts nginx on it, which runs `nginx -t` first.
    stack = await startStack(TRICKY);
  });
  after(async () => stack?.stop());

  it('writes them quoted into nginx.conf', () => {
    const conf = renderNginxConfig(stack.table);
    assert.ok(conf.includes('location ~ "^/q/a{2,3}$" {'), 'a regex with braces is quoted');
    assert.ok(conf.includes(`location ~ "^/p/[;#\\"'{}]x$" {`), 'quotes inside a quoted regex are escaped');
    assert.ok(conf.includes('location ~ "^/b/\\\\d+\\\\.txt$" {'), 'backslashes are doubled inside quotes');
    assert.ok(conf.includes('location ~ "^/s/a b$" {'));
    assert.ok(conf.includes(`location = "/m/it's(1)!*+,@:~" {`));
    assert.ok(conf.includes('v2:a.b_c-d'));
  });

  const cases: { target: string; route: string; url?: string }[] = [
    { target: '/q/aa', route: 'quantifier', url: '/function/track-package/q/aa' },
    { target: '/q/aaa', route: 'quantifier' },
    { target: '/q/a', route: 'default' },
    { target: '/q/aaaa', route: 'default' },
    { target: '/p/;x', route: 'punctuation' },
    { target: '/p/%23x', route: 'punctuation' },
    { target: '/p/%22x', route: 'punctuation' },
    { target: "/p/'x", route: 'punctuation' },
    { target: '/p/%7Bx', route: 'punctuation' },
    { target: '/p/%7Dx', route: 'punctuation' },
    { target: '/p/ax', route: 'default' },
    // `$host` in a location regex is text, never the Host header.
    { target: '/d/$host', route: 'dollar' },
    { target: '/d/$host/x', route: 'dollar' },
    { target: '/d/localhost', route: 'default' },
    { target: '/b/42.txt', route: 'backslash' },
    { target: '/b/x.txt', route: 'default' },
    { target: '/b/42xtxt', route: 'default' },
    { target: '/s/a%20b', route: 'space' },
    { target: '/a&b=c', route: 'amp', url: '/function/generate-report' },
    { target: '/a&b=c?x=1&y=2', route: 'amp', url: '/function/generate-report?x=1&y=2' },
    { target: "/m/it's(1)!*+,@:~", route: 'marks', url: '/function/generate-report' },
    { target: "/m/it's(1)!*+,@:~/z", route: 'marks', url: '/function/generate-report/z' },
  ];
  for (const c of cases) {
    it(`GET ${c.target} → ${c.route}`, async () => {
      const res = await rawRequest(stack.ports.nginx, c.target);
      assert.equal(res.headers['x-strangler-route'], c.route, `${res.status} ${res.body.toString().slice(0, 200)}`);
      if (c.url) assert.equal(JSON.parse(res.body.toString()).url, c.url);
    });
  }

  it('hashes the salt exactly as written (the bucket matches split_clients over key + salt)', async () => {
    for (let i = 0; i < 40; i++) {
      const cookie = `user-${i}`;
      const res = await rawRequest(stack.ports.nginx, '/salted/x', { headers: { cookie: `session_id=${cookie}` } });
      const side = res.headers['x-strangler-target'] === 'legacy' ? 'legacy' : 'to';
      assert.equal(side, canarySide(cookie, 'v2:a.b_c-d', 50), `cookie ${cookie}`);
    }
  });
});
