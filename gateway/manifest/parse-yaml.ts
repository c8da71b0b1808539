// YAML text -> plain data, plus a locator that turns a manifest path into a line and column: the
// exact path. The `yaml` package keeps source ranges and gives the errors diagnostics quote, which is
// why it reads every manifest that has something to report; a valid one is read the fast way
// (parse-yaml-fast.ts). It is loaded on first use: a valid manifest never needs it.
import type { Document, Node } from 'yaml';
import type { ManifestDiagnostic, PathSegment } from './errors';

/** Bounds that keep a hostile file from exhausting the process (billion-laughs, giant files). */
export const YAML_LIMITS = Object.freeze({ maxBytes: 16 * 1024 * 1024, maxAliasCount: 100, maxDepth: 64 });

export type Locator = (path: readonly PathSegment[], at?: 'key' | 'value') => { line?: number; column?: number };

export interface ParsedYaml {
  data: unknown;
  locate: Locator;
  diagnostics: ManifestDiagnostic[];
}

export function parseManifestYaml(text: string, file: string): ParsedYaml {
  const none: Locator = () => ({});
  const fail = (code: 'STR_YAML_SYNTAX' | 'STR_YAML_LIMIT', message: string, line?: number, column?: number): ParsedYaml => ({
    data: undefined,
    locate: none,
    diagnostics: [{ code, severity: 'error', path: '', message, file, line, column }],
  });

  if (Buffer.byteLength(text) > YAML_LIMITS.maxBytes) {
    return fail('STR_YAML_LIMIT', `file is larger than ${YAML_LIMITS.maxBytes} bytes`);
  }
  const depth = nestingDepth(text);
  if (depth > YAML_LIMITS.maxDepth) {
    return fail('STR_YAML_LIMIT', `flow nesting deeper than ${YAML_LIMITS.maxDepth} levels`);
  }

  const { LineCounter, isMap, isPair, isScalar, isSeq, parseDocument } = require('yaml') as typeof import('yaml');
  const lineCounter = new LineCounter();
  let doc: Document.Parsed;
  try {
    doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false, version: '1.2', schema: 'core' });
  } catch (err) {
    return fail('STR_YAML_LIMIT', `the YAML parser gave up: ${(err as Error).message.split('\n')[0]}`);
  }
  if (doc.errors.length > 0) {
    // One error: after the first, the parser's further complaints are mostly echoes of it.
    const e = doc.errors[0];
    const pos = lineCounter.linePos(syntaxErrorOffset(text, e.pos[0], e.message));
    // The parser records running out of stack (deep block nesting) as an ordinary error.
    const limit = /call stack/i.test(e.message);
    const hint = e.code === 'BLOCK_AS_IMPLICIT_KEY' ? colonInValueHint(text.split('\n')[pos.line - 1] ?? '') : '';
    return fail(limit ? 'STR_YAML_LIMIT' : 'STR_YAML_SYNTAX', e.message.split('\n')[0] + hint, pos.line, pos.col);
  }

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: YAML_LIMITS.maxAliasCount });
  } catch (err) {
    const message = (err as Error).message.split('\n')[0];
    // An alias to an anchor that is not defined (before it) is a mistake in the file, not a limit.
    const unresolved = /^Unresolved alias.*: (.+)$/.exec(message);
    if (unresolved) {
      const at = text.indexOf(`*${unresolved[1]}`);
      const pos = at >= 0 ? lineCounter.linePos(at) : undefined;
      return fail('STR_YAML_SYNTAX', message, pos?.line, pos?.col);
    }
    return fail('STR_YAML_LIMIT', message);
  }

  const locate: Locator = (path, at = 'value') => {
    let node: unknown = doc.contents;
    let found: unknown = node;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i];
      const last = i === path.length - 1;
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === seg);
        if (!pair) break;
        found = last && at === 'key' ? pair.key : (pair.value ?? pair.key);
        node = pair.value;
      } else if (isSeq(node) && typeof seg === 'number' && node.items[seg] !== undefined) {
        node = found = node.items[seg];
      } else {
        break;
      }
    }
    const range = (found as Node | null)?.range;
    // An empty document has no node to point at: its problems are on line 1.
    if (!range) return doc.contents === null ? { line: 1, column: 1 } : {};
    const pos = lineCounter.linePos(range[0]);
    return { line: pos.line, column: pos.col };
  };

  return { data, locate, diagnostics: [] };
}

/**
 * Where a syntax error really is. The parser notices an unclosed quote or bracket only where the
 * text ends or the next line starts, so point at the opening character instead; and point at the
 * first character of a line, not at its indentation.
 */
function syntaxErrorOffset(text: string, offset: number, message: string): number {
  const missing = /^Missing closing (["'])|must .*end with an? ([}\]])/.exec(message);
  if (missing) {
    const close = missing[1] ?? missing[2];
    const open = close === '}' ? '{' : close === ']' ? '[' : close;
    let depth = 0;
    for (let i = Math.min(offset, text.length) - 1; i >= 0; i--) {
      if (open !== close && text[i] === close) depth++;
      else if (text[i] === open && depth-- === 0) return i;
    }
  }
  let at = offset;
  while (at < text.length && text[at] === ' ') at++;
  return text[at] === '\n' || at >= text.length ? offset : at;
}

/** False when the size or flow-nesting bound is exceeded (the exact path then says which). */
export function withinYamlLimits(text: string): boolean {
  return Buffer.byteLength(text) <= YAML_LIMITS.maxBytes && nestingDepth(text) <= YAML_LIMITS.maxDepth;
}

/** Deepest run of flow brackets: the parser recurses on them, so a bound is checked before parsing. */
function nestingDepth(text: string): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5b || c === 0x7b) max = Math.max(max, ++depth);
    else if ((c === 0x5d || c === 0x7d) && depth > 0) depth--;
  }
  return max;
}

/**
 * `to: function: pdf` reads as a mapping inside a value, which YAML refuses; the usual cause is a
 * target written with a space after its colon, otherwise a value holding ": " that needs quotes.
 */
function colonInValueHint(line: string): string {
  const target = /\b(function|async|upstream):\s+([^\s#]+)/.exec(line);
  if (target) return ` (a target has no space after its colon: ${target[1]}:${target[2]})`;
  return ' (a value that holds ": " must be quoted)';
}
