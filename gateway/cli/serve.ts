// `strangler serve`: run the Node gateway and its admin API until SIGTERM/SIGINT.
import { availableParallelism } from 'node:os';
import { ManifestInvalidError } from '../manifest/errors';
import { READ_TOKEN_ENV, TOKEN_ENV } from '../runtime/admin-token';
import { DEFAULT_GRACE_MS, startGateway, type GatewayHandle, type ServeLog, type StartGatewayOptions } from '../runtime/serve-gateway';
import { localUrl, remoteUrls } from '../util/address';
import { StateFileError } from '../runtime/state-store';
import { StateTargetError } from '../runtime/state-target';
import { addressOption, EXIT, parseCommandArgs, wholeNumberOption, type Command } from './command';
import { DEFAULT_MANIFEST, manifestPath, printDiagnostics } from './manifest-arg';
import { untilStopped } from './until-stopped';
import { accessLogDestination } from '../runtime/access-log';

/** The serve command; `extra` options reach startGateway as they are (tests run it with workerApplyDelayMs). */
export function serveCommand(extra: Partial<StartGatewayOptions> = {}): Command {
  return {
    name: 'serve',
    usage: `Usage: strangler serve [FILE] [--listen ADDR] [--admin ADDR] [--state FILE|URL] [--state-snapshot FILE] [--workers N]

  Serves the manifest FILE (default ${DEFAULT_MANIFEST}) with the Node gateway: every route goes
  to its \`to\` or to legacy by its effective percent, which \`strangler flip\`, \`strangler canary\`
  or the admin API change at runtime. The manifest is validated first: errors are printed and
  serve exits 1 without listening.

  Options:
    --listen ADDR   traffic listener, host:port or port (default: the manifest's gateway.listen)
    --admin ADDR    admin API listener (default: gateway.admin, loopback). The API refuses Host
                    and Origin headers that are not its own address (DNS-rebinding defence).
    --state FILE    runtime overrides (default: <manifest>.state.json beside the manifest, e.g.
                    routes/routes.state.json). Written atomically; a corrupt file stops the start.
    --state URL     redis://[user:pass@]HOST:PORT[/DB] or rediss://…: one state shared by every
                    gateway instance on that Redis (also: env STRANGLER_REDIS_URL, or the
                    manifest's gateway.state). Credentials missing from the URL are read from
                    REDIS_USERNAME / REDIS_PASSWORD. Redis down: the last state keeps serving,
                    changes answer 503 state_unavailable until it is back.
    --state-snapshot FILE
                    with Redis: the local copy of the last state, to start from while Redis is
                    down (default: the state file beside the manifest)
    --workers N     serve traffic from N worker processes sharing the port (node:cluster), or
                    "auto" for one per core. This process keeps the admin API, the state and the
                    reloads; an admin change or a reload is answered once every worker serves it,
                    and a worker that dies is replaced. Default: traffic served in this process.

  Access log: gateway.access_log in the manifest (default <manifest>.access.log beside the
  manifest; stdout; off), one JSON line per request in nginx's strangler_json format, written
  asynchronously. SIGUSR1 reopens it (for logrotate), as nginx does.

  Admin token: $${TOKEN_ENV} if set, else the 0600 file <manifest>.token beside the
  manifest (created with a random token on first start; its path is printed). Every admin
  endpoint except GET /healthz and the dashboard's files needs "Authorization: Bearer <token>".
  Changes are appended to <manifest>.audit.jsonl beside the state file (with Redis: the stream
  strangler:audit). $${READ_TOKEN_ENV}, if set, is a second token accepted for every GET (the
  dashboard in read-only mode, Prometheus scraping /metrics) and refused with 403
  {"error": "read_only"} for changes.

  Dashboard: open http://ADMIN/ui/ in a browser (the admin address above; sign in with a token).
  Without a token at hand, http://ADMIN/ui/#token=TOKEN signs in and drops the token from the URL.

  Reload: on SIGHUP and whenever FILE changes, the manifest is revalidated; a valid one replaces
  the running table atomically (overrides of removed routes are dropped), an invalid one is
  logged with its errors and the previous table keeps serving.
  Shutdown: SIGTERM or SIGINT stops accepting, lets requests in flight finish (up to
  ${DEFAULT_GRACE_MS / 1000} s) and exits 0; a second signal exits 1 at once.

  Examples:
    strangler serve
    strangler serve routes/routes.yaml --listen 0.0.0.0:8090
    strangler serve --workers auto
    STRANGLER_ADMIN_TOKEN=s3cret strangler serve --admin 127.0.0.1:9091 --state /var/lib/strangler/state.json

  Exit codes: 0 stopped by a signal, 1 invalid manifest, unusable state file or --state URL, or listen error, 2 usage error.
  `,
    async run(argv) {
      const { values, positionals } = parseCommandArgs(argv, {
        listen: { type: 'string' }, admin: { type: 'string' }, state: { type: 'string' }, 'state-snapshot': { type: 'string' }, workers: { type: 'string' },
      });
      const v = values as { listen?: string; admin?: string; state?: string; 'state-snapshot'?: string; workers?: string };
      const workers = parseWorkers(v.workers);
      if (workers instanceof Error) {
        process.stderr.write(`strangler serve: ${workers.message}\n`);
        return EXIT.USAGE;
      }
      // Checked before the manifest is read: a malformed address is a usage error (exit 2). The
      // gateway parses it again with the manifest's host for a bare port.
      for (const option of ['listen', 'admin'] as const) if (v[option] !== undefined) addressOption(option, v[option], { host: '127.0.0.1', port: 0 });
      const file = manifestPath(positionals);
      const stamp = (line: string) => `${new Date().toISOString()} ${line}\n`;
      const log: ServeLog = { info: (l) => process.stdout.write(stamp(l)), error: (l) => process.stderr.write(stamp(l)) };

      let gw: GatewayHandle;
      try {
        gw = await startGateway({ manifestPath: file, listen: v.listen, admin: v.admin, state: v.state, stateSnapshot: v['state-snapshot'], workers, log, ...extra });
      } catch (err) {
        if (err instanceof ManifestInvalidError) {
          printDiagnostics(err.diagnostics);
          process.stderr.write(`strangler serve: ${file} is invalid, not starting\n`);
          return EXIT.FAIL;
        }
        if (err instanceof StateFileError || err instanceof StateTargetError) {
          process.stderr.write(`strangler serve: ${err.message}\n`);
          return EXIT.FAIL;
        }
        const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
        if (e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL') {
          process.stderr.write(`strangler serve: cannot listen on ${e.address}:${e.port}: ${e.code} (another gateway running? use --listen/--admin)\n`);
          return EXIT.FAIL;
        }
        throw err;
      }

      const table = gw.table();
      process.stdout.write([
        `strangler serve: ${file} (${table.routes.length} routes, sha256 ${table.sha256.slice(0, 12)})`,
        `  traffic  ${gw.trafficUrl}`,
        ...remoteUrls(gw.listen.host, gw.listen.port).map((u) => `           ${gw.trafficUrl.startsWith('https:') ? u.replace(/^http:/, 'https:') : u} (bound to ${gw.listen.host}: from other machines)`),
        ...(workers ? [`  workers  ${workers}, pids ${gw.trafficPids().join(', ')}`] : []),
        `  admin    ${localUrl(gw.admin.host, gw.admin.port)}`,
        ...remoteUrls(gw.admin.host, gw.admin.port).map((u) => `           ${u} (bound to ${gw.admin.host}: from other machines; host names it answers to: gateway.admin_hosts)`),
        `  dashboard ${localUrl(gw.admin.host, gw.admin.port)}/ui/`,
        `  token    ${gw.tokenPath ? `${gw.tokenPath}${gw.tokenCreated ? ' (created)' : ''}` : `$${TOKEN_ENV}`}`,
        `  state    ${gw.stateLocation}${gw.stateLocation !== gw.statePath ? ` (snapshot ${gw.statePath}), version ${gw.state.snapshot().version}` : ''}`,
        `  audit    ${gw.auditLocation}`,
        `  access   ${accessLogText(table.gateway.access_log, file)}`,
        ...table.routes.filter((r) => gw.state.override(r.id)).map((r) => {
          const o = gw.state.override(r.id)!;
          return `  override ${r.id}: ${o.percent}% (manifest ${r.canary.percent}%), set ${o.updated_at} by ${o.by}`;
        }),
        'ready',
        '',
      ].join('\n'));

      return untilStopped({
        name: 'strangler serve',
        onHup: () => void gw.reload('SIGHUP'),
        onUsr1: () => {
          log.info('SIGUSR1: reopening the access log');
          gw.reopenLogs();
        },
        async stop(signal) {
          log.info(`${signal}: no new connections; waiting up to ${DEFAULT_GRACE_MS / 1000} s for requests in flight`);
          await gw.close(DEFAULT_GRACE_MS);
          log.info('stopped');
        },
      });
    },
  };
}

export const command: Command = serveCommand();

function accessLogText(setting: string | null, manifest: string): string {
  const d = accessLogDestination(setting, manifest);
  return d === null ? 'off' : d.kind === 'stdout' ? 'stdout' : d.path;
}

/** --workers: a whole number from 1 to 256, or "auto" (one per core); absent: 0, in-process. */
export function parseWorkers(value: string | undefined): number | Error {
  if (value === undefined) return 0;
  if (value === 'auto') return availableParallelism();
  try {
    return wholeNumberOption('workers', value, 1, 256, ', or "auto"')!;
  } catch (err) {
    return err as Error;
  }
}
