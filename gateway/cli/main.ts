// `strangler` entry point: dispatches to one module per command, loaded on demand so that
// `strangler validate` does not pay for the gateway's dependencies.
import { EXIT, UsageError, type Command } from './command';
import { VERSION } from '../version';

const COMMANDS: Record<string, () => Command> = {
  validate: () => require('./validate').command,
  compile: () => require('./compile').command,
  apply: () => require('./apply').command,
  serve: () => require('./serve').command,
  agent: () => require('./agent').command,
  flip: () => require('./flip').command,
  canary: () => require('./canary').command,
  rollout: () => require('./rollout').command,
  status: () => require('./status').command,
  diff: () => require('./diff').command,
  report: () => require('./report').command,
  demo: () => require('./demo').command,
};

function loadCommand(name: string): Command | null {
  const load = COMMANDS[name];
  if (!load) return null;
  try {
    return load();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return null;
    throw err;
  }
}

function help(): string {
  const lines = Object.keys(COMMANDS)
    .map((name) => loadCommand(name))
    .filter((c): c is Command => c !== null)
    .map((c) => `  ${c.name.padEnd(10)} ${c.summary}`);
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
