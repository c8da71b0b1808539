// `strangler agent`: keep one nginx on the manifest compiled with the runtime percentages.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DEFAULT_HEARTBEAT_MS, startAgent } from '../nginx/agent';
import { findNginx } from '../nginx/nginx-process';
import { besideManifest } from '../runtime/admin-token';
import { openStateBackend, StateSpecError } from '../runtime/open-state-backend';
import { StateFileError } from '../runtime/state-store';
import { EXIT, parseCommandArgs, UsageError, type Command } from './command';
import { DEFAULT_MANIFEST, loadManifestOrReport, manifestPath } from './manifest-arg';
import { untilStopped } from './until-stopped';

export const command: Command = {
  name: 'agent',
  summary: 'keep an nginx on the manifest and the runtime flips/canaries (run one beside each nginx)',
  usage: `Usage: strangler agent [FILE] --conf PATH [--state FILE|redis://…] [--nginx BIN] [--prefix DIR]

Runs beside an nginx and keeps its config equal to the manifest FILE (default ${DEFAULT_MANIFEST})
compiled with the effective runtime percentages: on each \`strangler flip\`/\`canary\` (a new state
version) and each manifest edit it compiles, proves the candidate with \`nginx -t\`, swaps PATH
atomically, reloads nginx and waits until its new workers serve it. A config nginx refuses is not
applied: the last good one keeps serving and the failure is reported. Flips and canary changes of
static routes reach nginx within about a second, at full nginx speed.

Each host reports the state version it serves (and its last failure) where every gateway can read
it: \`strangler status\` lists the nginx hosts beside the routes and flags those that lag or failed.

Options:
  --conf PATH     the full nginx.conf nginx runs (nginx -p PREFIX -c PATH), as \`strangler
                  compile\` writes it (not a --snippet); required
  --state SPEC    the runtime state the gateway writes: its state file (default
                  <manifest>.state.json beside the manifest, as \`strangler serve\`), or redis://…
                  (host reports go beside the state file, in <state file>.hosts/)
  --nginx BIN     nginx binary (default: NGINX_BIN, PATH, /usr/sbin/nginx)
  --prefix DIR    nginx -p prefix (default: the directory of PATH)

The state file is re-read when it changes and every second (file watches can miss events).
Every ${DEFAULT_HEARTBEAT_MS / 1000} s the agent rewrites its report and retries a change that did not take.
SIGHUP syncs at once; SIGINT or SIGTERM stops the agent (nginx keeps running).

Examples:
  strangler agent --conf /srv/strangler/nginx.conf
  strangler agent routes/routes.yaml --conf /srv/strangler/nginx.conf --state /var/lib/strangler/state.json

Exit codes: 0 stopped by a signal, 1 invalid manifest or unusable state, 2 usage error.
`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      conf: { type: 'string' }, state: { type: 'string' }, nginx: { type: 'string' }, prefix: { type: 'string' },
    });
    const v = values as { conf?: string; state?: string; nginx?: string; prefix?: string };
    if (!v.conf) throw new UsageError('--conf PATH is required: the nginx.conf this agent keeps up to date');
    const file = manifestPath(positionals);
    if (!existsSync(file)) throw new UsageError(`no such file: ${file}`);
    const bin = findNginx(v.nginx);
    if (!bin) throw new UsageError('nginx not found: pass --nginx BIN or set NGINX_BIN');
    if (!loadManifestOrReport(file)) {
      process.stderr.write(`strangler agent: ${file} is invalid, not starting\n`);
      return EXIT.FAIL;
    }
    const conf = resolve(v.conf);
    const prefix = v.prefix ? resolve(v.prefix) : dirname(conf);
    mkdirSync(`${prefix}/logs`, { recursive: true });
    const stateSpec = v.state ?? besideManifest(file, 'state.json');
    const stamp = (line: string) => `${new Date().toISOString()} ${line}\n`;
    const log = { info: (l: string) => process.stdout.write(stamp(l)), error: (l: string) => process.stderr.write(stamp(l)) };

    let backend;
    try {
      backend = await openStateBackend(stateSpec, { onError: (err) => log.error(`state: ${err.message}; following the last good state`) });
    } catch (err) {
      if (err instanceof StateSpecError || err instanceof StateFileError) {
        process.stderr.write(`strangler agent: ${err.message}\n`);
        return EXIT.FAIL;
      }
      throw err;
    }
    process.stdout.write([
      `strangler agent: ${file} -> ${conf}`,
      `  nginx   ${bin} -p ${prefix} -c ${conf}`,
      `  state   ${backend.source.description} (version ${backend.source.current().version})`,
      '',
    ].join('\n'));
    const agent = await startAgent({ manifestPath: file, target: { bin, prefix, conf }, backend, log });
    process.stdout.write(`  host    ${agent.host}\nready\n`);
    return untilStopped({
      name: 'strangler agent',
      onHup: () => void agent.sync('SIGHUP'),
      async stop(signal) {
        log.info(`${signal}: stopping; nginx keeps serving state version ${agent.report()?.state_version ?? 'none'}`);
        await agent.close();
        await backend.source.close();
      },
    });
  },
};
