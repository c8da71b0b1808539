// The fast way to read a manifest: js-yaml's event parser, several times faster than the `yaml`
// package, which is kept for what only it has (source positions for diagnostics, its exact errors).
// This path answers only for documents on which the two are known to agree; for anything else it
// declines and the exact path (parse-yaml.ts) reads the file. compile-manifest.ts also falls back to
// the exact path whenever a manifest read this way has anything to report.
import {
  COLLECTION_STYLE, constructFromEvents, defineScalarTag, EVENT_ID, FAILSAFE_SCHEMA, NOT_RESOLVED, parseEvents, SCALAR_STYLE,
  type Event,
} from 'js-yaml';
import { withinYamlLimits } from './parse-yaml';

// The YAML 1.2 core schema exactly as the `yaml` package resolves plain scalars (same patterns, same
// order, same conversions), so that both paths give the same value for every plain scalar.
// implicitFirstChars only lets js-yaml skip a resolver that cannot match: a superset of first characters.
const DIGITS = [...'0123456789'];
const nullTag = defineScalarTag<null>('tag:yaml.org,2002:null', {
  implicit: true,
  implicitFirstChars: ['', '~', 'n', 'N'],
  resolve: (s) => (/^(?:~|[Nn]ull|NULL)?$/.test(s) ? null : NOT_RESOLVED),
  identify: (v) => v === null,
});
const boolTag = defineScalarTag<boolean>('tag:yaml.org,2002:bool', {
  implicit: true,
  implicitFirstChars: ['t', 'T', 'f', 'F'],
  resolve: (s) => (/^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/.test(s) ? s[0] === 't' || s[0] === 'T' : NOT_RESOLVED),
  identify: (v) => typeof v === 'boolean',
});
const intTag = defineScalarTag<number>('tag:yaml.org,2002:int', {
  implicit: true,
  implicitFirstChars: ['-', '+', ...DIGITS],
  resolve: (s) => {
    if (/^0o[0-7]+$/.test(s)) return parseInt(s.substring(2), 8);
    if (/^[-+]?[0-9]+$/.test(s)) return parseInt(s, 10);
    if (/^0x[0-9a-fA-F]+$/.test(s)) return parseInt(s.substring(2), 16);
    return NOT_RESOLVED;
  },
  identify: (v) => Number.isInteger(v),
});
const floatTag = defineScalarTag<number>('tag:yaml.org,2002:float', {
  implicit: true,
  implicitFirstChars: ['-', '+', '.', ...DIGITS],
  resolve: (s) => {
    if (/^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/.test(s)) {
      return s.slice(-3).toLowerCase() === 'nan' ? NaN : s[0] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
    }
    if (/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/.test(s) || /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/.test(s)) return parseFloat(s);
    return NOT_RESOLVED;
  },
  identify: (v) => typeof v === 'number',
});
const CORE_AS_YAML_PACKAGE = FAILSAFE_SCHEMA.withTags(nullTag, boolTag, intTag, floatTag);

/** Plain scalars that resolve to null: js-yaml turns such a key into "null", the yaml package into "". */
const NULL_PLAIN = /^(?:~|[Nn]ull|NULL)?$/;
/** `---` or `...` at the start of a line (followed by whitespace or the end). */
const DOCUMENT_MARKER = /^(?:---|\.\.\.)(?:[ \n]|$)/m;
/** The yaml package refuses an implicit key longer than 1024 characters. */
const MAX_KEY_CHARS = 1000;

interface Frame {
  kind: 'document' | 'mapping' | 'sequence';
  flow: boolean;
  /**
   * A flow collection may span lines only outside block context (a JSON-style document): inside a
   * block collection the two parsers' indentation rules for its continuation lines differ.
   */
  multiLine: boolean;
  /** The line the collection starts on. */
  line: number;
  /** The line the current key starts on (a flow mapping's value must start on it). */
  keyLine: number;
  /** Children seen so far; in a mapping, even counts are keys. */
  count: number;
}

/**
 * The manifest's data, or undefined when this document has something the two parsers may read
 * differently (or js-yaml refuses it): then the caller uses the exact path.
 */
export function parseManifestYamlFast(text: string): { data: unknown } | undefined {
  if (!withinYamlLimits(text)) return undefined;
  // Tabs and carriage returns: whitespace rules where parsers have differed. A byte-order mark:
  // the yaml package refuses one before a top-level sequence, js-yaml skips it.
  if (text.includes('\t') || text.includes('\r') || text.includes('\uFEFF')) return undefined;
  // Document markers other than a leading `---`: where one document ends and the next begins.
  if (DOCUMENT_MARKER.test(text.startsWith('---') ? text.slice(3) : text)) return undefined;
  let events: Event[];
  try {
    events = parseEvents(text, {});
  } catch {
    return undefined;
  }
  if (!plainEnough(text, events)) return undefined;
  try {
    const docs = constructFromEvents(events, { source: text, schema: CORE_AS_YAML_PACKAGE, maxAliases: 0 });
    return docs.length === 1 ? { data: docs[0] } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * True when the events use none of the features where js-yaml and the yaml package part ways:
 * directives, tags, anchors and aliases (and the yaml package's alias limit), non-scalar or null
 * keys, block scalars, scalars or flow collections spread over several lines, over-long keys.
 */
function plainEnough(text: string, events: Event[]): boolean {
  // Lines by binary search over the line starts: scanning back for a newline per scalar would be
  // quadratic on a manifest written on one line.
  const starts = lineStarts(text);
  const lineOf = (offset: number) => lineAt(starts, offset);
  const stack: Frame[] = [];
  let documents = 0;
  for (const e of events) {
    if (e.type === EVENT_ID.POP) {
      stack.pop();
      continue;
    }
    if (e.type === EVENT_ID.DOCUMENT) {
      if (++documents > 1 || e.directives.length > 0) return false;
      stack.push({ kind: 'document', flow: false, multiLine: true, line: 0, keyLine: 0, count: 0 });
      continue;
    }
    if (e.type === EVENT_ID.ALIAS) return false;
    if (e.anchorStart !== -1 || e.tagStart !== -1) return false;
    const parent = stack[stack.length - 1];
    if (!parent) return false;
    // A scalar document is never a manifest (the exact path reports it), and where one starts is
    // parser-dependent: ` ---` is the scalar "---" to the yaml package and an empty document to js-yaml.
    if (parent.kind === 'document' && e.type === EVENT_ID.SCALAR) return false;
    const isKey = parent.kind === 'mapping' && parent.count % 2 === 0;
    parent.count++;
    const start = e.type === EVENT_ID.SCALAR ? e.valueStart : e.start;
    if (start === -1) {
      // An empty scalar: a null value in block context (`key:`); anything else goes the exact way.
      if (isKey || parent.flow) return false;
    } else if (parent.flow) {
      const line = lineOf(start);
      if (!parent.multiLine && line !== parent.line) return false;
      if (parent.kind === 'mapping') {
        if (isKey) parent.keyLine = line;
        else if (line !== parent.keyLine) return false;
      }
    }
    if (e.type === EVENT_ID.SCALAR) {
      if (e.style === SCALAR_STYLE.LITERAL_BLOCK || e.style === SCALAR_STYLE.FOLDED_BLOCK) return false;
      if (start !== -1 && e.valueEnd > start && lineOf(e.valueEnd - 1) !== lineOf(start)) return false;
      if (isKey) {
        if (e.valueEnd - start > MAX_KEY_CHARS) return false;
        if (e.style === SCALAR_STYLE.PLAIN && NULL_PLAIN.test(text.slice(start, e.valueEnd))) return false;
      }
    } else {
      if (isKey) return false;
      const flow = e.style === COLLECTION_STYLE.FLOW;
      stack.push({
        kind: e.type === EVENT_ID.MAPPING ? 'mapping' : 'sequence',
        flow,
        multiLine: flow && (parent.kind === 'document' || (parent.flow && parent.multiLine)),
        line: lineOf(start),
        keyLine: -1,
        count: 0,
      });
    }
  }
  return documents === 1;
}

/** Offsets where lines start: 0 and each offset after a newline. */
function lineStarts(text: string): number[] {
  const out = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) out.push(i + 1);
  return out;
}

/** The 0-based line holding `offset`. */
function lineAt(starts: readonly number[], offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
