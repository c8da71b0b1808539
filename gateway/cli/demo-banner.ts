// What the demo prints once everything runs: the addresses, and commands that work verbatim.
import { resolve } from 'node:path';
import type { Route, RouteTable } from '../manifest/route-table';
import { TOKEN_ENV } from '../runtime/admin-token';
import type { GatewayHandle } from '../runtime/serve-gateway';
import { localUrl } from '../util/address';
import { DEFAULT_MANIFEST } from './manifest-arg';

/** nginx as the banner shows it. */
export interface BannerNginx { readonly url: string; readonly pid: number }

function label(text: string): string {
  return text.padEnd(18);
}


/** Quotes a word for sh only when it needs it. */
function sh(word: string): string {
  return /^[A-Za-z0-9_\/.:=@%+,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

function acceptsGet(r: Route): boolean {
  return r.methods === null || r.methods.includes('GET');
}

/** A path the route matches, e.g. /api/v1/track/42; null for a regex route. */
function examplePath(r: Route): string | null {
  if (r.match.kind === 'exact') return r.match.path;
  if (r.match.kind === 'prefix') return r.match.path.endsWith('/') ? `${r.match.path}42` : `${r.match.path}/42`;
  return null;
}

/** A GET path some route sends to its function every time (percent 100), e.g. /api/v1/track/42. */
function functionExample(table: RouteTable): { path: string; route: Route } | null {
  // Routes limited to reads first: a GET is what they were moved for.
  const reads = (r: Route) => r.methods !== null && r.methods.every((m) => m === 'GET' || m === 'HEAD');
  for (const r of [...table.routes.filter(reads), ...table.routes.filter((r) => !reads(r))]) {
    if (r.to.kind !== 'function' || r.canary.percent !== 100 || !acceptsGet(r)) continue;
    const path = examplePath(r);
    if (path !== null) return { path, route: r };
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

/** A GET path of a shadowed route, e.g. /api/v1/prices/42: served as usual, and compared. */
function shadowExample(table: RouteTable): { path: string; route: Route } | null {
  for (const r of table.routes) {
    if (r.shadow === null || !r.shadow.methods.includes('GET') || !acceptsGet(r)) continue;
    const path = examplePath(r);
    if (path !== null) return { path, route: r };
  }
  return null;
}

function matchText(r: Route): string {
  return r.match.kind === 'regex' ? `~ ${r.match.pattern}` : r.match.path;
}

export function banner(file: string, table: RouteTable, gw: GatewayHandle, fixtures: readonly { name: string; url: string }[], nginx: BannerNginx | null, nginxNote: string): string {
  const gatewayUrl = localUrl(gw.listen.host, gw.listen.port);
  const adminUrl = localUrl(gw.admin.host, gw.admin.port);
  const lines = [
    '',
    `strangler demo: ${file} (${table.routes.length} routes, sha256 ${table.sha256.slice(0, 12)})`,
    ...fixtures.map((f) => `  ${label(f.name)} ${f.url}`),
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
  const manifestArg = resolve(file) === resolve(DEFAULT_MANIFEST) ? '' : ` --manifest ${sh(file)}`;
  if (canary) {
    cmds.push([`npx strangler canary ${canary.route.id} ${canary.percent}${manifestArg}`,
      `${canary.percent}% of ${matchText(canary.route)} to ${canary.route.to.text} (was ${canary.route.canary.percent}%)`]);
  }
  const shadowed = shadowExample(table);
  if (shadowed) {
    const served = shadowed.route.canary.percent === 0 ? 'served by legacy' : 'served as usual';
    cmds.push([`curl -s ${sh(gatewayUrl + shadowed.path)}`, `${served}; a copy goes to the other side and the answers are compared (route ${shadowed.route.id})`]);
    cmds.push([`npx strangler diff ${shadowed.route.id}${manifestArg}`, `what the copies found: the paths where ${shadowed.route.to.text} differs from legacy`]);
  }
  const width = Math.max(...cmds.map(([c]) => c.length)) + 3;
  for (const [c, why] of cmds) lines.push(`  ${c.padEnd(width)}# ${why}`);
  lines.push('');
  if (canary) lines.push(`Then \`npx strangler status${manifestArg}\` shows every route's percent and counters.`);
  if (nginx) lines.push(`The same requests through nginx: ${nginx.url} instead of ${gatewayUrl}.`);
  lines.push('Ctrl-C stops everything.');
  return lines.join('\n');
}

