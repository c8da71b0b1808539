// `strangler flip ROUTE function|legacy`: move all of a route's traffic in one step.
import { adminRequest, CLIENT_OPTIONS, CLIENT_USAGE, describeChange, resolveAdmin, type RouteJson } from './admin-client';
import { EXIT, parseCommandArgs, UsageError, type Command } from './command';

const TARGETS: Record<string, number | null> = { function: 100, legacy: 0, manifest: null };

export const command: Command = {
  name: 'flip',
  summary: 'send all of a route to its function, or all back to legacy, on the running gateway',
  usage: `Usage: strangler flip ROUTE function|legacy|manifest [--manifest FILE] [--admin ADDR]

Moves ROUTE's traffic on the running gateway (strangler serve), from the next request on,
without a restart. The change is kept in the gateway's state file, so it survives restarts,
and is recorded in its audit log.

  function   100%: every request goes to the route's \`to\`
  legacy     0%: every request goes to the legacy monolith
  manifest   drop the runtime override: back to the manifest's canary percent

${CLIENT_USAGE}

Examples:
  strangler flip images function
  strangler flip track legacy --manifest routes/routes.yaml
  strangler flip images manifest --admin 127.0.0.1:8091

Exit codes: 0 changed, 1 refused or the gateway is unreachable, 2 usage error.
`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, CLIENT_OPTIONS);
    if (positionals.length !== 2) throw new UsageError('expected ROUTE and one of function, legacy, manifest');
    const [route, where] = positionals;
    if (!(where in TARGETS)) throw new UsageError(`expected function, legacy or manifest, got ${JSON.stringify(where)}`);
    const target = resolveAdmin(values as { manifest?: string; admin?: string });
    const res = await adminRequest(target, 'PATCH', `/routes/${encodeURIComponent(route)}`, { percent: TARGETS[where] });
    process.stdout.write(describeChange(res.body as unknown as RouteJson) + '\n');
    return EXIT.OK;
  },
};
