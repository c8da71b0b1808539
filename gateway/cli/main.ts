// `strangler` entry point: dispatches to one module per command, loaded on demand so that
// `strangler --help`, `validate` and `compile` do not pay for the gateway's dependencies.
import { EXIT, UsageError, type Command } from './command';
import { VERSION } from '../version';

/** Each command's one line for `strangler --help` lives here, so that the list loads no command.
 * bin/strangler starts validate, compile and report without NODE_EXTRA_CA_CERTS (they open no TLS
 * connection): a command that comes to open one leaves that list.
 */
const COMMANDS: Record<string, { summary: string; load: () => Command }> = {
  validate: { summary: 'check a manifest: schema, then semantic checks; every error with its path and line', load: () => require('./validate').command },
  compile: { summary: 'turn the manifest into a tuned nginx.conf (or a conf.d snippet)', load: () => require('./compile').command },
  apply: { summary: 'compile, diff, nginx -t, swap in atomically and reload; roll back on any failure', load: () => require('./apply').command },
  serve: { summary: 'run the Node gateway and its admin API (runtime flips, reload on change)', load: () => require('./serve').command },
  agent: { summary: 'keep an nginx on the manifest and the runtime flips/canaries (run one beside each nginx)', load: () => require('./agent').command },
  flip: { summary: 'send all of one or more routes (or --all) to their function, or back to legacy, in one change', load: () => require('./flip').command },
  canary: { summary: 'send a percentage of a route to its function on the running gateway', load: () => require('./canary').command },
  status: { summary: 'show each route of the running gateway: target, percent, requests, error rate', load: () => require('./status').command },
  rollout: { summary: 'start, pause, resume, abort or show a route\'s progressive rollout on the running gateway', load: () => require('./rollout').command },
  diff: { summary: 'show how a shadowed route\'s function answers differ from legacy\'s', load: () => require('./diff').command },
  report: { summary: 'migration report from the access logs: function share, per route, the backlog to move next', load: () => require('./report').command },
  demo: { summary: 'run the whole strangler fig locally: fixtures, Node gateway, nginx (what `npm start` runs)', load: () => require('./demo').command },
};

function loadCommand(name: string): Command | null {
  const entry = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!entry) return null;
  try {
    return entry.load();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return null;
    throw err;
  }
}

function help(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return [
    `strangler ${VERSION}: move a monolith onto functions route by route, with nginx or the Node gateway in front`,
    '',
    'Usage: strangler <command> [options]   (strangler <command> --help for details)',
    '',
    'Commands:',
    ...lines,
    '',
    'The manifest defaults to routes/routes.yaml. Exit codes: 0 ok, 1 failed or invalid, 2 usage error.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help() + '\n');
    return name ? EXIT.OK : EXIT.USAGE;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(VERSION + '\n');
    return EXIT.OK;
  }
  const command = loadCommand(name);
  if (!command) {
    process.stderr.write(`strangler: unknown command ${JSON.stringify(name)}\n\n${help()}\n`);
    return EXIT.USAGE;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(command.usage.trimEnd() + '\n');
    return EXIT.OK;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`strangler ${name}: ${err.message}\n\n${command.usage.trimEnd()}\n`);
      return EXIT.USAGE;
    }
    process.stderr.write(`strangler ${name}: ${(err as Error).message}\n`);
    return EXIT.FAIL;
  }
}
