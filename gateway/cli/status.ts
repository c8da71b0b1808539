// `strangler status`: what the running gateway does with each route right now.
import { adminRequest, CLIENT_OPTIONS, CLIENT_USAGE, resolveAdmin, type RouteJson } from './admin-client';
import { EXIT, parseCommandArgs, UsageError, type Command } from './command';
import { matchText, type Match } from '../manifest/route-table';

interface StatusRoute extends RouteJson {
  match: Match;
  editable: boolean;
  stats: { requests: number; errors: number; fallbacks: number; by_target?: Record<string, { requests: number; errors: number }> };
}

export const command: Command = {
  name: 'status',
  summary: 'show each route of the running gateway: target, percent, requests, error rate',
  usage: `Usage: strangler status [--json] [--manifest FILE] [--admin ADDR]

Asks the running gateway (strangler serve) for every route: its match, its target, the
manifest's percent and the effective one (a * marks a runtime override from flip/canary),
and the requests counted since the gateway started: in all, served by the route's target
(TO), served by legacy (LEGACY: the canary's legacy share, other methods, fallbacks), the
error rate (5xx) and the fallbacks to legacy.
"default" is the unmatched traffic, always served by legacy.

      --json           print the admin API's JSON instead of a table
${CLIENT_USAGE}

Examples:
  strangler status
  strangler status --admin 127.0.0.1:8091 --json

Exit codes: 0 ok, 1 the gateway is unreachable or refused the token, 2 usage error.
`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, { ...CLIENT_OPTIONS, json: { type: 'boolean' } });
    if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    const target = resolveAdmin(values as { manifest?: string; admin?: string });
    const res = await adminRequest(target, 'GET', '/routes');
    if (values.json) {
      process.stdout.write(JSON.stringify(res.body, null, 2) + '\n');
      return EXIT.OK;
    }
    process.stdout.write(`gateway ${target.url}, manifest sha256 ${String(res.body.manifest_sha256).slice(0, 12)}\n\n`);
    process.stdout.write(renderTable(res.body.routes as StatusRoute[]) + '\n');
    return EXIT.OK;
  },
};

/** Requests served by the route's `to` and by legacy (after a fallback too). */
function sideCounts(r: StatusRoute): { to: number; legacy: number } {
  const byTarget = r.stats.by_target ?? {};
  const legacy = byTarget.legacy?.requests ?? 0;
  return { legacy, to: Object.values(byTarget).reduce((a, b) => a + b.requests, 0) - legacy };
}


export function renderTable(routes: readonly StatusRoute[]): string {
  const rows = routes.map((r) => [
    r.id,
    matchText(r.match),
    r.to,
    r.editable ? `${r.manifest_percent}%` : '-',
    r.editable ? `${r.effective_percent}%${r.override ? '*' : ''}` : '-',
    String(r.stats.requests),
    r.to === 'legacy' ? '-' : String(sideCounts(r).to),
    String(sideCounts(r).legacy),
    r.stats.requests ? `${((100 * r.stats.errors) / r.stats.requests).toFixed(1)}%` : '-',
    String(r.stats.fallbacks),
  ]);
  const header = ['ROUTE', 'MATCH', 'TARGET', 'MANIFEST', 'EFFECTIVE', 'REQUESTS', 'TO', 'LEGACY', 'ERRORS', 'FALLBACKS'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const numeric = new Set([3, 4, 5, 6, 7, 8, 9]);
  const line = (cells: string[]) => cells.map((c, i) => (numeric.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  const out = [line(header), ...rows.map(line)];
  if (routes.some((r) => r.override)) out.push('', '* runtime override (strangler flip/canary); `strangler flip ROUTE manifest` drops it');
  return out.join('\n');
}
