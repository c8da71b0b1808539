// `strangler demo`: the whole strangler fig on one machine, what `npm start` runs. The fixtures
// on the manifest's upstream ports, the Node gateway in-process, and nginx on the compiled
// manifest when it is installed. Every port it prints comes from the manifest. The fixtures
// (demo-fixtures.ts), nginx's supervision (demo-nginx.ts) and the banner (demo-banner.ts) live apart.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RouteTable } from '../manifest/route-table';
import { startAgent } from '../nginx/agent';
import { openFileBackend } from '../runtime/file-state-source';
import { TOKEN_ENV } from '../runtime/admin-token';
import { startGateway, type GatewayHandle, type ServeLog } from '../runtime/serve-gateway';
import { StateFileError } from '../runtime/state-store';
import { EXIT, parseCommandArgs, UsageError, type Command } from './command';
import { banner } from './demo-banner';
import { listenProblem, startFixtures, type StartedFixture } from './demo-fixtures';
import { startDemoNginx, type DemoNginx } from './demo-nginx';
import { DEFAULT_MANIFEST, loadManifestOrReport } from './manifest-arg';
import { untilStopped } from './until-stopped';

export { listenProblem };

/** Requests in flight get this long to finish when the demo stops. */
const DEMO_GRACE_MS = 3000;

export const command: Command = {
  name: 'demo',
  usage: `Usage: strangler demo [--manifest FILE] [--no-nginx]

Runs everything on this machine, on the ports the manifest (default ${DEFAULT_MANIFEST}) names:
  - the legacy monolith fixture on each upstreams.legacy server,
  - the OpenFaaS-compatible function-gateway fixture on each upstreams.functions server
    (and a monolith-like fixture on the servers of any other upstream),
  - the Node gateway on gateway.listen with its admin API on gateway.admin, in this process
    (runtime state and audit log in a temp directory, so every run starts from the manifest;
    the admin token is the file <manifest>.token beside the manifest, or $${TOKEN_ENV}),
  - nginx on the compiled manifest, unprivileged, in a temp prefix, on the manifest's listen
    port. Without nginx, or if it cannot start, the demo says so and goes on without it.
Then it prints the URLs and three commands to try.

Options:
  -m, --manifest FILE  the manifest (default ${DEFAULT_MANIFEST}); its upstream servers must be
                       addresses of this machine (127.0.0.1)
      --no-nginx       do not start nginx

Ctrl-C (SIGINT) or SIGTERM stops everything the demo started, nginx included, and exits 0.

Exit codes: 0 stopped by a signal, 1 invalid manifest or a port already in use, 2 usage error.
`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      manifest: { type: 'string', short: 'm' },
      'no-nginx': { type: 'boolean' },
    });
    if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])} (the manifest goes after --manifest)`);
    const v = values as { manifest?: string; 'no-nginx'?: boolean };
    const file = v.manifest ?? DEFAULT_MANIFEST;
    if (!existsSync(file)) {
      fail(`no such file: ${file}${v.manifest ? '' : ' (run it from the project directory, or pass --manifest FILE)'}`);
      return EXIT.FAIL;
    }
    const table = loadManifestOrReport(file);
    if (!table) {
      fail(`${file} is invalid, not starting`);
      return EXIT.FAIL;
    }
    if (!table.upstreams.get('functions')) {
      fail(`${file} has no upstreams.functions: the demo needs it for the function-gateway fixture`);
      return EXIT.FAIL;
    }
    return runDemo(file, table, v['no-nginx'] !== true);
  },
};

function fail(line: string): void {
  process.stderr.write(`strangler demo: ${line}\n`);
}

interface Running {
  what: string;
  stop(): Promise<void>;
}

async function runDemo(file: string, table: RouteTable, withNginx: boolean): Promise<number> {
  const started: Running[] = [];
  const stopAll = async () => {
    for (const s of started.splice(0).reverse()) {
      await s.stop().catch((err: Error) => fail(`stopping ${s.what}: ${err.message}`));
    }
  };
  const workDir = mkdtempSync(join(tmpdir(), 'strangler-demo-'));
  const removeWorkDir = () => rmSync(workDir, { recursive: true, force: true });
  process.on('exit', removeWorkDir); // also when the demo dies of an error
  started.push({ what: 'the temp directory', stop: async () => { removeWorkDir(); process.off('exit', removeWorkDir); } });
  // A closed stdout (piped into `head`) must not kill the demo before it has cleaned up.
  process.stdout.on('error', () => undefined);

  // 1. The upstreams: legacy first, then the function gateway, then any other named upstream.
  let fixtures: StartedFixture[];
  try {
    fixtures = await startFixtures(table, file);
  } catch (err) {
    fail((err as Error).message);
    await stopAll();
    return EXIT.FAIL;
  }
  for (const fx of fixtures) started.push({ what: fx.what, stop: () => fx.close() });

  // 2. The Node gateway, in this process.
  const say = (line: string) => process.stdout.write(line + '\n');
  const log: ServeLog = { info: (l) => say(`gateway: ${l}`), error: (l) => process.stderr.write(`gateway: ${l}\n`) };
  let gw: GatewayHandle;
  try {
    gw = await startGateway({ manifestPath: file, state: join(workDir, 'routes.state.json'), log });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
    if (err instanceof StateFileError) fail(err.message);
    else if (typeof e.port === 'number') {
      const admin = e.port === table.gateway.admin.port && e.port !== table.gateway.listen.port;
      const what = admin ? `the gateway's admin API, gateway.admin in ${file}` : `the Node gateway, gateway.listen in ${file}`;
      fail(listenProblem(err, e.address ?? (admin ? table.gateway.admin.host : table.gateway.listen.host), e.port, what));
    } else fail(`the Node gateway did not start: ${(err as Error).message.split('\n')[0]}`);
    await stopAll();
    return EXIT.FAIL;
  }
  started.push({ what: 'the Node gateway', stop: () => gw.close(DEMO_GRACE_MS) });

  // 3. nginx, when there is one; the demo goes on without it. The agent keeps it on the
  // manifest and the runtime state, as `strangler agent` does beside a production nginx.
  let nginx: DemoNginx | null = null;
  let nginxNote = 'not running (--no-nginx)';
  if (withNginx) {
    const result = await startDemoNginx(table, file);
    if (typeof result === 'string') {
      nginxNote = `not running: ${result}`;
      say(`nginx: ${result}; going on with the Node gateway alone`);
    } else {
      nginx = result;
      started.push({ what: 'nginx', stop: () => result.stop() });
      const backend = openFileBackend(gw.statePath);
      const agentLog = { info: (l: string) => say(`nginx agent: ${l}`), error: (l: string) => process.stderr.write(`nginx agent: ${l}\n`) };
      const agent = await startAgent({ manifestPath: file, target: result.target, backend, log: agentLog });
      started.push({ what: 'the nginx agent', stop: async () => { await agent.close(); await backend.source.close(); } });
    }
  }

  say(banner(file, table, gw, fixtures, nginx, nginxNote));

  return untilStopped({
    name: 'strangler demo',
    onHup: () => void gw.reload('SIGHUP'),
    onUsr1: () => gw.reopenLogs(),
    async stop(signal) {
      say(`${signal}: stopping everything the demo started`);
      await stopAll();
      say('stopped');
    },
    force: () => nginx?.kill(),
  });
}
