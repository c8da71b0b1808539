// The demo's nginx: the compiled manifest, unprivileged, in a temp prefix, in the foreground as a
// child of the demo (gateway/nginx/nginx-runner.ts); or one line saying why it is not running.
import { createServer } from 'node:net';
import type { RouteTable } from '../manifest/route-table';
import { findNginx, type NginxTarget } from '../nginx/nginx-process';
import { NginxStartError, runNginx } from '../nginx/nginx-runner';
import { renderNginxConfig } from '../nginx/render-config';
import { localUrl, reachableHost } from '../util/address';
import { listenProblem } from './demo-fixtures';

const NGINX_START_TIMEOUT_MS = 10_000;

export interface DemoNginx {
  pid: number;
  url: string;
  /** What the agent drives: binary, prefix and config file. */
  target: NginxTarget;
  /** SIGQUIT, then SIGKILL master and workers if they outlive the bound; removes the prefix. */
  stop(): Promise<void>;
  /** SIGKILL master and workers now (on a second Ctrl-C, or at exit). */
  kill(): void;
}

function portFree(host: string | null, port: number): Promise<NodeJS.ErrnoException | null> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', (err) => resolve(err as NodeJS.ErrnoException));
    srv.listen({ port, host: host ?? undefined, exclusive: true }, () => srv.close(() => resolve(null)));
  });
}

/** Running nginx, or one line saying why not. */
export async function startDemoNginx(table: RouteTable, file: string): Promise<DemoNginx | string> {
  const bin = findNginx();
  if (!bin) return 'not installed (install it, e.g. apt-get install nginx, or set NGINX_BIN)';
  const { host, port } = table.listen;
  const busy = await portFree(host, port);
  if (busy) return `not started: ${listenProblem(busy, host ?? '*', port, `nginx, listen in ${file}`).replace(/; stop whatever.*$/, '')}`;
  try {
    const run = await runNginx({
      bin,
      confText: renderNginxConfig(table, { manifestName: file }),
      ready: [{ host: reachableHost(host), port }],
      tempName: 'strangler-demo-nginx-',
      // The demo reports nginx's own [emerg] line, bind failures included, which -t cannot see.
      test: false,
      startTimeoutMs: NGINX_START_TIMEOUT_MS,
    });
    return { pid: run.pid, url: localUrl(host, port), target: { bin, prefix: run.prefix, conf: run.confPath }, stop: run.stop, kill: run.kill };
  } catch (err) {
    if (!(err instanceof NginxStartError)) throw err;
    if (/did not accept connections|started no worker/.test(err.message)) {
      return `did not accept connections on port ${port} within ${NGINX_START_TIMEOUT_MS / 1000} s`;
    }
    return `failed to start (${err.reason})`;
  }
}
