// The demo's upstreams: the legacy monolith and function-gateway fixtures (and a monolith-like
// fixture for any other named upstream) on the ports the manifest names.
import type { RouteTable, Upstream } from '../manifest/route-table';
import { startFunctions } from '../../monolith-fixture/functions';
import { startLegacy } from '../../monolith-fixture/legacy';

export interface StartedFixture {
  /** What the banner calls it: "legacy monolith", "function gateway", "upstream NAME". */
  readonly name: string;
  readonly url: string;
  /** What wanted the port, for messages: "the legacy monolith fixture, upstreams.legacy in FILE". */
  readonly what: string;
  close(): Promise<void>;
}

/** Legacy first, then the function gateway, then any other named upstream; stops what it started if one fails. */
export async function startFixtures(table: RouteTable, file: string): Promise<StartedFixture[]> {
  const upstreams = [...table.upstreams.values()].sort((a, b) => rank(a) - rank(b));
  const started: StartedFixture[] = [];
  for (const up of upstreams) {
    for (const [i, server] of up.servers.entries()) {
      const what = `${describeUpstream(up)}, upstreams.${up.name} in ${file}`;
      try {
        const fx = up.name === 'functions'
          ? await startFunctions({ host: server.host, port: server.port })
          : await startLegacy({ host: server.host, port: server.port, name: up.name === 'legacy' ? (up.servers.length > 1 ? `legacy-${i + 1}` : undefined) : up.name });
        started.push({ name: shortName(up), url: fx.url, what, close: () => fx.close() });
      } catch (err) {
        for (const s of started.reverse()) await s.close().catch(() => undefined);
        throw new FixtureListenError(listenProblem(err, server.host, server.port, what));
      }
    }
  }
  return started;
}

/** A fixture could not listen: the message names the port and what wanted it. */
export class FixtureListenError extends Error {}

function rank(up: Upstream): number {
  return up.name === 'legacy' ? 0 : up.name === 'functions' ? 1 : 2;
}

function describeUpstream(up: Upstream): string {
  if (up.name === 'legacy') return 'the legacy monolith fixture';
  if (up.name === 'functions') return 'the function-gateway fixture';
  return `a monolith-like fixture for upstream ${up.name}`;
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

