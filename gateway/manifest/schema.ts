// Schema-first validation: the shipped JSON Schema (routes/routes.schema.json, also used by editors)
// checked with ajv, every failure mapped to a stable code and a manifest path.
import type { ErrorObject } from 'ajv';
import { formatPath, type ManifestCode, type ManifestDiagnostic, type PathSegment } from './errors';
import type { Locator } from './parse-yaml';
import { loadSchemaValidator, type SchemaValidator } from './schema-validator';
import { didYouMean } from '../util/did-you-mean';

let validator: SchemaValidator | null = null;
/** Loaded on first use: modules that import this one for its types pay nothing. */
function validateSchema(data: unknown): ErrorObject[] {
  validator ??= loadSchemaValidator().validate;
  return validator(data) ? [] : (validator.errors ?? []);
}

const KEYWORD_CODES: Record<string, ManifestCode> = {
  type: 'STR_TYPE',
  required: 'STR_REQUIRED',
  additionalProperties: 'STR_UNKNOWN_KEY',
  minimum: 'STR_BAD_VALUE',
  maximum: 'STR_BAD_VALUE',
  enum: 'STR_BAD_VALUE',
  const: 'STR_BAD_VALUE',
  uniqueItems: 'STR_BAD_VALUE',
  minItems: 'STR_BAD_VALUE',
  maxItems: 'STR_BAD_VALUE',
  maxProperties: 'STR_BAD_VALUE',
  minLength: 'STR_BAD_VALUE',
  maxLength: 'STR_BAD_VALUE',
};

export function checkSchema(data: unknown, file: string, locate: Locator): ManifestDiagnostic[] {
  const found = validateSchema(data);
  if (!found.length) return [];
  const errors = pruneErrors(found);
  return errors.map((e) => toDiagnostic(e, data, file, locate));
}

function toDiagnostic(e: ErrorObject, data: unknown, file: string, locate: Locator): ManifestDiagnostic {
  const segments = pointerToSegments(e.instancePath, data);
  let at: 'key' | 'value' = 'value';
  let message = e.message ?? 'invalid';
  let code: ManifestCode = KEYWORD_CODES[e.keyword] ?? 'STR_BAD_VALUE';
  const xError = (e.parentSchema as Record<string, unknown> | undefined)?.['x-error'] as ManifestCode | undefined;

  if (e.keyword === 'additionalProperties') {
    const key = (e.params as { additionalProperty: string }).additionalProperty;
    segments.push(key);
    at = 'key';
    const known = Object.keys(((e.parentSchema as { properties?: object } | undefined)?.properties) ?? {});
    message = `unknown key ${JSON.stringify(key)}${didYouMean(key, known)}`;
  } else if (e.keyword === 'required') {
    message = `missing required key ${JSON.stringify((e.params as { missingProperty: string }).missingProperty)}`;
  } else if (e.keyword === 'propertyNames') {
    const name = (e.params as { propertyName: string }).propertyName;
    segments.push(name);
    at = 'key';
    code = 'STR_BAD_NAME';
    message = `name ${JSON.stringify(name)} must match [a-z][a-z0-9_-]* (at most 63 characters)`;
  } else if (e.keyword === 'pattern' || e.keyword === 'maxLength' || e.keyword === 'minProperties' || e.keyword === 'maxProperties') {
    if (xError) code = xError;
    message = describeValue(e.data, e.keyword === 'pattern' ? `is not allowed here (${e.message})` : (e.message ?? 'invalid'));
    if (code === 'STR_BAD_TARGET' && typeof e.data === 'string') message += targetHint(e.data, new RegExp((e.params as { pattern: string }).pattern));
  } else if (e.keyword === 'enum' || e.keyword === 'const') {
    const allowed = (e.params as { allowedValues?: unknown[]; allowedValue?: unknown });
    const values = allowed.allowedValues ?? [allowed.allowedValue];
    message = describeValue(e.data, `must be one of ${values.map((v) => JSON.stringify(v)).join(', ')}`);
  } else if (e.keyword === 'minimum' || e.keyword === 'maximum') {
    if (segments[segments.length - 1] === 'percent') code = 'STR_BAD_PERCENT';
    message = describeValue(e.data, e.message ?? 'out of range');
  }
  if (e.keyword === 'minProperties' || e.keyword === 'maxProperties') {
    if (segments[segments.length - 1] === 'match') message = 'must have exactly one of prefix, exact, regex';
  }
  return { code, severity: 'error', path: formatPath(segments), message, file, ...locate(segments, at) };
}

/**
 * A target written almost right gets the spelling it was probably meant to have: a misspelt kind
 * ("functon:x"), a space after the colon ("function: x"), or a name the function gateway would
 * not write ("function:Track_Package", "Legacy"). `pattern` is the schema's, so a suggestion is
 * always a valid target.
 */
function targetHint(to: string, pattern: RegExp): string {
  const [kind, ...rest] = to.split(':');
  const name = rest.join(':');
  const k = kind.trim().toLowerCase();
  // Upstream names may hold '_'; function names (as the function gateway writes them) may not.
  const n = k === 'upstream' ? name.trim().toLowerCase() : name.trim().toLowerCase().replace(/[_\s]+/g, '-');
  const tidied = rest.length ? `${k}:${n}` : k;
  if (tidied !== to && pattern.test(tidied)) return ` (did you mean ${tidied}?)`;
  if (!rest.length) return didYouMean(kind, ['legacy']);
  return didYouMean(kind, ['function', 'async', 'upstream'], (k) => `${k}:${name}`);
}

function describeValue(value: unknown, what: string): string {
  const shown = typeof value === 'string' && value.length > 80 ? JSON.stringify(value.slice(0, 80)) + '…' : JSON.stringify(value);
  return `${shown} ${what}`;
}

/** ajv reports oneOf failures as the branch errors plus a summary: keep the most useful ones. */
function pruneErrors(errors: ErrorObject[]): ErrorObject[] {
  const out: ErrorObject[] = [];
  const seen = new Set<string>();
  const oneOfPaths = new Set(errors.filter((e) => e.keyword === 'oneOf').map((e) => e.instancePath));
  for (const e of errors) {
    if (e.keyword === 'oneOf' || e.keyword === 'if') continue;
    // A bad upstream name is reported once, by its propertyNames error, not again by the pattern.
    if (e.propertyName !== undefined) continue;
    // Inside a oneOf, a type mismatch with one branch is noise: another branch's error says more,
    // or, when every branch failed on type, one error naming the choices is added below.
    if (oneOfPaths.has(e.instancePath) && e.keyword === 'type') continue;
    const key = `${e.instancePath}|${e.keyword}|${JSON.stringify(e.params)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(e);
  }
  // A oneOf where every branch failed on type: report one type error naming the choices.
  for (const p of oneOfPaths) {
    if (!out.some((e) => e.instancePath === p || e.instancePath.startsWith(p + '/'))) {
      const summary = errors.find((e) => e.keyword === 'oneOf' && e.instancePath === p)!;
      const types = errors.filter((e) => e.keyword === 'type' && e.instancePath === p).map((e) => (e.params as { type: string }).type);
      out.push({ ...summary, keyword: 'type', message: types.length ? `must be ${types.join(' or ')}` : 'has the wrong type' });
    }
  }
  return out;
}

function pointerToSegments(pointer: string, data: unknown): PathSegment[] {
  if (!pointer) return [];
  const out: PathSegment[] = [];
  let node: unknown = data;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) {
      out.push(Number(key));
      node = node[Number(key)];
    } else {
      out.push(key);
      node = (node as Record<string, unknown> | undefined)?.[key];
    }
  }
  return out;
}
