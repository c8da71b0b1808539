// `strangler diff ROUTE`: what the running gateway's shadow copies of ROUTE found, for a person.
import { adminRequest, askOtherInstances, CLIENT_OPTIONS, CLIENT_USAGE, listInstances, resolveAdmin, summedOver, type AdminTarget } from './admin-client';
import { EXIT, parseCommandArgs, UsageError, type Command } from './command';
import { sumShadowReports, type ShadowReport } from '../runtime/shadow-report';

interface DiffJson extends ShadowReport { route: string; to: string; summed?: string }

export const command: Command = {
  name: 'diff',
  usage: `Usage: strangler diff ROUTE [--json] [--reset] [--local] [--manifest FILE] [--admin ADDR]

Asks the running gateway (strangler serve) what the shadow copies of ROUTE found: a route with
\`shadow:\` in the manifest is served as usual, and a copy of each eligible request goes to the
other side (legacy or the function); the two answers are compared by status, meaningful
headers, and body (JSON structurally, by path; other bodies by length and sha256).

Prints the counts (compared, equal, different, errors, skipped by reason), then the paths that
differed, the worst first, each with its count and one example pair (legacy, then function),
then the paths where legacy differs from itself (learned noise, left out of the verdict).

The results are summed over every gateway instance sharing the state (serve --state
redis://…, as GET /instances lists them; each is asked on its admin address with the same
token) and, within an instance, over its --workers. Instances that do not answer are named
on stderr and counted in the summary line; the rest are still summed.

      --json           print the admin API's JSON instead (summed, with "summed" saying over what)
      --reset          forget the results so far (DELETE /routes/ROUTE/shadow) on every
                       instance, then print them
      --local          the asked instance only: no other instance is asked or reset
${CLIENT_USAGE}

Examples:
  strangler diff report
  strangler diff report --json | jq '.differences[0]'

Exit codes: 0 ok, 1 the route has no shadow or the gateway is unreachable, 2 usage error.
`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, { ...CLIENT_OPTIONS, json: { type: 'boolean' }, reset: { type: 'boolean' }, local: { type: 'boolean' } });
    if (positionals.length !== 1) throw new UsageError('expected ROUTE');
    const target = resolveAdmin(values as { manifest?: string; admin?: string });
    const method = values.reset ? 'DELETE' : 'GET';
    const path = `/routes/${encodeURIComponent(positionals[0])}/shadow`;
    // The asked instance first: a route without shadow, a wrong token or no gateway fails here, as one error.
    const mine = (await adminRequest(target, method, path)).body as unknown as DiffJson;
    const body = values.local ? mine : await summedOverInstances(target, method, path, mine);
    process.stdout.write(values.json ? JSON.stringify(body, null, 2) + '\n' : renderDiff(body) + '\n');
    return EXIT.OK;
  },
};

/** `mine` with the reports of the other instances sharing the state added; unchanged when there are none. */
async function summedOverInstances(target: AdminTarget, method: string, path: string, mine: DiffJson): Promise<DiffJson> {
  const { instances, error } = await listInstances(target);
  if (instances === null) {
    process.stderr.write(`strangler diff: cannot list the gateway instances (${error}): this instance's results only\n`);
    return mine;
  }
  const others = await askOtherInstances(target, instances, method, path);
  if (others.answers.length + others.unanswered.length === 0) return mine; // the only instance (a state file, or alone on Redis)
  const reports: ShadowReport[] = [mine];
  for (const a of others.answers) {
    if (isShadowReport(a.body)) reports.push(a.body);
    else others.unanswered.push({ admin: a.admin, reason: 'its answer is not a shadow report (another strangler version?)' });
  }
  for (const u of others.unanswered) process.stderr.write(`strangler diff: instance ${u.admin} did not answer: ${u.reason}\n`);
  return { ...mine, ...sumShadowReports(reports), summed: summedOver('results', reports.length, others.unanswered.length) };
}

function isShadowReport(b: Record<string, unknown>): b is Record<string, unknown> & ShadowReport {
  return ['compared', 'equal', 'different', 'errors', 'paths_dropped'].every((k) => typeof b[k] === 'number') &&
    Array.isArray(b.differences) && Array.isArray(b.noise) && typeof b.skipped === 'object' && typeof b.error_kinds === 'object';
}

const example = (v: unknown) => (v === null ? '(absent)' : typeof v === 'string' ? v : JSON.stringify(v));

export function renderDiff(r: DiffJson): string {
  const ratio = r.match_ratio === null ? '-' : `${(100 * r.match_ratio).toFixed(1)}%`;
  const skipped = Object.entries(r.skipped).map(([k, v]) => `${k} ${v}`).join(', ');
  const out = [
    `route ${r.route} (${r.to}) against legacy: ${r.compared} compared, ${r.equal} equal, ${r.different} different (match ${ratio}), ${r.errors} errors`,
    `skipped: ${skipped || 'none'}`,
  ];
  if (r.summed) out.push(`(${r.summed})`);
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
    out.push('', `noise (legacy differed from itself here, of ${r.noise_samples} samples; the function's differences no more frequent than that are left out of the verdict):`);
    for (const n of r.noise) out.push(`  ${n.path}  ${n.count}x, ${n.left_out} left out`);
  }
  return out.join('\n');
}
