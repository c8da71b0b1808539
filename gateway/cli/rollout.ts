// `strangler rollout ROUTE start|pause|resume|abort|status`: drive a route's progressive rollout
// (canary.rollout in the manifest) on the running gateway, or show where it stands.
import { adminRequest, CLIENT_OPTIONS, CLIENT_USAGE, resolveAdmin } from './admin-client';
import { EXIT, parseCommandArgs, UsageError, type Command } from './command';
import { ROLLOUT_ACTIONS } from '../runtime/rollout-record';

const VERBS = [...ROLLOUT_ACTIONS, 'status'] as const;

export const command: Command = {
  name: 'rollout',
  usage: `Usage: strangler rollout ROUTE start|pause|resume|abort|status [--json] [--manifest FILE] [--admin ADDR]

Drives ROUTE's progressive rollout (canary.rollout in the manifest) on the running gateway
(strangler serve). Started, the gateway moves the route through the rollout's steps: each
interval, with at least min_requests on the function side and every check passing against
legacy in the same window, it takes the next step; after the last it is promoted. A failing
check sets the percent to 0 at once (rolled_back) until the rollout is started again; too few
requests hold the step. Every action and decision is in the audit log.

  start    begin at the first step (also after promoted, rolled_back or aborted)
  pause    stay at the current percent; no decisions until resumed
  resume   continue a paused rollout with a fresh window at the same step
  abort    stop and send the route back to 0%
  status   the state, percent, step, reason and the decisions so far

${CLIENT_USAGE.replace('Options:\n', 'Options:\n      --json           print the rollout as the admin API answers it (GET /routes/ROUTE/rollout)\n')}

Examples:
  strangler rollout images start
  strangler rollout images status
  strangler rollout images abort

Exit codes: 0 done, 1 refused (e.g. resume while not paused) or the gateway is unreachable, 2 usage error.
`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, { ...CLIENT_OPTIONS, json: { type: 'boolean' } });
    if (positionals.length !== 2) throw new UsageError('expected ROUTE and one of start, pause, resume, abort, status');
    const [route, verb] = positionals;
    if (!(VERBS as readonly string[]).includes(verb)) throw new UsageError(`unknown action ${JSON.stringify(verb)}: expected one of ${VERBS.join(', ')}`);
    const target = resolveAdmin(values as { manifest?: string; admin?: string });
    const path = `/routes/${encodeURIComponent(route)}/rollout`;
    const res = verb === 'status' ? await adminRequest(target, 'GET', path) : await adminRequest(target, 'POST', path, { action: verb });
    process.stdout.write(values.json ? `${JSON.stringify(res.body, null, 2)}\n` : renderRollout(res.body as unknown as RolloutJson));
    return EXIT.OK;
  },
};

export interface RolloutJson {
  route: string;
  state: string;
  percent: number;
  step: number;
  steps: number[];
  reason: string;
  decide_at: string | null;
  history: { time: string; result: string; percent: number; reason: string; by: string }[];
}

/** The rollout for a person: where it stands, then the decisions, newest last. */
export function renderRollout(r: RolloutJson): string {
  const lines = [`${r.route}: ${r.state} at ${r.percent}%${r.step > 0 ? ` (step ${r.step} of ${r.steps.length}: ${r.steps.join(' → ')})` : ` (steps ${r.steps.join(' → ')})`}`];
  if (r.reason) lines.push(`  ${r.reason}`);
  if (r.decide_at) lines.push(`  next decision at ${r.decide_at}`);
  if (r.history.length) {
    lines.push('history:');
    for (const d of r.history.slice(-20)) lines.push(`  ${d.time}  ${d.result.padEnd(11)} ${String(d.percent).padStart(5)}%  ${d.reason}  (${d.by})`);
  }
  return lines.join('\n') + '\n';
}
