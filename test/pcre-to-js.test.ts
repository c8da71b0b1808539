// The translator from a regex route's PCRE pattern (as nginx reads it) to the JavaScript pattern
// the gateway runs. Each expectation below was measured against nginx 1.22 with PCRE2 10.42;
// test/equivalence-regex.test.ts replays the probe requests through a real nginx and the gateway.
import assert from 'node:assert/strict';
import { pcreRegExp, pcreToJs } from '../gateway/manifest/pcre-to-js';
import { regexProblem } from '../gateway/manifest/semantic-checks';

/** The path as the gateway holds it: its bytes, one char each. */
const bytes = (path: string) => path.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));

/** For each path (percent-encoded bytes), whether PCRE matches it. */
function matches(pattern: string, cases: Record<string, boolean>): void {
  const re = pcreRegExp(pattern);
  for (const [path, expected] of Object.entries(cases)) {
    assert.equal(re.test(bytes(path)), expected, `${pattern} against ${path}: PCRE says ${expected} (JavaScript source ${re.source})`);
  }
}

function refused(pattern: string, why: RegExp): void {
  const t = pcreToJs(pattern);
  assert.equal(t.ok, false, `${pattern} translated to ${t.ok ? t.source : ''}`);
  assert.match(t.ok ? '' : t.problem, why);
  assert.equal(regexProblem(pattern), t.ok ? null : t.problem, 'validation reports what the translator refuses');
}

describe('pcre-to-js: PCRE patterns as the gateway matches them', () => {
  it('reads . as any byte but \\n, \\r included', () => {
    matches('^/docs/.+\\.pdf$', { '/docs/a%0Db.pdf': true, '/docs/a%0Ab.pdf': false, '/docs/a.pdf': true });
  });

  it('lets $ and \\Z match before a final newline, \\z only at the end', () => {
    matches('^/docs/.+\\.pdf$', { '/docs/a.pdf%0A': true, '/docs/a.pdf%0A%0A': false, '/docs/a.pdf%0Dx': false });
    matches('^/z/a\\Z', { '/z/a%0A': true, '/z/a': true, '/z/a%0Ab': false });
    matches('^/z/a\\z', { '/z/a%0A': false, '/z/a': true });
    matches('\\A/z/a', { '/z/a': true, '/y/z/a': false });
    matches('\\G/z/a', { '/z/a': true, '/y/z/a': false });
  });

  it('gives \\s, \\S, \\h, \\H, \\v, \\V and \\N their PCRE sets over the bytes', () => {
    matches('^/w/a\\sb', { '/w/a%20b': true, '/w/a%0Bb': true, '/w/a%A0b': false, '/w/a%85b': false });
    matches('^/w/a\\Sb', { '/w/a%A0b': true, '/w/a%0Bb': false, '/w/axb': true });
    matches('^/w/a\\hb', { '/w/a%A0b': true, '/w/a%09b': true, '/w/a%0Bb': false });
    matches('^/w/a\\Hb', { '/w/a%A0b': false, '/w/a%0Ab': true });
    matches('^/vt/a\\vb', { '/vt/a%0Ab': true, '/vt/a%0Bb': true, '/vt/a%0Cb': true, '/vt/a%0Db': true, '/vt/a%85b': true, '/vt/a%A0b': false });
    matches('^/vt/a\\Vb', { '/vt/a%85b': false, '/vt/axb': true });
    matches('^/n/\\N+$', { '/n/a%0Db': true, '/n/a%0Ab': false });
    matches('^/n/[\\s\\h]$', { '/n/%A0': true, '/n/%0B': true, '/n/%85': false });
    matches('^/n/[^\\S]$', { '/n/%20': true, '/n/%A0': false });
  });

  it('keeps \\w, \\d and \\b ASCII: no byte above 0x7f is a word character', () => {
    matches('^/w/a\\wb', { '/w/a_b': true, '/w/a%E9b': false, '/w/a%AAb': false, '/w/a%B5b': false });
    matches('^/w/a\\b', { '/w/a%E9': true, '/w/ab': false });
    matches('^/w/\\d$', { '/w/7': true, '/w/%B2': false });
  });

  it('reads POSIX classes inside brackets as PCRE\'s ASCII sets', () => {
    matches('^/px/[[:digit:]]+$', { '/px/123': true, '/px/:': false, '/px/12]': false });
    matches('^/px/[[:alpha:]]$', { '/px/a': true, '/px/%E9': false });
    matches('^/px/[[:space:]]$', { '/px/%0B': true, '/px/%A0': false });
    matches('^/px/[[:punct:]]$', { '/px/!': true, '/px/%7F': false, '/px/%A1': false });
    matches('^/px/[[:^digit:]x]$', { '/px/1': false, '/px/a': true, '/px/%FF': true });
    matches('^/px/[[:word:][:blank:]]$', { '/px/_': true, '/px/%09': true, '/px/%A0': false });
    // "[:" without its ":]" is two ordinary members.
    matches('^/px/[a[:]$', { '/px/:': true, '/px/[': true });
  });

  it('reads "]" first in a class as a member', () => {
    matches('^/c/[]a]$', { '/c/]': true, '/c/a': true, '/c/b': false });
    matches('^/c/[^]a]$', { '/c/]': false, '/c/b': true });
  });

  it('translates the escapes PCRE has and JavaScript spells otherwise', () => {
    matches('^/e/\\e\\a$', { '/e/%1B%07': true });
    matches('^/e/\\cA\\c?\\c1$', { '/e/%01%7Fq': true });
    matches('^/e/\\x{e9}\\x4\\o{101}$', { '/e/%E9%04A': true });
    matches('^/e/a\\Qb.c\\E+$', { '/e/ab.cc': true, '/e/abxc': false });
    matches('^/e/[\\Q]\\E]$', { '/e/]': true });
    matches('^/e/[\\Qa-c\\E]$', { '/e/-': true, '/e/b': false });
    matches('^/e/[a-\\Qc\\E]$', { '/e/b': true, '/e/-': false });
    matches('^/e/(?#note)a$', { '/e/a': true });
    matches('^/e/\\N{2}$', { '/e/ab': true, '/e/a': false });
    // Non-ASCII in the pattern is its UTF-8 bytes, as nginx.conf holds it.
    matches('^/e/é+$', { '/e/%C3%A9%A9': true, '/e/%C3%A9%C3%A9': false });
  });

  it('keeps atomic groups, possessive quantifiers and \\R from giving back what they matched', () => {
    matches('^/at/(?>a|ab)c$', { '/at/abc': false, '/at/ac': true });
    matches('^/po/a++a', { '/po/aaa': false });
    matches('^/po/(a|ab){1,2}+c$', { '/po/abc': false, '/po/ac': true });
    matches('^/po/((?>a)b)*+b$', { '/po/abab': false, '/po/abb': true });
    matches('^/r/a\\R$', { '/r/a%0D%0A': true, '/r/a%85': true, '/r/a%0D': true });
    matches('^/r/\\R\\n$', { '/r/%0D%0A': false, '/r/%0A%0A': true });
  });

  it('refuses what nginx refuses although JavaScript accepts it', () => {
    refused('^/p/[\\d-z]$', /range starting at a class/);
    refused('^/p/[a-\\d]$', /range ending at a class/);
    refused('^/p/[[:digit:]-z]$', /range starting at a class/);
    refused('^/p/[[:foo:]]$', /unknown POSIX class/);
    refused('^/p/[[.a.]]$', /collating element/);
    refused('^/p/[:alpha:]$', /outside \[ \]/);
    refused('^/p/\\x{100}$', /over \\xff/);
    refused('^/p/\\o{400}$', /over \\xff/);
    refused('^/p/a{70000}', /65535/);
    refused('^/p/$*', /after nothing it can repeat/);
    refused('^/p/a{2}{3}', /after nothing it can repeat/);
    refused('^/p/a*?+', /after nothing it can repeat/);
    refused('^/p/[\\R]$', /inside \[ \]/);
    refused('^/p/\\c', /\\c without/);
    refused('^/p/a)', /\) without its opening/);
  });

  it('refuses what it cannot translate exactly, naming the construct', () => {
    refused('(?i)^/docs/', /inline flags \(\?i\)/);
    refused('^/docs/(?s:.)', /inline flags \(\?s:/);
    refused('^/\\p{L}+$', /\\p, a Unicode property/);
    refused('^/a\\K', /\\K/);
    refused('^/a\\X', /\\X/);
    refused('(?<=/docs/)x', /lookbehind/);
    refused('^/(?<uri>.+)$', /named group/);
    refused('^/(?|a)', /\(\?\|/);
    refused('(*UTF)^/a', /\(\*U/);
    refused('^/b/(a)\\1', /backreference/);
    refused('^/b/\\g1', /backreference/);
    refused('^/a{,3}', /not a quantifier/);
    refused('^/caf\\u00e9', /\\u/);
    refused('^/docs/(?=a)*', /after nothing it can repeat/);
  });

  it('passes the shared syntax through unchanged in meaning', () => {
    const t = pcreToJs('^/api/(v1|v2)/[a-z0-9_-]{1,8}/?$');
    assert.ok(t.ok);
    matches('^/api/(v1|v2)/[a-z0-9_-]{1,8}/?$', { '/api/v1/ab_c/': true, '/api/v3/a': false, '/api/v2/abcdefghi': false });
  });
});
