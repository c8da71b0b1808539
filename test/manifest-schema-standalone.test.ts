// The precompiled schema check (ajv standalone code, written into dist/ by `npm run build`): it is
// what the build of this schema would write, it is refused once the schema changes, and it finds
// exactly the errors ajv's in-process compile of the schema finds.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseManifestYaml } from '../gateway/manifest/parse-yaml';
import { loadSchemaValidator, manifestAjv, SCHEMA_PATH, STANDALONE_VALIDATOR_PATH } from '../gateway/manifest/schema-validator';
import { standaloneValidatorCode } from '../gateway/manifest/schema-standalone';
import { BAD_MANIFESTS, corpusText } from './corpus/bad-manifests';
import { baseManifest } from './helpers/manifest-text';

describe('manifest schema: the precompiled validator', function () {
  this.timeout(60_000);
  const schemaText = readFileSync(SCHEMA_PATH, 'utf8');
  let dir: string;
  // Inside the project, so that the generated code finds ajv's runtime helpers.
  before(() => { dir = mkdtempSync(join(__dirname, 'standalone-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('in dist/ is what the build writes for the current schema (run `npm run build` when this fails)', () => {
    let built: string;
    try {
      built = readFileSync(STANDALONE_VALIDATOR_PATH, 'utf8');
    } catch {
      assert.fail(`${STANDALONE_VALIDATOR_PATH} is missing: run \`npm run build\``);
    }
    assert.equal(built, standaloneValidatorCode(schemaText), 'the standalone validator is stale: run `npm run build`');
    assert.equal(loadSchemaValidator().source, 'standalone');
  });

  it('is refused, and the schema compiled in-process instead, once the schema differs from the one it was built from', () => {
    const changed = JSON.parse(schemaText);
    changed.properties.version.const = 2;
    const changedText = JSON.stringify(changed, null, 2);
    const file = join(dir, 'changed.standalone.js');
    writeFileSync(file, standaloneValidatorCode(changedText));
    const stale = loadSchemaValidator(schemaText, file);
    assert.equal(stale.source, 'compiled');
    assert.equal(stale.validate({ ...baseManifest(), version: 1 }), true, 'the current schema, not the stale code, decides');
    const current = loadSchemaValidator(changedText, file);
    assert.equal(current.source, 'standalone');
    assert.equal(current.validate({ ...baseManifest(), version: 1 }), false);
  });

  it('falls back to compiling the schema in-process when the build wrote no code', () => {
    assert.equal(loadSchemaValidator(schemaText, join(dir, 'absent.js')).source, 'compiled');
  });

  it('reports the same errors as ajv compiling the schema in-process, on every bad manifest of the corpus', () => {
    const standalone = loadSchemaValidator().validate;
    const compiled = manifestAjv().compile(JSON.parse(schemaText));
    let withErrors = 0;
    for (const entry of BAD_MANIFESTS) {
      const { data } = parseManifestYaml(corpusText(entry), 'routes.yaml');
      if (data === undefined) continue;
      const a = standalone(data);
      const b = compiled(data);
      assert.equal(a, b, entry.name);
      assert.deepStrictEqual(standalone.errors ?? null, compiled.errors ?? null, entry.name);
      if (!a) withErrors++;
    }
    assert.ok(withErrors >= 50, `only ${withErrors} corpus manifests failed the schema`);
  });
});
