// A regex route's pattern as nginx's PCRE2 reads it (8-bit, no UTF, no UCP, default C-locale
// tables, LF newline; case-sensitive), rewritten as a JavaScript RegExp source (no flags) that
// matches the same paths. The path is a byte string in nginx and a binary string (one char per
// byte) in the gateway, so the pattern is read as its UTF-8 bytes and every set is spelt out over
// \x00-\xff. What cannot be rewritten exactly is refused with the construct named: validation
// reports that, so the gateway only ever runs patterns this file translated.

export type Translation = { readonly ok: true; readonly source: string } | { readonly ok: false; readonly problem: string };

/** Sets as JavaScript class bodies; each complement is taken over \x00-\xff (the path's bytes). */
const SETS: Record<string, string> = {
  d: '\\d', D: '\\D', w: '\\w', W: '\\W', // ASCII in both: JS without the u flag, PCRE without UCP
  s: '\\t\\n\\x0b\\f\\r ', S: '\\x00-\\x08\\x0e-\\x1f!-\\xff', // JS \s adds \xa0 (and Unicode spaces)
  h: '\\t \\xa0', H: '\\x00-\\x08\\n-\\x1f!-\\x9f\\xa1-\\xff',
  v: '\\n-\\r\\x85', V: '\\x00-\\t\\x0e-\\x84\\x86-\\xff', // JS \v is \x0b alone
};

/** POSIX classes inside brackets, as PCRE's C-locale tables have them (ASCII only). */
const POSIX: Record<string, string> = {
  alpha: 'A-Za-z', digit: '0-9', alnum: '0-9A-Za-z', upper: 'A-Z', lower: 'a-z', word: '\\w',
  space: '\\t-\\r ', blank: '\\t ', cntrl: '\\x00-\\x1f\\x7f', graph: '!-~', print: ' -~',
  punct: '!-\\/:-@\\[-`{-~', xdigit: '0-9A-Fa-f', ascii: '\\x00-\\x7f',
};

/** The complement of a class body over \x00-\xff, for [:^name:]. */
function complement(body: string): string {
  const inSet = new RegExp(`[${body}]`);
  let out = '';
  for (let c = 0; c <= 0xff; c++) {
    if (inSet.test(String.fromCharCode(c))) continue;
    let end = c;
    while (end < 0xff && !inSet.test(String.fromCharCode(end + 1))) end++;
    out += end === c ? hex(c) : `${hex(c)}-${hex(end)}`;
    c = end;
  }
  return out;
}

const hex = (c: number) => `\\x${c.toString(16).padStart(2, '0')}`;
/** One byte as a JavaScript pattern char, in or out of a class: special to neither as it is. */
const lit = (c: number) => (/[A-Za-z0-9_~!@#%&=:;,'"<>/`]/.test(String.fromCharCode(c)) ? String.fromCharCode(c) : hex(c));

class Refused extends Error {}
const refuse = (problem: string): never => { throw new Refused(problem); };

/** What an escape stands for: one byte, a set, or (outside classes) an assertion or sequence. */
type Escape = { kind: 'char'; code: number } | { kind: 'set'; body: string } | { kind: 'assert' | 'atomic' | 'seq'; js: string } | { kind: 'quote' | 'none' };

const ASSERTIONS: Record<string, string> = { b: '\\b', B: '\\B', A: '^', G: '^', z: '$', Z: '(?=\\n?$)' };
const CHARS: Record<string, number> = { n: 0x0a, r: 0x0d, t: 0x09, f: 0x0c, e: 0x1b, a: 0x07 };

/** Reads the escape at s[i] (the backslash); returns it and the index after it. */
function readEscape(s: string, i: number, inClass: boolean): [Escape, number] {
  const c = s[i + 1];
  if (c === undefined) return refuse('ends with a lone \\');
  const esc = `\\${c}`;
  if (!/[A-Za-z0-9]/.test(c)) return [{ kind: 'char', code: c.charCodeAt(0) }, i + 2];
  if (/[0-9]/.test(c)) return refuse(`uses ${esc}, a backreference or octal escape, which PCRE (nginx) and JavaScript (the gateway) read differently; write a byte as \\xhh`);
  if (c in CHARS) return [{ kind: 'char', code: CHARS[c] }, i + 2];
  if (c in SETS) return [{ kind: 'set', body: SETS[c] }, i + 2];
  if (c === 'Q') return [{ kind: 'quote' }, i + 2];
  if (c === 'E') return [{ kind: 'none' }, i + 2];
  if (c === 'b' && inClass) return [{ kind: 'char', code: 0x08 }, i + 2];
  if (c === 'x' || c === 'o') {
    const braced = /^\{([^}]*)\}/.exec(s.slice(i + 2));
    if (c === 'x' && !braced) {
      const digits = /^[0-9A-Fa-f]{0,2}/.exec(s.slice(i + 2))![0];
      return [{ kind: 'char', code: parseInt(digits || '0', 16) }, i + 2 + digits.length];
    }
    if (!braced || !(c === 'x' ? /^[0-9A-Fa-f]+$/ : /^[0-7]+$/).test(braced[1])) return refuse(`uses ${esc} without ${c === 'x' ? 'hex' : 'octal'} digits in braces`);
    const code = parseInt(braced[1], c === 'x' ? 16 : 8);
    if (code > 0xff) return refuse(`uses ${esc}{${braced[1]}}, over \\xff: nginx matches bytes, write a character's UTF-8 bytes as \\xhh\\xhh`);
    return [{ kind: 'char', code }, i + 3 + braced[0].length - 1];
  }
  if (c === 'c') {
    const x = s.charCodeAt(i + 2);
    if (!(x >= 0x20 && x <= 0x7e)) return refuse('uses \\c without a printable ASCII character after it');
    return [{ kind: 'char', code: String.fromCharCode(x).toUpperCase().charCodeAt(0) ^ 0x40 }, i + 3];
  }
  if (!inClass) {
    if (c in ASSERTIONS) return [{ kind: 'assert', js: ASSERTIONS[c] }, i + 2];
    // \N{U+hhhh} needs UTF mode; \N{2} is \N repeated.
    if (c === 'N' && !/^\{(?!\d+(,\d*)?\})/.test(s.slice(i + 2))) return [{ kind: 'seq', js: '[^\\n]' }, i + 2];
    // \R is atomic in PCRE: \r\n is never split to let the rest match.
    if (c === 'R') return [{ kind: 'atomic', js: '\\r\\n|[\\n\\x0b\\f\\r\\x85]' }, i + 2];
  } else if (/[bBAGzZNR]/.test(c)) {
    return refuse(`uses ${esc} inside [ ], which PCRE (nginx) refuses`);
  }
  if (/[pPX]/.test(c)) return refuse(`uses ${esc}, a Unicode property, which the gateway cannot match as PCRE (nginx) does; spell out the bytes in [ ]`);
  if (/[gk]/.test(c)) return refuse(`uses ${esc}, a backreference, which PCRE (nginx) and JavaScript (the gateway) read differently`);
  return refuse(`uses ${esc}, which PCRE (nginx) refuses or the gateway cannot match as nginx does; supported escapes: \\d \\D \\w \\W \\s \\S \\h \\H \\v \\V \\b \\B \\A \\z \\Z \\G \\N \\R, \\n \\r \\t \\f \\e \\a, \\xhh, \\x{hh}, \\o{ooo}, \\cX, \\Q…\\E`);
}

/** PCRE's check_posix_syntax: does "[:" (or "[." "[=") at s[i] open a POSIX item, and where does it end? */
function posixEnd(s: string, i: number): number {
  const term = s[i + 1];
  for (let p = i + 2; p + 1 < s.length; p++) {
    if (s[p] === '\\' && (s[p + 1] === ']' || s[p + 1] === '\\')) p++;
    else if ((s[p] === '[' && s[p + 1] === term) || s[p] === ']') return -1;
    else if (s[p] === term && s[p + 1] === ']') return p;
  }
  return -1;
}

/** Reads the class at s[i] ("["); returns its JavaScript form and the index after its "]". */
function readClass(s: string, i: number): [string, number] {
  let p = i + 1;
  const negated = s[p] === '^';
  if (negated) p++;
  type Item = { kind: 'char'; code: number } | { kind: 'set'; body: string };
  const items: Item[] = [];
  let quoting = false;
  let first = true;
  /** The next member (a byte or a set), or null at the closing "]". */
  const next = (): Item | null => {
    for (;;) {
      if (p >= s.length) return refuse('has a [ without its closing ]');
      if (quoting) {
        if (s.startsWith('\\E', p)) { quoting = false; p += 2; continue; }
        return { kind: 'char', code: s.charCodeAt(p++) };
      }
      // A "]" first in the class is a member in PCRE (JavaScript would close an empty class).
      if (s[p] === ']' && !first) { p++; return null; }
      if (s[p] === '[' && /[:.=]/.test(s[p + 1] ?? '')) {
        const end = posixEnd(s, p);
        if (end >= 0) {
          const inner = s.slice(p + 2, end);
          if (s[p + 1] !== ':') return refuse(`uses [${s[p + 1]}${inner}${s[p + 1]}], a POSIX collating element, which PCRE (nginx) refuses`);
          const name = inner.replace(/^\^/, '');
          if (!Object.hasOwn(POSIX, name)) return refuse(`uses [:${inner}:], an unknown POSIX class; known: ${Object.keys(POSIX).join(' ')}`);
          p = end + 2;
          return { kind: 'set', body: inner.startsWith('^') ? complement(POSIX[name]) : POSIX[name] };
        }
      }
      if (s[p] === '\\') {
        const [e, after] = readEscape(s, p, true);
        p = after;
        if (e.kind === 'quote') { quoting = true; continue; }
        if (e.kind === 'none') continue;
        return e as Item;
      }
      return { kind: 'char', code: s.charCodeAt(p++) };
    }
  };
  /** Skips \E and empty \Q\E, which PCRE ignores between a range's ends. */
  const skipEmptyQuotes = () => {
    for (;;) {
      if (s.startsWith('\\E', p)) { quoting = false; p += 2; } else if (!quoting && s.startsWith('\\Q\\E', p)) p += 4; else return;
    }
  };
  for (let item = next(); item !== null; item = next()) {
    first = false;
    skipEmptyQuotes();
    // An unquoted "-" after a member and before anything but "]" makes a range of two bytes.
    if (s[p] === '-' && !quoting && s[p + 1] !== ']' && p + 1 < s.length) {
      if (item.kind === 'set') return refuse(`has a range starting at a class (such as [\\d-z]), which PCRE (nginx) refuses`);
      p++;
      const end = next();
      if (end === null) return refuse('has a - before ] that PCRE (nginx) may read as a range; write it first, last, or as \\-');
      if (end.kind === 'set') return refuse('has a range ending at a class (such as [a-\\d]), which PCRE (nginx) refuses');
      if (end.code < item.code) return refuse(`has a range out of order (${lit(item.code)}-${lit(end.code)})`);
      items.push({ kind: 'set', body: `${lit(item.code)}-${lit(end.code)}` });
      continue;
    }
    items.push(item);
  }
  const body = items.map((m) => (m.kind === 'char' ? lit(m.code) : m.body)).join('');
  return [`[${negated ? '^' : ''}${body}]`, p];
}

/** A capture the translator adds to emulate an atomic group, numbered when the output is joined. */
type Piece = string | { cap: number } | { ref: number };

/**
 * The JavaScript source matching what PCRE (nginx) matches for `pattern`, or why there is none.
 * Atomic groups, possessive quantifiers and \R become (?=(X))\N: a lookahead does not backtrack.
 */
export function pcreToJs(pattern: string): Translation {
  try {
    return { ok: true, source: translate(Buffer.from(pattern, 'utf8').toString('latin1')) };
  } catch (err) {
    if (err instanceof Refused) return { ok: false, problem: err.message };
    throw err;
  }
}

/** A validated pattern as the gateway matches it (against a binary string of the path's bytes). */
export function pcreRegExp(pattern: string): RegExp {
  const js = pcreToJs(pattern);
  // Validation refuses what the translator refuses: reaching this is a bug, not bad input.
  if (!js.ok) throw new Error(`regex ${JSON.stringify(pattern)} ${js.problem}`);
  return new RegExp(js.source);
}

function translate(s: string): string {
  const out: Piece[] = [];
  let captures = 0;
  /** Where the last quantifiable item starts in `out`, or -1 (nothing, or an assertion). */
  let atom = -1;
  const groups: { start: number; close: Piece[]; quantifiable: boolean }[] = [];
  const atomic = (inner: Piece[]): Piece[] => {
    const id = ++captures;
    return ['(?:(?=', { cap: id }, ...inner, ')', ')', { ref: id }, ')'];
  };
  let i = 0;
  let quoting = false;
  const push = (...pieces: Piece[]) => { atom = out.length; out.push(...pieces); };
  while (i < s.length) {
    const c = s[i];
    if (quoting) {
      if (s.startsWith('\\E', i)) { quoting = false; i += 2; continue; }
      push(lit(s.charCodeAt(i++)));
      continue;
    }
    if (c === '\\') {
      const [e, after] = readEscape(s, i, false);
      i = after;
      if (e.kind === 'quote') quoting = true;
      else if (e.kind === 'char') push(lit(e.code));
      else if (e.kind === 'set') push(`[${e.body}]`);
      else if (e.kind === 'seq') push(e.js);
      else if (e.kind === 'atomic') push(...atomic([e.js]));
      else if (e.kind === 'assert') { out.push(e.js); atom = -1; }
      continue;
    }
    if (c === '[') {
      if (/[:.=]/.test(s[i + 1] ?? '') && posixEnd(s, i) >= 0) return refuse(`uses ${s.slice(i, posixEnd(s, i) + 2)} outside [ ]: PCRE (nginx) refuses a POSIX class that is not inside brackets`);
      const [cls, after] = readClass(s, i);
      i = after;
      push(cls);
      continue;
    }
    if (c === '(') {
      const rest = s.slice(i);
      if (rest.startsWith('(?#')) {
        const end = s.indexOf(')', i);
        if (end < 0) return refuse('has a (?# comment without its closing )');
        i = end + 1;
        continue;
      }
      const start = out.length;
      if (rest.startsWith('(?:')) { out.push('(?:'); groups.push({ start, close: [')'], quantifiable: true }); i += 3; }
      else if (rest.startsWith('(?=') || rest.startsWith('(?!')) { out.push(rest.slice(0, 3)); groups.push({ start, close: [')'], quantifiable: false }); i += 3; }
      else if (rest.startsWith('(?>')) {
        const id = ++captures;
        out.push('(?:(?=', { cap: id });
        groups.push({ start, close: [')', ')', { ref: id }, ')'], quantifiable: true });
        i += 3;
      } else if (/^\(\?<[=!]/.test(rest)) return refuse('uses lookbehind, which PCRE (nginx) and JavaScript (the gateway) do not share');
      else if (/^\(\?(P?<|')/.test(rest)) return refuse('has a named group: nginx turns names into variables, use (…) instead');
      else if (/^\(\?[-\^a-zA-Z]*[):]/.test(rest)) return refuse(`uses the inline flags ${/^\(\?[-\^a-zA-Z]*[):]/.exec(rest)![0]}…, which the gateway does not follow; write the pattern without them (for case, [Pp]ath)`);
      else if (rest.startsWith('(?') || rest.startsWith('(*')) return refuse(`uses ${rest.slice(0, 3)}…, which the gateway cannot match as PCRE (nginx) does; supported groups: ( ), (?: ), (?= ), (?! ), (?> ), (?# )`);
      else { out.push({ cap: ++captures }); groups.push({ start, close: [')'], quantifiable: true }); i += 1; }
      atom = -1;
      continue;
    }
    if (c === ')') {
      const g = groups.pop();
      if (!g) return refuse('has a ) without its opening (');
      out.push(...g.close);
      atom = g.quantifiable ? g.start : -1;
      i++;
      continue;
    }
    if (c === '*' || c === '+' || c === '?' || c === '{') {
      const q = /^(?:[*+?]|\{(\d+)(,(\d*))?\})/.exec(s.slice(i));
      if (!q) return refuse('has a { that is not a quantifier {n}, {n,} or {n,m}; write \\{ for the character');
      if (atom < 0) return refuse(`has the quantifier ${q[0]} after nothing it can repeat (an assertion, a group's start, | or another quantifier)`);
      const [lo, hi] = [q[1], q[3]].map((n) => (n ? Number(n) : undefined));
      if ((lo ?? 0) > 65535 || (hi ?? 0) > 65535) return refuse(`has ${q[0]}: PCRE (nginx) repeats at most 65535 times`);
      if (hi !== undefined && lo! > hi) return refuse(`has ${q[0]}, a quantifier whose numbers are out of order`);
      i += q[0].length;
      let quantifier = q[0];
      if (s[i] === '?') { quantifier += '?'; i++; }
      if (s[i] === '+' && quantifier === q[0]) {
        // Possessive: the repeated item, once matched, is never given back.
        i++;
        const inner = out.splice(atom);
        const id = ++captures;
        out.push('(?:(?=', { cap: id }, ...inner, quantifier, ')', ')', { ref: id }, ')');
      } else {
        out.push(quantifier);
      }
      atom = -1;
      continue;
    }
    if (c === '.') { push('[^\\n]'); i++; continue; }
    if (c === '^') { out.push('^'); atom = -1; i++; continue; }
    // PCRE's $ also matches before a final newline; JavaScript's only at the end.
    if (c === '$') { out.push('(?=\\n?$)'); atom = -1; i++; continue; }
    if (c === '|') { out.push('|'); atom = -1; i++; continue; }
    push(lit(s.charCodeAt(i++)));
  }
  if (groups.length) return refuse('has a ( without its closing )');
  // Captures are numbered by their "(" in the final text, after any possessive rewrite moved them.
  const number = new Map<number, number>();
  for (const p of out) if (typeof p === 'object' && 'cap' in p) number.set(p.cap, number.size + 1);
  return out.map((p) => (typeof p === 'string' ? p : 'cap' in p ? '(' : `\\${number.get(p.ref)}`)).join('');
}
