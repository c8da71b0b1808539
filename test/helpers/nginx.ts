// The harness every nginx-backed test uses: find the binary, start a throw-away nginx from a
// config string in its own temp prefix, reload it, stop it, read its error log.
//
// Configs run as `nginx -p PREFIX -c PREFIX/nginx.conf` in the foreground (a child of this
// process), so a crashed test run cannot leave a daemon behind: every instance still running when
// the process exits is killed, workers included.
import { findNginx as findNginxBinary } from '../../gateway/nginx/nginx-process';
import { runNginx } from '../../gateway/nginx/nginx-runner';

export interface StartNginxOptions {
  /** Ports to wait for; by default every `listen` found in the config (unix sockets skipped). */
  ports?: number[];
  /** How long to wait for the ports to accept connections (default 10 s). */
  startTimeoutMs?: number;
  /** Keep the prefix directory after stop() (also: env NGINX_KEEP_PREFIX=1), for post-mortems. */
  keepPrefix?: boolean;
  /** Extra files to write into the prefix before `nginx -t`: relative path → content. */
  files?: Record<string, string | Buffer>;
}

export interface RunningNginx {
  /** The temp prefix directory (`-p`); relative paths in the config resolve against it. */
  readonly prefix: string;
  readonly confPath: string;
  /** The master process id. */
  readonly pid: number;
  /** Optionally replace the config, check it with `nginx -t`, SIGHUP, and wait for new workers. */
  reload(newConfText?: string): Promise<void>;
  /** SIGQUIT (graceful), then SIGKILL master and workers if they outlive the bound. Idempotent. */
  stop(): Promise<void>;
  /** logs/error.log under the prefix (if the config logs there) followed by nginx's own stderr. */
  errorLog(): string;
}

// ---------------------------------------------------------------------------------------------
// Finding nginx

let cachedBin: string | null | undefined;

/** The project's own lookup (NGINX_BIN, PATH, sbin directories), cached for the test run. */
export function findNginx(): string | null {
  if (cachedBin === undefined) cachedBin = findNginxBinary();
  return cachedBin;
}

let skipNoticeShown = false;

/**
 * Call from a `before` hook (`requireNginx(this)`). Without nginx: a hard failure in CI (a CI run
 * that silently skipped the parity tests would prove nothing), a loud skip elsewhere.
 */
export function requireNginx(ctx: Mocha.Context): string {
  const bin = findNginx();
  if (bin) return bin;
  const why = process.env.NGINX_BIN
    ? `NGINX_BIN=${process.env.NGINX_BIN} is not an executable file`
    : 'nginx was not found (set NGINX_BIN, put nginx on PATH, or install it)';
  if (process.env.CI) {
    throw new Error(`${why}; CI must run the nginx parity tests`);
  }
  if (!skipNoticeShown) {
    skipNoticeShown = true;
    process.stderr.write(
      '\n' + '!'.repeat(78) + '\n' +
      `!!  SKIPPING nginx-backed tests: ${why}.\n` +
      '!!  The Node gateway is only proven equivalent to nginx when these run.\n' +
      '!'.repeat(78) + '\n\n',
    );
  }
  return ctx.skip();
}

// ---------------------------------------------------------------------------------------------
// Config helpers

/** Drop `#` comments (outside quotes) so directive sniffing does not see commented-out text. */
function stripComments(conf: string): string {
  let out = '';
  let quote = '';
  for (let i = 0; i < conf.length; i++) {
    const c = conf[i];
    if (quote) {
      if (c === '\\') { out += c + (conf[i + 1] ?? ''); i++; continue; }
      if (c === quote) quote = '';
      out += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      out += c;
    } else if (c === '#') {
      while (i < conf.length && conf[i] !== '\n') i++;
      out += '\n';
    } else {
      out += c;
    }
  }
  return out;
}

interface ListenAddr { host: string; port: number }

function listenAddresses(conf: string): ListenAddr[] {
  const out: ListenAddr[] = [];
  const re = /(?:^|[\s;{}])listen\s+([^\s;]+)/g;
  for (let m = re.exec(conf); m; m = re.exec(conf)) {
    const addr = m[1].replace(/^["']|["']$/g, '');
    if (addr.startsWith('unix:')) continue;
    let host = '127.0.0.1';
    let portText = addr;
    const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(addr);
    if (v6) {
      host = v6[1] === '::' ? '::1' : v6[1];
      portText = v6[2] ?? '80';
    } else if (addr.includes(':')) {
      const i = addr.lastIndexOf(':');
      const h = addr.slice(0, i);
      portText = addr.slice(i + 1);
      if (/^\d+\.\d+\.\d+\.\d+$/.test(h) && h !== '0.0.0.0') host = h;
    } else if (!/^\d+$/.test(addr)) {
      portText = '80'; // a bare host name listens on port 80
    }
    const port = Number(portText);
    if (Number.isInteger(port) && port > 0 && !out.some((a) => a.port === port && a.host === host)) {
      out.push({ host, port });
    }
  }
  return out;
}

/** The `daemon` directive, if the config sets one. */
function daemonSetting(conf: string): 'on' | 'off' | null {
  const m = /(?:^|[\s;{}])daemon\s+(on|off)\s*;/.exec(conf);
  return m ? (m[1] as 'on' | 'off') : null;
}

export interface NginxTestConfOptions {
  /** The port the config listens on (127.0.0.1); startNginx waits for it. */
  port: number;
  /** http-context text, placed verbatim inside `http { }`. */
  http?: string;
  /** Convenience: server-context text, wrapped in `server { listen 127.0.0.1:PORT; ... }`. */
  server?: string;
  /** Main-context text (e.g. `load_module`, `env`), placed before `events`. */
  main?: string;
  /** error_log level (default `info`, which records why nginx answered 400). */
  logLevel?: string;
}

/**
 * A complete config that needs no root and no system paths: everything (pid, logs, temp files)
 * lives under the prefix. `daemon off;` is in the text, so startNginx passes no `-g`.
 */
export function nginxTestConf(opts: NginxTestConfOptions): string {
  const server = opts.server !== undefined
    ? `\n    server {\n        listen 127.0.0.1:${opts.port};\n${indent(opts.server, 8)}\n    }\n`
    : '';
  return [
    `# strangler test config (port ${opts.port})`,
    'daemon off;',
    'master_process on;',
    'worker_processes 1;',
    'pid logs/nginx.pid;',
    `error_log logs/error.log ${opts.logLevel ?? 'info'};`,
    opts.main ?? '',
    'events {',
    '    worker_connections 1024;',
    '}',
    'http {',
    '    access_log off;',
    '    client_body_temp_path tmp/client_body;',
    '    proxy_temp_path tmp/proxy;',
    '    fastcgi_temp_path tmp/fastcgi;',
    '    uwsgi_temp_path tmp/uwsgi;',
    '    scgi_temp_path tmp/scgi;',
    indent(opts.http ?? '', 4),
    server,
    '}',
    '',
  ].join('\n');
}

function indent(text: string, n: number): string {
  const pad = ' '.repeat(n);
  return text.split('\n').map((l) => (l.trim() ? pad + l : l)).join('\n');
}

// ---------------------------------------------------------------------------------------------
// Processes: gateway/nginx/nginx-runner.ts supervises them; here only the test defaults.

/**
 * Write `confText` into a fresh temp prefix, `nginx -t` it (rejecting with nginx's stderr), start
 * it in the foreground and resolve once every listen port accepts connections.
 */
export async function startNginx(confText: string, opts: StartNginxOptions = {}): Promise<RunningNginx> {
  const bin = findNginx();
  if (!bin) throw new Error('nginx not found: call requireNginx(this) in a before hook');
  const daemon = daemonSetting(stripComments(confText));
  if (daemon === 'on') throw new Error('the config says `daemon on;`: the harness needs nginx in the foreground');
  const readyOf = (text: string) => opts.ports
    ? opts.ports.map((port) => ({ host: '127.0.0.1', port }))
    : listenAddresses(stripComments(text));
  const run = await runNginx({
    bin,
    confText,
    ready: readyOf(confText),
    files: opts.files,
    // `-g 'daemon off;'` next to a `daemon` line in the file is a "duplicate directive" error.
    daemonOffFlag: daemon === null,
    startTimeoutMs: opts.startTimeoutMs,
    keepPrefix: opts.keepPrefix || Boolean(process.env.NGINX_KEEP_PREFIX),
  });
  return {
    prefix: run.prefix,
    confPath: run.confPath,
    pid: run.pid,
    stop: run.stop,
    errorLog: run.errorLog,
    async reload(newConfText?: string) {
      if (newConfText !== undefined) {
        const d = daemonSetting(stripComments(newConfText));
        if (d === 'on') throw new Error('the new config says `daemon on;`');
        // The -g given at start applies to every reload: the file must keep agreeing with it.
        if ((d === null) !== (daemon === null)) throw new Error('reload() config must keep the `daemon` directive as the started one had it');
      }
      await run.reload(newConfText, newConfText === undefined ? undefined : readyOf(newConfText));
    },
  };
}
