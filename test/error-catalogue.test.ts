// docs/errors.md and the MANIFEST_CODES catalogue stay in sync: every code has a section headed by
// exactly that code, no section documents a code the catalogue lacks, and each section's example
// manifest really produces the diagnostic line the page shows.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileManifest } from '../gateway/manifest/compile-manifest';
import { formatDiagnostic, MANIFEST_CODES } from '../gateway/manifest/errors';
import { PROJECT_ROOT } from '../gateway/version';

// The manifest's codes; the page's last part, `# HTTP answers`, is test/http-answers.test.ts's.
const DOC = readFileSync(join(PROJECT_ROOT, 'docs', 'errors.md'), 'utf8').split(/^# HTTP answers$/m)[0];

interface Section { code: string; body: string }

function sections(md: string): Section[] {
  const out: Section[] = [];
  const parts = md.split(/^## /m).slice(1);
  for (const part of parts) {
    const nl = part.indexOf('\n');
    out.push({ code: part.slice(0, nl).trim(), body: part.slice(nl + 1) });
  }
  return out;
}

function codeBlocks(body: string): { lang: string; text: string }[] {
  return [...body.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1], text: m[2] }));
}

/** The header the page abbreviates as `…` in its examples. */
function docHeader(): string {
  const intro = DOC.split(/^## /m)[0];
  const yaml = codeBlocks(intro).find((b) => b.lang === 'yaml');
  assert.ok(yaml, 'the introduction shows the example header as a yaml block');
  return yaml.text;
}

describe('error catalogue: docs/errors.md and MANIFEST_CODES', () => {
  const documented = sections(DOC);
  const catalogue = Object.keys(MANIFEST_CODES);

  it('documents every code of the catalogue under a heading with exactly that code', () => {
    const headings = new Set(documented.map((s) => s.code));
    const missing = catalogue.filter((c) => !headings.has(c));
    assert.deepEqual(missing, [], `codes without a "## CODE" section in docs/errors.md: ${missing.join(', ')}`);
  });

  it('documents no code the catalogue lacks, and none twice', () => {
    const unknown = documented.map((s) => s.code).filter((c) => !(c in MANIFEST_CODES));
    assert.deepEqual(unknown, [], `sections for codes not in MANIFEST_CODES: ${unknown.join(', ')}`);
    const seen = new Set<string>();
    for (const s of documented) {
      assert.ok(!seen.has(s.code), `${s.code} is documented twice`);
      seen.add(s.code);
    }
  });

  it('keeps the sections in catalogue order', () => {
    assert.deepEqual(documented.map((s) => s.code), catalogue);
  });

  it('gives each code a trigger, an example diagnostic line with that code, and a fix', () => {
    for (const s of documented) {
      assert.match(s.body, /\*\*Trigger[^*]*:\*\*/, `${s.code}: no **Trigger:** paragraph`);
      assert.match(s.body, /\*\*Fix:\*\*/, `${s.code}: no **Fix:** paragraph`);
      const shown = codeBlocks(s.body).filter((b) => b.lang === '').map((b) => b.text).join('');
      const kind = s.code.startsWith('STR_W_') ? 'warning' : 'error';
      assert.ok(shown.includes(`: ${kind} ${s.code}: `), `${s.code}: no example line "… ${kind} ${s.code}: …"`);
    }
  });

  it('shows, for each example manifest, the diagnostic the compiler really reports', () => {
    const header = docHeader();
    let checked = 0;
    for (const s of documented) {
      const blocks = codeBlocks(s.body);
      const yaml = blocks.find((b) => b.lang === 'yaml');
      if (!yaml) continue;
      const text = yaml.text.replace(/^…\n/m, header);
      const output = blocks.find((b) => b.lang === '' && b.text.includes(s.code));
      assert.ok(output, `${s.code}: an example manifest without its output`);
      const expected = output.text.split('\n')[0];
      const { diagnostics } = compileManifest(text, 'routes.yaml');
      const actual = diagnostics.map(formatDiagnostic);
      assert.ok(actual.includes(expected), `${s.code}: the page shows\n  ${expected}\nthe compiler reports\n  ${actual.join('\n  ')}`);
      checked++;
    }
    // STR_FILE, STR_TLS_KEY_MISMATCH and STR_W_CERTIFICATE need files on disk (an unreadable
    // manifest, a certificate and another's key, a certificate for other names):
    // test/manifest-tls.test.ts checks the latter two's lines.
    assert.ok(checked >= catalogue.length - 3, `only ${checked} examples checked`);
  });
});
