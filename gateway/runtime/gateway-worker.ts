// One worker of `strangler serve --workers N` (node:cluster): the traffic listener only, on the
// port the workers share. The primary owns the manifest, the state file, the admin API and the
// reloads; a worker applies what the primary sends and acknowledges it, so the primary can answer
// an admin call once every worker serves the change.
import type { AddressInfo } from 'node:net';
import { compileManifest } from '../manifest/compile-manifest';
import type { Route, RouteTable } from '../manifest/route-table';
import { effectivePercent } from '../manifest/percent';
import type { PercentSource } from './decide-route';
import { accessLogDestination, createAccessLog, type AccessLog } from './access-log';
import { createGatewayServer, type GatewayServer } from './gateway-server';
import type { StateFile } from './state-store';
import type { FromWorker, ToWorker } from './worker-messages';

const send = (m: FromWorker) => process.send?.(m);

/** The primary's overrides, read the way StateStore reads its own. */
class OverridesCopy implements PercentSource {
  constructor(public state: StateFile) {}
  effectivePercent(route: Route): number {
    return effectivePercent(route, this.state.routes[route.id]);
  }
}

function compileOrThrow(text: string, file: string): RouteTable {
  const { table, diagnostics } = compileManifest(text, file);
  // The primary validated this text before sending it; a failure here is a bug, not bad input.
  if (!table) throw new Error(`worker: the manifest the primary sent does not compile: ${diagnostics[0]?.message}`);
  return table;
}

function runWorker(): void {
  let gw: GatewayServer | null = null;
  let overrides: OverridesCopy | null = null;
  let manifestPath = '';
  let accessLog: AccessLog | null = null;
  /** The group's applyDelayMs option (tests): a worker slow to apply a change. */
  let applyDelayMs = 0;

  process.on('message', (m: ToWorker) => {
    switch (m.t) {
      case 'start': {
        manifestPath = m.manifestPath;
        applyDelayMs = m.applyDelayMs;
        overrides = new OverridesCopy(m.state);
        const table = compileOrThrow(m.manifestText, manifestPath);
        const log = (line: string) => send({ t: 'log', line: `worker ${process.pid}: ${line}` });
        const destination = accessLogDestination(table.gateway.access_log, manifestPath);
        // Every worker appends whole lines to the same file (O_APPEND), as nginx's workers do.
        accessLog = destination ? createAccessLog(destination, { onError: log }) : null;
        const server = createGatewayServer({ table, state: overrides, log, accessLog });
        gw = server;
        server.listen(m.host, m.port).then(
          () => send({ t: 'listening', port: (server.server.address() as AddressInfo).port }),
          (err: NodeJS.ErrnoException) => send({ t: 'failed', message: err.message, code: err.code }),
        );
        return;
      }
      case 'table':
        try {
          gw!.swapTable(compileOrThrow(m.manifestText, manifestPath));
          send({ t: 'ack', seq: m.seq });
        } catch (err) {
          send({ t: 'ack', seq: m.seq, error: (err as Error).message });
        }
        return;
      case 'state': {
        const apply = () => {
          overrides!.state = m.state;
          send({ t: 'ack', seq: m.seq });
        };
        if (applyDelayMs > 0) setTimeout(apply, applyDelayMs);
        else apply();
        return;
      }
      case 'stats':
        void Promise.all([gw!.routeStats(), gw!.metricsRegistry.getMetricsAsJSON()]).then(([stats, metrics]) =>
          send({ t: 'stats', seq: m.seq, stats: [...stats], metrics }));
        return;
      case 'shadow':
        void (m.reset ? gw!.resetShadow(m.route) : Promise.resolve()).then(() => gw!.shadowReport(m.route)).then((report) =>
          send({ t: 'shadow', seq: m.seq, report }));
        return;
      case 'close':
        void (gw ? gw.close(m.graceMs) : Promise.resolve()).then(() => accessLog?.close()).finally(() => process.exit(0));
        return;
      case 'reopen':
        accessLog?.reopen();
        return;
    }
  });
  // Ctrl-C and SIGTERM reach the whole process group: the primary decides when workers stop.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => undefined);
  // A SIGUSR1 sent to the whole group reopens this worker's log too (and never starts the inspector).
  process.on('SIGUSR1', () => accessLog?.reopen());
  // Without a primary there is nobody to take orders from.
  process.on('disconnect', () => process.exit(0));
}

if (require.main === module) runWorker();
