// The compiled check of routes/routes.schema.json. `npm run build` writes it as ajv standalone code
// (schema-standalone.ts) beside this file, carrying the schema text it was built from; a process
// loads that and skips ajv's compiler, unless the schema changed since (or the build step did not
// run): then it compiles the schema here, with the same options, so a stale validator is never
// used. The text itself is the stamp: comparing it is exact, and spares the CLI loading node:crypto.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ErrorObject } from 'ajv';
import { PROJECT_ROOT } from '../version';

export const SCHEMA_PATH = join(PROJECT_ROOT, 'routes', 'routes.schema.json');
/** Where the build writes the standalone validator (next to this module in dist/). */
export const STANDALONE_VALIDATOR_PATH = join(__dirname, 'manifest-schema.standalone.js');

export interface SchemaValidator {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
}

export interface LoadedValidator {
  validate: SchemaValidator;
  /** standalone: the build's precompiled code; compiled: ajv compiled the schema in this process. */
  source: 'standalone' | 'compiled';
}

/** The one home of the ajv options the manifest schema is compiled with, here and by the build. */
export function manifestAjv(extra: { standaloneSource?: boolean } = {}): import('ajv').default {
  const Ajv = (require('ajv') as typeof import('ajv')).default;
  // inlineRefs: false: a definition used in many places (duration, size) is one function, not a
  // copy at each use; the standalone code is 13% smaller, and every CLI start loads it.
  const ajv = new Ajv({
    allErrors: true, verbose: true, strict: true, allowUnionTypes: true, inlineRefs: false, code: { source: extra.standaloneSource === true },
  });
  // `x-error` names the catalogue code for a failed pattern or format on that node.
  ajv.addKeyword({ keyword: 'x-error', schemaType: 'string' });
  return ajv;
}

export function loadSchemaValidator(schemaText = readFileSync(SCHEMA_PATH, 'utf8'), standalonePath = STANDALONE_VALIDATOR_PATH): LoadedValidator {
  const standalone = readStandalone(standalonePath);
  if (standalone && standalone.schemaText === schemaText) return { validate: standalone, source: 'standalone' };
  return { validate: manifestAjv().compile(JSON.parse(schemaText)), source: 'compiled' };
}

function readStandalone(path: string): (SchemaValidator & { schemaText?: string }) | null {
  try {
    return require(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return null;
    throw err;
  }
}
