// `strangler flip ROUTE… function|legacy|manifest` and `strangler flip --all …`: move all of
// one or more routes' traffic in one step. Several routes (or --all) are one change: one state
// version and one audit entry, applied by every gateway and nginx host together (the kill switch).
import { adminRequest, changeFooter, clientUsage, CLIENT_OPTIONS, describeChange, resolveAdmin, type RouteJson } from './admin-client';
import { EXIT, parseCommandArgs, UsageError, type Command } from './command';
import { didYouMean } from '../util/did-you-mean';

const TARGETS: Record<string, number | null> = { function: 100, legacy: 0, manifest: null };

export const command: Command = {
  name: 'flip',
  usage: `Usage: strangler flip ROUTE... function|legacy|manifest [--manifest FILE] [--admin ADDR]
       strangler flip --all function|legacy|manifest [--manifest FILE] [--admin ADDR]

Moves the traffic of each ROUTE (or of every route, with --all) on the running gateway (strangler
serve), from the next request on, without a restart. Several routes are ONE change: one state
version and one audit entry, which every gateway and every nginx host (strangler agent) applies
as a whole; \`strangler flip --all legacy\` is the kill switch. The change is kept in the gateway's
state, so it survives restarts.

  function   100%: every request goes to the route's \`to\`
  legacy     0%: every request goes to the legacy monolith
  manifest   drop the runtime override: back to the manifest's canary percent

${clientUsage('      --all            every route of the manifest\n')}

Examples:
  strangler flip images function
  strangler flip track images legacy
  strangler flip --all legacy                 # kill switch: everything back to the monolith
  strangler flip --all manifest               # and back to the manifest's percentages

Exit codes: 0 changed, 1 refused or the gateway is unreachable, 2 usage error.
`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, { ...CLIENT_OPTIONS, all: { type: 'boolean' } });
    const where = positionals[positionals.length - 1];
    const routes = positionals.slice(0, -1);
    if (where === undefined) throw new UsageError('expected ROUTE... (or --all) and one of function, legacy, manifest');
    if (!(where in TARGETS)) {
      throw new UsageError(`the last argument must be function, legacy or manifest, got ${JSON.stringify(where)}${didYouMean(where, Object.keys(TARGETS))}`);
    }
    if (values.all && routes.length) throw new UsageError('--all and route names are exclusive');
    if (!values.all && !routes.length) throw new UsageError('expected at least one ROUTE, or --all');
    const percent = TARGETS[where];
    const target = resolveAdmin(values as { manifest?: string; admin?: string });
    if (routes.length === 1) {
      const res = await adminRequest(target, 'PATCH', `/routes/${encodeURIComponent(routes[0])}`, { percent });
      process.stdout.write(`${describeChange(res.body as unknown as RouteJson)}\n${changeFooter(res.body.state_version)}\n`);
      return EXIT.OK;
    }
    const body = values.all ? { all: percent } : { routes: Object.fromEntries(routes.map((r) => [r, percent])) };
    const res = await adminRequest(target, 'PATCH', '/routes', body);
    // The answer: `changes` ({id: {old, new}}) and every route; describe the changed ones.
    const changes = (res.body.changes ?? {}) as Record<string, { old: number; new: number }>;
    const changed = (Array.isArray(res.body.routes) ? (res.body.routes as RouteJson[]) : [])
      .filter((r) => r.id in changes).map((r) => ({ ...r, previous_percent: changes[r.id].old }));
    process.stdout.write(changed.map((r) => describeChange(r) + '\n').join('') + `${changed.length} routes in one change; ${changeFooter(res.body.state_version)}\n`);
    return EXIT.OK;
  },
};
