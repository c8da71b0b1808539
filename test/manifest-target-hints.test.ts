// A target written almost right gets the spelling it was probably meant to have, in the error
// itself: a misspelt kind, a space after the colon (which YAML reads as a nested mapping when the
// value is not quoted), a name the function gateway would not write. Every suggestion is a valid
// target, and a value that cannot be tidied into one gets no suggestion.
import assert from 'node:assert/strict';
import { compileManifest } from '../gateway/manifest/compile-manifest';
import { formatDiagnostic } from '../gateway/manifest/errors';
import { MANIFEST_HEAD, withRoutes } from './helpers/manifest-text';

function firstError(text: string): string {
  const { diagnostics } = compileManifest(text, 'routes.yaml', { checkFiles: false });
  const error = diagnostics.find((d) => d.severity === 'error');
  assert.ok(error, `no error for:\n${text}`);
  return formatDiagnostic(error);
}

const route = (to: string) => withRoutes(`  - id: a`, `    match: { prefix: /a }`, `    to: ${to}`);

describe('manifest: hints for a target written almost right', () => {
  const cases: [string, string][] = [
    ['"functon:x"', 'function:x'],
    ['"function: image-resizer"', 'function:image-resizer'],
    ['"function:Track_Package"', 'function:track-package'],
    ['"async: order intake"', 'async:order-intake'],
    ['Legacy', 'legacy'],
    ['lgacy', 'legacy'],
    ['"upstream:Search_API"', 'upstream:search_api'],
  ];
  for (const [to, meant] of cases) {
    it(`to: ${to} → did you mean ${meant}?`, () => {
      assert.match(firstError(route(to)), new RegExp(`STR_BAD_TARGET: routes\\[0\\]\\.to: .*\\(did you mean ${meant}\\?\\)$`));
    });
  }

  it('no suggestion for what cannot be tidied into a target', () => {
    assert.doesNotMatch(firstError(route('"function:!!"')), /did you mean/);
    assert.doesNotMatch(firstError(route('"somewhere:else"')), /did you mean/);
  });

  it('an unquoted target with a space after its colon: the YAML error says how to write it, at its line', () => {
    assert.match(firstError(route('function: image-resizer')),
      /^routes\.yaml:9:9: error STR_YAML_SYNTAX: Nested mappings are not allowed in compact mappings \(a target has no space after its colon: function:image-resizer\)$/);
  });

  it('any other unquoted value holding ": " is told to be quoted', () => {
    assert.match(firstError([...MANIFEST_HEAD, 'server_name: api: v2', ''].join('\n')), /STR_YAML_SYNTAX: .*\(a value that holds ": " must be quoted\)$/);
  });
});
