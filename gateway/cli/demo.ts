// `strangler demo`: the whole strangler fig on one machine, what `npm start` runs. The fixtures
// on the manifest's upstream ports, the Node gateway in-process, and nginx on the compiled
// manifest when it is installed. Every port it prints comes from the manifest.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Route, RouteTable, Upstream } from '../manifest/route-table';
import { renderNginxConfig } from '../nginx/render-config';
import { childPids, findNginx, type NginxTarget } from '../nginx/nginx-process';
import { startAgent } from '../nginx/agent';
import { openFileBackend } from '../runtime/file-state-source';
import { TOKEN_ENV } from '../runtime/admin-token';
import { startGateway, type GatewayHandle, type ServeLog } from '../runtime/serve-gateway';
import { StateFileError } from '../runtime/state-store';
import { startFunctions } from '../../monolith-fixture/functions';
import { startLegacy } from '../../monolith-fixture/legacy';
import { EXIT, parseCommandArgs, UsageError, type Command } from './command';
import { DEFAULT_MANIFEST, loadManifestOrReport } from './manifest-arg';
import { localUrl, reachableHost } from '../util/address';
import { untilStopped } from './until-stopped';

/** Requests in flight get this long to finish when the demo stops. */
const DEMO_GRACE_MS = 3000;
const NGINX_START_TIMEOUT_MS = 10_000;

export const command: Command = {
  name: 'demo',
  summary: 'run the whole strangler fig locally: fixtures, Node gateway, nginx (what `npm start` runs)',
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
  const upstreams = [...table.upstreams.values()].sort((a, b) => rank(a) - rank(b));
  const fixtureUrls: string[] = [];
  for (const up of upstreams) {
    for (const [i, server] of up.servers.entries()) {
      const what = `${describeUpstream(up)}, upstreams.${up.name} in ${file}`;
      try {
        const fx = up.name === 'functions'
          ? await startFunctions({ host: server.host, port: server.port })
          : await startLegacy({ host: server.host, port: server.port, name: up.name === 'legacy' ? (up.servers.length > 1 ? `legacy-${i + 1}` : undefined) : up.name });
        started.push({ what, stop: () => fx.close() });
        fixtureUrls.push(`  ${label(shortName(up))} ${fx.url}`);
      } catch (err) {
        fail(listenProblem(err, server.host, server.port, what));
        await stopAll();
        return EXIT.FAIL;
      }
    }
  }

  // 2. The Node gateway, in this process.
  const say = (line: string) => process.stdout.write(line + '\n');
  const log: ServeLog = { info: (l) => say(`gateway: ${l}`), error: (l) => process.stderr.write(`gateway: ${l}\n`) };
  let gw: GatewayHandle;
  try {
    gw = await startGateway({ manifestPath: file, statePath: join(workDir, 'routes.state.json'), log });
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
  // manifest and the runtime state, as \`strangler agent\` does beside a production nginx.
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

  say(banner(file, table, gw, fixtureUrls, nginx, nginxNote));

  return untilStopped({
    name: 'strangler demo',
    onHup: () => void gw.reload('SIGHUP'),
    async stop(signal) {
      say(`${signal}: stopping everything the demo started`);
      await stopAll();
      say('stopped');
    },
    force: () => nginx?.kill(),
  });
}

function rank(up: Upstream): number {
  return up.name === 'legacy' ? 0 : up.name === 'functions' ? 1 : 2;
}

function describeUpstream(up: Upstream): string {
  if (up.name === 'legacy') return 'the legacy monolith fixture';
  if (up.name === 'functions') return 'the function-gateway fixture';
  return `a monolith-like fixture for upstream ${up.name}`;
}

function label(text: string): string {
  return text.padEnd(18);
}

function shortName(up: Upstream): string {
  return up.name === 'legacy' ? 'legacy monolith' : up.name === 'functions' ? 'function gateway' : `upstream ${up.name}`;
}

/** One line for a failed listen, naming the port and what wanted it. */
export function listenProblem(err: unknown, host: string, port: number, what: string): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'EADDRINUSE':
      return `port ${port} is already in use (wanted by ${what}); stop whatever holds it, or pass --manifest FILE naming free ports`;
    case 'EACCES':
      return `port ${port} needs privileges this user lacks (wanted by ${what}); use a port above 1023`;
    case 'EADDRNOTAVAIL': case 'ENOTFOUND': case 'EAI_AGAIN':
      return `cannot listen on ${host}:${port} (wanted by ${what}): ${code}; the demo runs everything on this machine, so the manifest's addresses must be local, e.g. 127.0.0.1:${port}`;
    default:
      return `cannot listen on ${host}:${port} (wanted by ${what}): ${(err as Error).message}`;
  }
}

// ---------------------------------------------------------------------------------------------
// What the demo prints

/** Quotes a word for sh only when it needs it. */
function sh(word: string): string {
  return /^[A-Za-z0-9_\/.:=@%+,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

function acceptsGet(r: Route): boolean {
  return r.methods === null || r.methods.includes('GET');
}

/** A GET path some route sends to its function every time (percent 100), e.g. /api/v1/track/42. */
function functionExample(table: RouteTable): { path: string; route: Route } | null {
  // Routes limited to reads first: a GET is what they were moved for.
  const reads = (r: Route) => r.methods !== null && r.methods.every((m) => m === 'GET' || m === 'HEAD');
  for (const r of [...table.routes.filter(reads), ...table.routes.filter((r) => !reads(r))]) {
    if (r.to.kind !== 'function' || r.canary.percent !== 100 || !acceptsGet(r)) continue;
    if (r.match.kind === 'exact') return { path: r.match.path, route: r };
    if (r.match.kind === 'prefix') return { path: r.match.path.endsWith('/') ? `${r.match.path}42` : `${r.match.path}/42`, route: r };
  }
  return null;
}

/** The route to move with `strangler canary`: one on a partial canary, else any function route. */
function canaryExample(table: RouteTable): { route: Route; percent: number } | null {
  const moving = table.routes.find((r) => r.to.kind !== 'legacy' && r.canary.percent < 50)
    ?? table.routes.find((r) => r.to.kind !== 'legacy' && r.canary.percent < 100)
    ?? table.routes.find((r) => r.to.kind !== 'legacy')
    ?? table.routes[0];
  if (!moving) return null;
  return { route: moving, percent: moving.canary.percent < 50 ? 50 : 25 };
}

function matchText(r: Route): string {
  return r.match.kind === 'regex' ? `~ ${r.match.pattern}` : r.match.path;
}

function banner(file: string, table: RouteTable, gw: GatewayHandle, fixtureUrls: string[], nginx: DemoNginx | null, nginxNote: string): string {
  const gatewayUrl = localUrl(gw.listen.host, gw.listen.port);
  const adminUrl = localUrl(gw.admin.host, gw.admin.port);
  const lines = [
    '',
    `strangler demo: ${file} (${table.routes.length} routes, sha256 ${table.sha256.slice(0, 12)})`,
    ...fixtureUrls,
    `  ${label('Node gateway')} ${gatewayUrl}   (admin API ${adminUrl}, token ${gw.tokenPath ?? `$${TOKEN_ENV}`})`,
    nginx
      ? `  ${label('nginx')} ${nginx.url}   (pid ${nginx.pid}, compiled from ${file}, in a temp prefix; follows manifest edits, flips and canaries)`
      : `  ${label('nginx')} ${nginxNote}`,
    '',
    'Try:',
  ];
  const cmds: Array<[string, string]> = [];
  cmds.push([`curl -s ${sh(`${gatewayUrl}/health`)}`, 'served by legacy: no route claims /health']);
  const fn = functionExample(table);
  if (fn) cmds.push([`curl -s ${sh(gatewayUrl + fn.path)}`, `served by the function ${(fn.route.to as { name: string }).name} (route ${fn.route.id})`]);
  const canary = canaryExample(table);
  if (canary) {
    const manifestArg = resolve(file) === resolve(DEFAULT_MANIFEST) ? '' : ` --manifest ${sh(file)}`;
    cmds.push([`npx strangler canary ${canary.route.id} ${canary.percent}${manifestArg}`,
      `${canary.percent}% of ${matchText(canary.route)} to ${canary.route.to.text} (was ${canary.route.canary.percent}%)`]);
  }
  const width = Math.max(...cmds.map(([c]) => c.length)) + 3;
  for (const [c, why] of cmds) lines.push(`  ${c.padEnd(width)}# ${why}`);
  lines.push('');
  if (canary) lines.push(`Then \`npx strangler status${resolve(file) === resolve(DEFAULT_MANIFEST) ? '' : ` --manifest ${sh(file)}`}\` shows every route's percent and counters.`);
  if (nginx) lines.push(`The same requests through nginx: ${nginx.url} instead of ${gatewayUrl}.`);
  lines.push('Ctrl-C stops everything.');
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// nginx, unprivileged, in a temp prefix, in the foreground as a child of the demo

interface DemoNginx {
  pid: number;
  url: string;
  /** What the agent drives: binary, prefix and config file. */
  target: NginxTarget;
  /** SIGQUIT, then SIGKILL master and workers if they outlive the bound; removes the prefix. */
  stop(): Promise<void>;
  /** SIGKILL master and workers now (on a second Ctrl-C, or at exit). */
  kill(): void;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));


function portFree(host: string | null, port: number): Promise<NodeJS.ErrnoException | null> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', (err) => resolve(err as NodeJS.ErrnoException));
    srv.listen({ port, host: host ?? undefined, exclusive: true }, () => srv.close(() => resolve(null)));
  });
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => { s.destroy(); resolve(false); });
  });
}

/** The first line nginx marked [emerg] or [alert] (bind failures, bad directives), for one-line reports. */
function nginxReason(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  const line = lines.find((l) => /\[emerg\]/.test(l)) ?? lines.reverse().find((l) => /\[(crit|error)\]/.test(l)) ?? lines[0] ?? 'no output';
  return line.replace(/^\S+ \S+ /, '').replace(/^nginx: /, '');
}

/** Running nginx, or one line saying why not. */
async function startDemoNginx(table: RouteTable, file: string): Promise<DemoNginx | string> {
  const bin = findNginx();
  if (!bin) return 'not installed (install it, e.g. apt-get install nginx, or set NGINX_BIN)';
  const { host, port } = table.listen;
  const busy = await portFree(host, port);
  if (busy) return `not started: ${listenProblem(busy, host ?? '*', port, `nginx, listen in ${file}`).replace(/; stop whatever.*$/, '')}`;

  const prefix = mkdtempSync(join(tmpdir(), 'strangler-demo-nginx-'));
  chmodSync(prefix, 0o755); // run as root, nginx's workers (nobody) must traverse it
  mkdirSync(join(prefix, 'logs'));
  const confPath = join(prefix, 'nginx.conf');
  writeFileSync(confPath, renderNginxConfig(table, { manifestName: file }));

  const child: ChildProcess = spawn(bin, ['-p', `${prefix}/`, '-c', confPath, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('latin1');
  child.stderr!.on('data', (d: string) => { stderr += d; });
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => { exited = true; resolve(); }));
  child.once('error', (err) => { stderr += `\n[emerg] ${err.message}`; exited = true; });
  const master = child.pid ?? -1;
  let workers: number[] = [];

  const kill = () => {
    for (const pid of [...childPids(master), ...workers, master]) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    }
  };
  const atExit = () => { if (!exited) kill(); };
  process.on('exit', atExit); // should the demo die of an error, nginx does not outlive it

  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      const known = [...new Set([...workers, ...childPids(master)])];
      if (!exited && master > 0) {
        try { process.kill(master, 'SIGQUIT'); } catch { /* gone */ }
        await Promise.race([exit, sleep(5000)]);
      }
      if (!exited) {
        kill();
        await Promise.race([exit, sleep(2000)]);
      }
      // A master that died hard leaves its workers holding the listen socket.
      for (const pid of known) {
        try { process.kill(pid, 0); process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
      }
      process.off('exit', atExit);
      rmSync(prefix, { recursive: true, force: true });
    })();
    return stopping;
  };

  const probeHost = reachableHost(host);
  const deadline = Date.now() + NGINX_START_TIMEOUT_MS;
  const procAvailable = existsSync('/proc/self/stat');
  for (;;) {
    if (exited) {
      const why = nginxReason(`${stderr}\n${readIfExists(join(prefix, 'logs', 'error.log'))}`);
      await stop();
      return `failed to start (${why})`;
    }
    if (await canConnect(probeHost, port)) {
      workers = procAvailable ? childPids(master) : [];
      if (!procAvailable || workers.length > 0) break;
    }
    if (Date.now() > deadline) {
      await stop();
      return `did not accept connections on port ${port} within ${NGINX_START_TIMEOUT_MS / 1000} s`;
    }
    await sleep(25);
  }
  return { pid: master, url: localUrl(host, port), target: { bin, prefix, conf: confPath }, stop, kill };
}

function readIfExists(path: string): string {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return '';
  }
}

