// `strangler status`: what the running gateway does with each route right now.
import { adminRequest, askOtherInstances, clientUsage, CLIENT_OPTIONS, listInstances, resolveAdmin, summedOver, type RouteJson } from './admin-client';
import { EXIT, parseCommandArgs, UsageError, type Command } from './command';
import { matchText, type Match } from '../manifest/route-table';
import type { InstanceView } from '../runtime/admin-api';
import { renderRollout, type RolloutJson } from './rollout';

/** An instance not heard from for this long is flagged: it may be gone, or cut off from the state. */
export const SILENT_AFTER_MS = 5000;

export interface StatusRoute extends RouteJson {
  /** A rolled-out route's rollout, as GET /routes/:id/rollout shows it. */
  rollout?: Omit<RolloutJson, 'route'>;
  match: Match;
  editable: boolean;
  stats: { requests: number; errors: number; fallbacks: number; by_target?: Record<string, { requests: number; errors: number }> };
}

export const command: Command = {
  name: 'status',
  usage: `Usage: strangler status [--json] [--all] [--manifest FILE] [--admin ADDR]

Asks the running gateway (strangler serve) for every route: its match, its target, the
manifest's percent and the effective one (a * marks a runtime override from flip/canary/rollout),
and the requests counted since the gateway started: in all, served by the route's target
(TO), served by legacy (LEGACY: the canary's legacy share, other methods, fallbacks), the
error rate (5xx) and the fallbacks to legacy.
"default" is the unmatched traffic, always served by legacy. Routes with a progressive rollout
are listed below the table with its state, percent, step and reason.

Then every gateway instance sharing the state (several with --state redis://…): its admin
and traffic addresses, the state version it serves and when it was last seen. An instance
behind the newest version is flagged "lagging", one silent for ${SILENT_AFTER_MS / 1000} s "not seen". Counters are
the asked instance's own; with --all they are summed over every instance that answers (each
is asked on its admin address, with the same token).

Below them, the nginx hosts that \`strangler agent\` keeps up to date: the state version
each serves, and which lag behind the gateway's version or failed to apply a change (the
previous config keeps serving there), with the reason.

${clientUsage('      --json           print the admin API\'s JSON instead of a table\n      --all            sum the counters over every instance sharing the state\n')}

Examples:
  strangler status
  strangler status --admin 127.0.0.1:8091 --json

Exit codes: 0 ok, 1 the gateway is unreachable, not a strangler admin API or refused the token,
2 usage error.
`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, { ...CLIENT_OPTIONS, json: { type: 'boolean' }, all: { type: 'boolean' } });
    if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    const target = resolveAdmin(values as { manifest?: string; admin?: string });
    const res = await adminRequest(target, 'GET', '/routes');
    // An older gateway has no /instances; Redis unreachable answers 503: the routes still show.
    const { instances, error: instancesError } = await listInstances(target);
    let summed = '';
    if (values.all && instances) {
      const others = await askOtherInstances(target, instances, 'GET', '/routes');
      res.body.routes = sumStats(res.body.routes as StatusRoute[], others.answers.map((a) => a.body.routes as StatusRoute[]));
      summed = summedOver('counters', others.answers.length + 1, others.unanswered.length);
    }
    if (values.json) {
      process.stdout.write(JSON.stringify({ ...res.body, instances, ...(summed ? { summed } : {}) }, null, 2) + '\n');
      return EXIT.OK;
    }
    const routes = res.body.routes;
    if (!Array.isArray(routes) || !routes.every(isStatusRoute)) {
      throw new Error(`${target.url}/routes did not answer with the routes this strangler version expects (a different version?); try --json to see the answer`);
    }
    const version = typeof res.body.state_version === 'number' ? `, state version ${res.body.state_version}` : '';
    process.stdout.write(`gateway ${target.url}, manifest sha256 ${String(res.body.manifest_sha256).slice(0, 12)}${version}\n\n`);
    process.stdout.write(renderTable(routes) + '\n');
    if (summed) process.stdout.write(`(${summed})\n`);
    const rollouts = routes.filter((r) => r.rollout !== undefined);
    if (rollouts.length) {
      process.stdout.write('\nrollouts (strangler rollout ROUTE status for the decisions):\n');
      for (const r of rollouts) process.stdout.write(renderRollout({ ...r.rollout!, route: r.id, history: [] }).replace(/^/gm, '  ').trimEnd() + '\n');
    }
    process.stdout.write('\n' + (instances ? renderInstances(instances, Date.now()) : `instances: unknown (${instancesError})`) + '\n');
    const hosts = Array.isArray(res.body.nginx_hosts) ? (res.body.nginx_hosts as unknown[]).filter(isHost) : [];
    process.stdout.write('\n' + renderHosts(hosts, typeof res.body.state_version === 'number' ? res.body.state_version : null) + '\n');
    return EXIT.OK;
  },
};

interface StatusHost {
  host: string;
  state_version: number;
  manifest_sha256: string;
  lagging?: boolean;
  silent_s?: number | null;
  failure: { state_version: number; at: string; message: string } | null;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function isStatusRoute(r: unknown): r is StatusRoute {
  return isObj(r) && typeof r.id === 'string' && isObj(r.match) && typeof r.to === 'string' && typeof r.manifest_percent === 'number' &&
    typeof r.effective_percent === 'number' && isObj(r.stats) && typeof r.stats.requests === 'number' &&
    typeof r.stats.errors === 'number' && typeof r.stats.fallbacks === 'number';
}

function isHost(h: unknown): h is StatusHost {
  return isObj(h) && typeof h.host === 'string' && typeof h.state_version === 'number' && (h.failure === null || isObj(h.failure));
}

/** A host silent for this long has probably lost its agent. */
const SILENT_AFTER_S = 30;

export function renderHosts(hosts: readonly StatusHost[], stateVersion: number | null): string {
  if (!hosts.length) return 'nginx hosts: none report (run `strangler agent --conf PATH` beside each nginx to have it follow flips and canaries)';
  const rows = hosts.map((h) => {
    const problems: string[] = [];
    if (h.failure) problems.push(`FAILED to apply version ${h.failure.state_version} at ${h.failure.at}: ${h.failure.message}`);
    if (stateVersion !== null && h.state_version < stateVersion) problems.push(`LAGGING ${stateVersion - h.state_version} behind`);
    if (typeof h.silent_s === 'number' && h.silent_s > SILENT_AFTER_S) problems.push(`SILENT for ${h.silent_s} s (is its agent running?)`);
    return [h.host, h.state_version < 0 ? 'none' : String(h.state_version), String(h.manifest_sha256 ?? '').slice(0, 12) || '-', problems.length ? problems.join('; ') : 'ok'];
  });
  const header = ['NGINX HOST', 'VERSION', 'MANIFEST', 'STATUS'];
  const widths = header.map((x, i) => Math.max(x.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

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

/** One line per instance; flags those behind the newest version (GET /instances' lag) or silent. */
export function renderInstances(instances: readonly InstanceView[], now: number): string {
  const rows = instances.map((i) => {
    const age = now - Date.parse(i.last_seen);
    const flags = [
      i.lag > 0 ? `lagging (${i.lag} behind)` : '',
      age > SILENT_AFTER_MS ? `not seen for ${Math.round(age / 1000)} s` : '',
      i.available ? '' : 'store unreachable',
    ].filter(Boolean).join(', ');
    return [i.id, i.admin, i.listen, String(i.state_version), `${Math.max(0, Math.round(age / 100) / 10)} s ago`, flags || 'ok'];
  });
  const header = ['INSTANCE', 'ADMIN', 'TRAFFIC', 'VERSION', 'LAST SEEN', 'STATUS'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 3 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [`${instances.length} instance${instances.length === 1 ? '' : 's'} sharing the state:`, line(header), ...rows.map(line)].join('\n');
}

/** The asked instance's routes with each route's counters summed over the other instances' answers. */
export function sumStats(mine: readonly StatusRoute[], others: readonly (readonly StatusRoute[])[]): StatusRoute[] {
  return mine.map((r) => {
    const stats = { ...r.stats };
    for (const routes of others) {
      const o = routes.find((x) => x.id === r.id);
      if (!o) continue;
      stats.requests += o.stats.requests;
      stats.errors += o.stats.errors;
      stats.fallbacks += o.stats.fallbacks;
      // The TO and LEGACY columns (and --json's by_target) add up too.
      const byTarget = { ...stats.by_target };
      for (const [t, s] of Object.entries(o.stats.by_target ?? {})) {
        const x = byTarget[t] ?? { requests: 0, errors: 0 };
        byTarget[t] = { requests: x.requests + s.requests, errors: x.errors + s.errors };
      }
      stats.by_target = byTarget;
    }
    return { ...r, stats };
  });
}
