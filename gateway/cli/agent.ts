// `strangler agent`: keep one nginx on the manifest compiled with the runtime percentages.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DEFAULT_HEARTBEAT_MS, startAgent } from '../nginx/agent';
import { findNginx } from '../nginx/nginx-process';
import { besideManifest } from '../runtime/admin-token';
import { openStateTarget, StateSpecError } from '../runtime/open-state-backend';
import { StateFileError } from '../runtime/state-store';
import { resolveStateTarget, StateTargetError } from '../runtime/state-target';
import { EXIT, parseCommandArgs, UsageError, type Command } from './command';
import { DEFAULT_MANIFEST, loadManifestOrReport, manifestPath } from './manifest-arg';
import { untilStopped } from './until-stopped';

export const command: Command = {
  name: 'agent',
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
  --state SPEC    the runtime state the gateway writes, resolved as \`strangler serve\` does
                  (--state, STRANGLER_REDIS_URL, gateway.state, <manifest>.state.json): a state
                  file (host reports go beside it, in <state file>.hosts/) or redis://[user@]HOST:PORT[/DB]
                  shared by the gateways (password from REDIS_PASSWORD; host reports in the
                  strangler:nginx-hosts hash; the last state followed is kept in PATH.state.json,
                  so an agent started while Redis is down keeps nginx on it)
  --nginx BIN     nginx binary (default: NGINX_BIN, PATH, /usr/sbin/nginx)
  --prefix DIR    nginx -p prefix (default: the directory of PATH)

The state file is re-read when it changes and every second (file watches can miss events); a
Redis state is pushed on each change and read back every second. While the state cannot be read,
nginx keeps the last config applied, and the report is published again once the store is back.
Every ${DEFAULT_HEARTBEAT_MS / 1000} s the agent rewrites its report and retries a change that did not take.
SIGHUP syncs at once; SIGINT or SIGTERM stops the agent (nginx keeps running).

Examples:
  strangler agent --conf /srv/strangler/nginx.conf
  strangler agent routes/routes.yaml --conf /srv/strangler/nginx.conf --state /var/lib/strangler/state.json
  strangler agent --conf /srv/strangler/nginx.conf --state redis://redis.internal:6379/0

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
    const table = loadManifestOrReport(file);
    if (!table) {
      process.stderr.write(`strangler agent: ${file} is invalid, not starting\n`);
      return EXIT.FAIL;
    }
    const conf = resolve(v.conf);
    const prefix = v.prefix ? resolve(v.prefix) : dirname(conf);
    mkdirSync(`${prefix}/logs`, { recursive: true });
    const stamp = (line: string) => `${new Date().toISOString()} ${line}\n`;
    const log = { info: (l: string) => process.stdout.write(stamp(l)), error: (l: string) => process.stderr.write(stamp(l)) };

    let backend;
    try {
      // The state serve would use: --state, STRANGLER_REDIS_URL, gateway.state, the file beside the manifest.
      const target = resolveStateTarget({ flag: v.state, manifest: table.gateway.state, manifestDir: dirname(file), defaultFile: besideManifest(file, 'state.json') });
      backend = await openStateTarget(target, {
        snapshotFile: `${conf}.state.json`, log,
        onError: (err) => log.error(`state: ${err.message}; following the last good state`),
      });
    } catch (err) {
      if (err instanceof StateSpecError || err instanceof StateFileError || err instanceof StateTargetError) {
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
