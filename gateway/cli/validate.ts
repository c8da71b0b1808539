import { readFileSync } from 'node:fs';
import { compileManifest } from '../manifest/compile-manifest';
import { fileDiagnostic, type ManifestDiagnostic } from '../manifest/errors';
import { EXIT, parseCommandArgs, UsageError, type Command } from './command';
import { manifestPath, printDiagnostics } from './manifest-arg';

export const command: Command = {
  name: 'validate',
  usage: `Usage: strangler validate [FILE] [--json]

Checks the manifest (default routes/routes.yaml) against routes/routes.schema.json, then the
rules the schema cannot express: unique ids and matches, referenced upstreams, regexes that
compile, percents, durations, sizes, addresses, buffer rules; and the files tls and gateway.tls
name: they must exist, be readable (run as the user nginx's master runs as), hold a PEM
certificate and key, and the key must belong to the certificate. Reports every error in one run as
  FILE:LINE:COLUMN: error CODE: routes[3].match.prefix: message
and warnings (such as routes that can never be reached). Codes are listed in docs/errors.md.

Options:
  --json     print {"valid": bool, "diagnostics": [...]} on stdout instead

Exit codes: 0 valid (warnings allowed), 1 invalid, 2 usage error.`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, { json: { type: 'boolean' } });
    const file = manifestPath(positionals);
    let text: string;
    let diagnostics: ManifestDiagnostic[];
    try {
      text = readFileSync(file, 'utf8');
      diagnostics = compileManifest(text, file).diagnostics;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new UsageError(`no such file: ${file}`);
      diagnostics = [fileDiagnostic(file, err as Error)];
    }
    const valid = !diagnostics.some((d) => d.severity === 'error');
    if (values.json) {
      process.stdout.write(JSON.stringify({ valid, diagnostics }, null, 2) + '\n');
    } else {
      printDiagnostics(diagnostics);
      const errors = diagnostics.filter((d) => d.severity === 'error').length;
      const warnings = diagnostics.length - errors;
      process.stdout.write(valid ? `${file}: valid (${warnings} warning${warnings === 1 ? '' : 's'})\n` : `${file}: ${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}\n`);
    }
    return valid ? EXIT.OK : EXIT.FAIL;
  },
};
