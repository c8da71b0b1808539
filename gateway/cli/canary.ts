// `strangler canary ROUTE PERCENT`: send a share of a route to its function at runtime.
import { adminRequest, changeFooter, CLIENT_OPTIONS, CLIENT_USAGE, describeChange, parsePercentArg, resolveAdmin, type RouteJson } from './admin-client';
import { EXIT, parseCommandArgs, UsageError, type Command } from './command';

export const command: Command = {
  name: 'canary',
  usage: `Usage: strangler canary ROUTE PERCENT [--manifest FILE] [--admin ADDR]

Sets the share of ROUTE's requests the running gateway (strangler serve) sends to the route's
\`to\`; the rest goes to legacy. Requests keep their side while the percent stays the same
(the route's sticky key decides). Takes effect on the gateway from the next request and on every
nginx host that runs \`strangler agent\` within about a second; survives restarts (state file)
and is recorded in the audit log.

  PERCENT    0..100 with at most two decimals, "%" optional (25, 12.5, 0.5%);
             "manifest" drops the runtime override and goes back to the manifest's percent

${CLIENT_USAGE}

Examples:
  strangler canary images 25
  strangler canary images 2.5%
  strangler canary images manifest

Exit codes: 0 changed, 1 refused or the gateway is unreachable, 2 usage error.
`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, CLIENT_OPTIONS);
    if (positionals.length !== 2) throw new UsageError('expected ROUTE and PERCENT');
    const [route, text] = positionals;
    const percent = parsePercentArg(text);
    if (percent === undefined) throw new UsageError(`PERCENT must be 0..100 with at most two decimals (or "manifest"), got ${JSON.stringify(text)}`);
    const target = resolveAdmin(values as { manifest?: string; admin?: string });
    const res = await adminRequest(target, 'PATCH', `/routes/${encodeURIComponent(route)}`, { percent });
    process.stdout.write(`${describeChange(res.body as unknown as RouteJson)}\n${changeFooter(res.body.state_version)}\n`);
    return EXIT.OK;
  },
};
