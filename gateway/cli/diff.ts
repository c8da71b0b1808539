// `strangler diff ROUTE`: what the running gateway's shadow copies of ROUTE found, for a person.
import { adminRequest, CLIENT_OPTIONS, CLIENT_USAGE, resolveAdmin } from './admin-client';
import { EXIT, parseCommandArgs, UsageError, type Command } from './command';
import type { ShadowReport } from '../runtime/shadow-results';

interface DiffJson extends ShadowReport { route: string; to: string }

export const command: Command = {
  name: 'diff',
  usage: `Usage: strangler diff ROUTE [--json] [--reset] [--manifest FILE] [--admin ADDR]

Asks the running gateway (strangler serve) what the shadow copies of ROUTE found: a route with
\`shadow:\` in the manifest is served as usual, and a copy of each eligible request goes to the
other side (legacy or the function); the two answers are compared by status, meaningful
headers, and body (JSON structurally, by path; other bodies by length and sha256).

Prints the counts (compared, equal, different, errors, skipped by reason), then the paths that
differed, the worst first, each with its count and one example pair (legacy, then function),
then the paths where legacy differs from itself (learned noise, left out of the verdict). With
--workers, the counts are summed over the workers.

      --json           print the admin API's JSON instead
      --reset          forget the results so far (DELETE /routes/ROUTE/shadow), then print them
${CLIENT_USAGE}

Examples:
  strangler diff report
  strangler diff report --json | jq '.differences[0]'

Exit codes: 0 ok, 1 the route has no shadow or the gateway is unreachable, 2 usage error.
`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, { ...CLIENT_OPTIONS, json: { type: 'boolean' }, reset: { type: 'boolean' } });
    if (positionals.length !== 1) throw new UsageError('expected ROUTE');
    const target = resolveAdmin(values as { manifest?: string; admin?: string });
    const res = await adminRequest(target, values.reset ? 'DELETE' : 'GET', `/routes/${encodeURIComponent(positionals[0])}/shadow`);
    process.stdout.write(values.json ? JSON.stringify(res.body, null, 2) + '\n' : renderDiff(res.body as unknown as DiffJson) + '\n');
    return EXIT.OK;
  },
};

const example = (v: unknown) => (v === null ? '(absent)' : typeof v === 'string' ? v : JSON.stringify(v));

export function renderDiff(r: DiffJson): string {
  const ratio = r.match_ratio === null ? '-' : `${(100 * r.match_ratio).toFixed(1)}%`;
  const skipped = Object.entries(r.skipped).map(([k, v]) => `${k} ${v}`).join(', ');
  const out = [
    `route ${r.route} (${r.to}) against legacy: ${r.compared} compared, ${r.equal} equal, ${r.different} different (match ${ratio}), ${r.errors} errors`,
    `skipped: ${skipped || 'none'}`,
  ];
  if (Object.keys(r.error_kinds).length) out.push(`copy errors: ${Object.entries(r.error_kinds).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  if (r.differences.length) {
    out.push('', 'differences (worst first):');
    const width = Math.max(...r.differences.map((d) => d.path.length));
    for (const d of r.differences) {
      out.push(`  ${d.path.padEnd(width)}  ${String(d.count).padStart(6)}x   legacy: ${example(d.example.legacy)}`);
      out.push(`  ${''.padEnd(width)}  ${''.padStart(6)}    function: ${example(d.example.function)}`);
    }
    if (r.paths_dropped) out.push(`  … and ${r.paths_dropped} more differences at paths beyond the first ${r.differences.length}`);
  } else if (r.compared) out.push('', 'no differences');
  if (r.noise.length) {
    out.push('', 'noise (legacy differs from itself here; left out of the verdict):');
    for (const n of r.noise) out.push(`  ${n.path}  ${n.count}x`);
  }
  return out.join('\n');
}
