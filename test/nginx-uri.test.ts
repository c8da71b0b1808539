// nginx request-target parity: parseRequestTarget, escapeUri and the proxy_pass upstream URI,
// each compared byte for byte with a real nginx fed the same raw request line.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import {
  escapeArgs, escapeUri, parseRequestTarget, proxiedAsReceived, proxyUpstreamTarget, upstreamUriAfterRewriteBreak,
  upstreamUriForPrefix, validateHost, type ParsedTargetOk,
} from '../gateway/runtime/nginx-uri.js';
import { freePort } from './helpers/net.js';
import { nginxTestConf, requireNginx, startNginx, type RunningNginx } from './helpers/nginx.js';
import { rawRequest } from './helpers/raw-http.js';

// Raw targets, as latin1 binary strings (one char per byte), sent verbatim on the wire.
const CORPUS: string[] = [
  // plain
  '/', '/a/b/c', '/index.html', '/a/b.c/d', '/api/v1/track/42?x=1&y=2',
  // dot segments
  '/a/./b', '/a/../b', '/a/b/..', '/a/b/.', '/a/./', '/a/..', '/a/./../b', '/a/b/../../c',
  '/..', '/../a', '/a/../../b', '/a/b/../../../', '/.//..//a', '/%2e', '/%2e%2e',
  '/a/...', '/a/.../b', '/a/..b', '/a/.b', '/a/b./c', '/a/b..',
  // encoded dots and slashes
  '/a/%2e%2e/b', '/a/%2E%2E/b', '/a/%2e./b', '/a/.%2e/b', '/a/.%2E', '/%2e%2e/a', '/a/%2e/b',
  '/a/b/%2e%2e', '/a/%2e%2e%2e', '/a%2fb', '/a%2Fb/%2f/c', '/a%2f..%2fb', '/a/b%2f%2e',
  '/a/%2e%2e%2f%2e%2e%2fb', '/a/..%2f..%2f', '/%2F%2F%2F', '/a/%252e%252e/b', '/x/%2e%2e%5cy',
  // slashes
  '//a//b', '///', '/a//../b', '/a/.//b', '/a/b//',
  // percent oddities
  '/a/%00b', '/a%00', '/a/%zz', '/a/%4', '/a/%', '/a%0', '/a%0g', '/a%g0', '/%u0041',
  '/a%25b', '/a%2525', '/a%23b', '/a%23?b', '/a%3fb?c=d', '/a%3F', '/a%3f%23%25', '/%7e%7E%41',
  '/a/%2e%2e%3fx', '/a/..%3f', '/a/.%3f', '/a/.%25', '/a%20b', '/a%09b', '/a%0d%0ab', '/a%7f',
  // fragments and queries
  '/a#frag', '/a?x=1#frag', '/a#b?c', '/a?b?c', '/a?', '/?', '/?a=1&b=2', '/a?%zz', '/a?x=%00',
  '/a/.?x', '/a/..?x', '/a/.#x', '/a/..#x', '/a?b#c#d', '/a?b+c', '/a?x=/../y', '/a?x=a%20b#',
  // parameters and plus
  '/a;jsessionid=1/b', '/a;b/../c', '/a;/./b;c=1', '/a+b', '/a%2bb', '/a%2B', '/+/../x',
  // UTF-8, overlong and raw high bytes, backslash
  '/caf%c3%a9', '/%c0%ae%c0%ae/x', '/%e2%80%ae', '/%ff%fe', '/\xe2\x82\xac', '/\xff\xfe',
  '/\xc3\xa9/../x', '/a\\b', '/a\\..\\b', '/a/..\\b',
  // characters nginx refuses in a request line, or in place of a target
  '/a b', '/a\tb', '/a\x7fb', '/a\x01', '/a?b\x02', '*', 'a/b', '', '?a', '%2f',
  // absolute-form
  'http://example.com/a/../b', 'http://example.com', 'http://example.com?x=1', 'http://example.com?x=1#f',
  'http://example.com:8080/x?y', 'http://[::1]:80/x', 'HTTP://Example.COM/X', 'foo+bar.baz-1://h/x',
  'http://a..b/x', 'http:///x', 'http://h_x/', 'http:/x', 'http://h/%2e%2e', 'http://h./x', 'http://./x',
  'http://h:/x', 'http://[::1/x', 'http://h:80x/',
  // long
  '/' + 'a'.repeat(4000),
  '/' + 'a/'.repeat(1200) + '../'.repeat(1200) + 'z',
  '/' + 'b/'.repeat(1000) + '../'.repeat(1001),
  '/' + '%2e%2e/'.repeat(3) + 'x',
  '/' + 'seg%2F'.repeat(300) + '?' + 'q'.repeat(2000),
];

interface Reply { status: number; body: string }

/** One request over a raw socket (HTTP clients would normalise the target). Body as latin1. */
async function send(port: number, target: string): Promise<Reply> {
  const r = await rawRequest(port, target);
  return { status: r.status, body: r.body.toString('latin1') };
}

async function inBatches<T, R>(items: readonly T[], width: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += width) out.push(...await Promise.all(items.slice(i, i + width).map(fn)));
  return out;
}

/**
 * The echo location answers "$args $request_uri $uri": neither $args nor $request_uri can hold a
 * space (nginx refuses raw spaces), so the first two spaces split it unambiguously even though
 * the decoded $uri may hold any byte, spaces and '|' included.
 */
const ECHO = 'return 200 "$args $request_uri $uri";';

function splitEcho(body: string): { args: string; requestUri: string; uri: string } {
  const a = body.indexOf(' ');
  const b = body.indexOf(' ', a + 1);
  return { args: body.slice(0, a), requestUri: body.slice(a + 1, b), uri: body.slice(b + 1) };
}

const show = (s: string) => JSON.stringify(s.length > 120 ? s.slice(0, 60) + '…' + s.slice(-40) : s);

describe('nginx-uri: parseRequestTarget (unit)', () => {
  it('uses the target as sent when nothing needs normalising', () => {
    const r = parseRequestTarget('/api/v1/x;y=1?q=a%20b&z') as ParsedTargetOk;
    assert.equal(r.ok, true);
    assert.equal(r.uri, '/api/v1/x;y=1');
    assert.equal(r.args, 'q=a%20b&z');
    assert.equal(r.complex, false);
    assert.equal(r.quoted, false);
  });

  it('decodes and normalises like ngx_http_parse_complex_uri', () => {
    const uri = (t: string) => {
      const r = parseRequestTarget(t);
      return r.ok ? r.uri : r.status;
    };
    assert.equal(uri('/a/%2e%2e/b'), '/b');
    assert.equal(uri('/a%2fb/..'), '/a/');
    assert.equal(uri('//a//b/./c/..'), '/a/b/');
    assert.equal(uri('/a%25%23%3f'), '/a%#?');
    assert.equal(uri('/a%ffb'), '/a\xffb');
    assert.equal(uri('/..'), 400);
    assert.equal(uri('/a%00'), 400);
    assert.equal(uri('/a%4'), 400);
    assert.equal(uri('/a b'), 400);
    const q = parseRequestTarget('/a%20b?x#y') as ParsedTargetOk;
    assert.deepEqual([q.uri, q.args, q.quoted, q.requestUri], ['/a b', 'x', true, '/a%20b?x#y']);
  });

  it('takes Buffers and wide strings as bytes', () => {
    const r = parseRequestTarget(Buffer.from('/caf\xc3\xa9/%c3%a9', 'latin1')) as ParsedTargetOk;
    assert.equal(r.uri, '/caf\xc3\xa9/\xc3\xa9');
    // '/café' is a binary string already (é is 0xE9); '€' (U+20AC) is not, so it becomes UTF-8.
    assert.equal((parseRequestTarget('/café') as ParsedTargetOk).uri, '/caf\xe9');
    assert.equal((parseRequestTarget('/€%41') as ParsedTargetOk).uri, '/\xe2\x82\xacA');
  });

  it('sends "/" and the args for an absolute-form target without a path', () => {
    const sent = (t: string) => proxiedAsReceived(parseRequestTarget(t) as ParsedTargetOk);
    assert.equal(sent('http://h?x=1'), '/?x=1');
    assert.equal(sent('http://h?x=%41#f'), '/?x=%41');
    assert.equal(sent('http://h?'), '/');
    assert.equal(sent('http://h'), '/');
    assert.equal(sent('http://h/a?x=1#f'), '/a?x=1#f');
  });

  it('lower-cases ASCII only in a Host, as ngx_strlow', () => {
    assert.equal(validateHost('CAF\xc3\x89.Example.'), 'caf\xc3\x89.example');
    assert.equal(validateHost('[::1'), '[::1');
  });

  it('can keep slashes (merge_slashes off)', () => {
    const r = parseRequestTarget('/a//b/%2f/../c', { mergeSlashes: false }) as ParsedTargetOk;
    assert.equal(r.uri, '/a//b//c');
  });
});

describe('nginx-uri: escaping (unit)', () => {
  it('escapeUri follows NGX_ESCAPE_URI (nginx >= 1.21.1)', () => {
    assert.equal(escapeUri('/a b/c?d#e%f'), '/a%20b/c%3Fd%23e%25f');
    assert.equal(escapeUri('/"<>\\^`{|}\x7f\x00\x1f'), '/%22%3C%3E%5C%5E%60%7B%7C%7D%7F%00%1F');
    assert.equal(escapeUri('/\xc3\xa9\xff'), '/%C3%A9%FF');
    const keep = "/azAZ09-._~!$&'()*+,;=:@[]";
    assert.equal(escapeUri(keep), keep);
    assert.equal(escapeArgs("a&b+c;d=e/f"), 'a%26b%2Bc%3Bd=e/f');
  });

  it('upstream URIs for each proxy_pass form', () => {
    const p = parseRequestTarget('/p/a%20b/./c?x=1') as ParsedTargetOk;
    assert.equal(upstreamUriForPrefix(p, '/p/', '/function/x/'), '/function/x/a%20b/c?x=1');
    const raw = parseRequestTarget('/p/a"b/./c?x=1') as ParsedTargetOk;
    assert.equal(upstreamUriForPrefix(raw, '/p/', '/function/x/'), '/function/x/a"b/c?x=1');
    assert.equal(proxyUpstreamTarget(p, { uriPart: null }), '/p/a%20b/./c?x=1');
    assert.equal(proxyUpstreamTarget(p, { uriPart: null, variables: true }), '/p/a%20b/./c?x=1');
    assert.equal(proxyUpstreamTarget(p, { uriPart: '/fixed', variables: true }), '/fixed');
    assert.equal(upstreamUriAfterRewriteBreak('/function/y/a b', 'x=1'), '/function/y/a%20b?x=1');
    assert.equal(proxyUpstreamTarget({ ...raw, uri: '/new/"', rewrite: 'break' }, { uriPart: '/ignored/', location: '/p/' }), '/new/%22?x=1');
    assert.equal(proxyUpstreamTarget({ ...raw, uri: '/p/"', rewrite: 'last' }, { uriPart: '/f/', location: '/p/' }), '/f/%22?x=1');
  });
});

describe('nginx-uri: parity with nginx', function () {
  this.timeout(60_000);
  let nginx: RunningNginx | undefined;
  let echo: Server | undefined;
  let port = 0;

  before(async function () {
    requireNginx(this);
    // The upstream: answers each request with its request target as the body.
    echo = createServer((sock) => {
      let head = '';
      sock.setEncoding('latin1');
      sock.on('data', (d: string) => {
        head += d;
        if (!head.includes('\r\n\r\n')) return;
        const line = head.slice(0, head.indexOf('\r\n'));
        const target = line.slice(line.indexOf(' ') + 1, line.lastIndexOf(' '));
        sock.end(`HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(target, 'latin1')}\r\nConnection: close\r\n\r\n${target}`, 'latin1');
      });
      sock.on('error', () => undefined);
    });
    await new Promise<void>((r) => echo!.listen(0, '127.0.0.1', r));
    const up = `127.0.0.1:${(echo.address() as { port: number }).port}`;
    port = await freePort();
    nginx = await startNginx(nginxTestConf({
      port,
      server: [
        `location /px/ { proxy_pass http://${up}/function/x/; }`,
        `location /nx/ { proxy_pass http://${up}; }`,
        `location /rx/ { set $up ${up}; rewrite "(?s)^/rx/(.*)$" /function/y/$1 break; proxy_pass http://$up; }`,
        `location /qx/ { set $up ${up}; rewrite "(?s)^/qx/(.*)$" /function/z/?c=$1 break; proxy_pass http://$up; }`,
        `location /bx/ { rewrite "(?s)^/bx/(.*)$" /function/w/$1 break; proxy_pass http://${up}/ignored/; }`,
        `location / { ${ECHO} }`,
      ].join('\n'),
    }));
  });

  after(async () => {
    await nginx?.stop();
    await new Promise<void>((r) => (echo ? echo.close(() => r()) : r()));
  });

  it('has a corpus of at least 80 raw targets', () => {
    assert.ok(CORPUS.length >= 80, String(CORPUS.length));
  });

  it('parses every target as nginx does: 400 or the same $uri, $args and $request_uri bytes', async () => {
    const replies = await inBatches(CORPUS, 16, (t) => send(port, t));
    const problems: string[] = [];
    CORPUS.forEach((t, i) => {
      const got = replies[i];
      const ours = parseRequestTarget(t);
      if (!ours.ok) {
        if (got.status !== 400) problems.push(`${show(t)}: nginx ${got.status} ${show(got.body)}, ours 400`);
        return;
      }
      if (got.status !== 200) {
        problems.push(`${show(t)}: nginx ${got.status}, ours 200 uri=${show(ours.uri)}`);
        return;
      }
      const n = splitEcho(got.body);
      if (n.uri !== ours.uri) problems.push(`${show(t)}: $uri nginx ${show(n.uri)}, ours ${show(ours.uri)}`);
      if (n.args !== ours.args) problems.push(`${show(t)}: $args nginx ${show(n.args)}, ours ${show(ours.args)}`);
      if (n.requestUri !== ours.requestUri) problems.push(`${show(t)}: $request_uri nginx ${show(n.requestUri)}, ours ${show(ours.requestUri)}`);
    });
    assert.deepEqual(problems, []);
    // The corpus is not lopsided: both outcomes well represented.
    const bad = CORPUS.filter((t) => !parseRequestTarget(t).ok).length;
    assert.ok(bad >= 20 && CORPUS.length - bad >= 60, `${bad} refused of ${CORPUS.length}`);
  });

  it('agrees on a seeded soup of tricky tokens (600 generated targets)', async () => {
    const tokens = [
      '/', '/', '/', '//', '.', '..', '...', '%2e', '%2E', '%2f', '%2F', '%25', '%23', '%3f', '%3F', '%2b',
      '%00', '%0', '%', '%zz', '%5c', '%20', '%c3%a9', '%c0%ae', '%ff', '?', '?', '#', '+', ';', '=', '&',
      'a', 'b', 'seg', 'x.y', '\\', '\xff', '\xc3\xa9', '~', '%7e', '"', '|', '^',
    ];
    let seed = 0x5eed1234;
    const rand = (n: number) => {
      // mulberry32: reproducible, so a failure names a target that fails again.
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return (((t ^ (t >>> 14)) >>> 0) % n);
    };
    const targets = new Set<string>();
    while (targets.size < 600) {
      let t = '/';
      const len = 1 + rand(10);
      for (let i = 0; i < len; i++) t += tokens[rand(tokens.length)];
      targets.add(t);
    }
    const list = [...targets];
    const replies = await inBatches(list, 16, (t) => send(port, t));
    const problems: string[] = [];
    list.forEach((t, i) => {
      const ours = parseRequestTarget(t);
      const got = replies[i];
      if (!ours.ok || got.status !== 200) {
        if ((ours.ok ? 200 : 400) !== got.status) problems.push(`${show(t)}: nginx ${got.status}, ours ${ours.ok ? 200 : 400}`);
        return;
      }
      const n = splitEcho(got.body);
      if (n.uri !== ours.uri || n.args !== ours.args) {
        problems.push(`${show(t)}: nginx ${show(n.uri)} ? ${show(n.args)}, ours ${show(ours.uri)} ? ${show(ours.args)}`);
      }
    });
    assert.deepEqual(problems.slice(0, 20), []);
    const bad = list.filter((t) => !parseRequestTarget(t).ok).length;
    assert.ok(bad > 50 && bad < 550, `${bad} of ${list.length} refused`);
  });

  /** What nginx should answer for a target, given our parse and the locations configured above. */
  function expected(t: string): { status: number; upstream?: string; echo?: ParsedTargetOk } {
    const r = parseRequestTarget(t);
    if (!r.ok) return { status: 400 };
    const loc = /^\/[pnrqb]x\//.exec(r.uri)?.[0];
    if (!loc) {
      // A proxy_pass location named with a trailing slash redirects its bare name (auto_redirect).
      return /^\/[pnrqb]x$/.test(r.uri) ? { status: 301 } : { status: 200, echo: r };
    }
    const rest = r.uri.slice(4);
    switch (loc) {
      case '/px/': return { status: 200, upstream: upstreamUriForPrefix(r, '/px/', '/function/x/') };
      case '/nx/': return { status: 200, upstream: proxyUpstreamTarget(r, { uriPart: null }) };
      case '/rx/': return { status: 200, upstream: upstreamUriAfterRewriteBreak('/function/y/' + rest, r.args) };
      case '/bx/': return { status: 200, upstream: upstreamUriAfterRewriteBreak('/function/w/' + rest, r.args) };
      default: {
        // rewrite puts a capture into args escaped (NGX_ESCAPE_ARGS) when the URI was quoted or had a
        // '+', and keeps the original args after '&'.
        const cap = r.quoted || r.plusInUri ? escapeArgs(rest) : rest;
        const args = 'c=' + cap + (r.args ? '&' + r.args : '');
        return { status: 200, upstream: upstreamUriAfterRewriteBreak('/function/z/', args) };
      }
    }
  }

  it('forwards upstream exactly the target our functions predict, for every proxy_pass form', async () => {
    const targets: string[] = [];
    for (const t of CORPUS) {
      if (!t.startsWith('/') || t.length > 3000) continue;
      for (const l of 'pnrqb') targets.push(`/${l}x${t}`);
    }
    targets.push('/px/', '/px', '/nx', '/px/%2e%2e', '/px/..', '/px/../px/x', '/qx/?', '/qx/a+b?c+d', '/rx/a%2Bb', '/p%78/a%20b');
    const replies = await inBatches(targets, 16, (t) => send(port, t));
    const problems: string[] = [];
    const proxied = new Set<string>();
    targets.forEach((t, i) => {
      const got = replies[i];
      const want = expected(t);
      if (got.status !== want.status) {
        problems.push(`${show(t)}: nginx ${got.status} ${show(got.body.slice(0, 80))}, expected ${want.status}`);
        return;
      }
      if (want.upstream !== undefined) {
        proxied.add((parseRequestTarget(t) as ParsedTargetOk).uri.slice(0, 4));
        if (got.body !== want.upstream) problems.push(`${show(t)}: upstream got ${show(got.body)}, predicted ${show(want.upstream)}`);
      } else if (want.echo) {
        const n = splitEcho(got.body);
        if (n.uri !== want.echo.uri || n.args !== want.echo.args) problems.push(`${show(t)}: echo ${show(got.body)}`);
      }
    });
    assert.deepEqual(problems, []);
    assert.deepEqual([...proxied].sort(), ['/bx/', '/nx/', '/px/', '/qx/', '/rx/']);
  });
});
