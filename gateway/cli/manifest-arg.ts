// The manifest every command reads: the first positional argument, else routes/routes.yaml.
import { formatDiagnostic, ManifestInvalidError, type ManifestDiagnostic } from '../manifest/errors';
import { loadManifest, type CompileOptions } from '../manifest/compile-manifest';
import type { RouteTable } from '../manifest/route-table';
import { UsageError } from './command';

export const DEFAULT_MANIFEST = 'routes/routes.yaml';

export function manifestPath(positionals: string[]): string {
  if (positionals.length > 1) throw new UsageError(`expected at most one manifest file, got ${positionals.length}`);
  return positionals[0] ?? DEFAULT_MANIFEST;
}

export function printDiagnostics(diagnostics: readonly ManifestDiagnostic[]): void {
  for (const d of diagnostics) process.stderr.write(formatDiagnostic(d) + '\n');
}

/** Loads the manifest, printing every diagnostic; null when it has errors (already printed). */
export function loadManifestOrReport(file: string, opts: CompileOptions = {}): RouteTable | null {
  try {
    const { table, diagnostics } = loadManifest(file, opts);
    printDiagnostics(diagnostics);
    return table;
  } catch (err) {
    if (err instanceof ManifestInvalidError) {
      printDiagnostics(err.diagnostics);
      return null;
    }
    throw err;
  }
}
