import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderNginxConfig } from '../nginx/render-config';
import { findNginx, nginxTest } from '../nginx/nginx-process';
import { atomicWriteFileSync } from '../util/atomic-write';
import { EXIT, parseCommandArgs, UsageError, wholeNumberOption, type Command } from './command';
import { loadManifestOrReport, manifestPath } from './manifest-arg';

export const command: Command = {
  name: 'compile',
  usage: `Usage: strangler compile [FILE] [-o OUT] [--snippet] [--check OUT] [--access-log PATH]
                         [--worker-connections N] [--worker-rlimit-nofile N] [--test] [--no-tls-files]

Compiles the manifest (default routes/routes.yaml) into nginx config. The output is
deterministic (same manifest, same bytes) and starts with a comment carrying the manifest's
sha256 and the generator version.

Options:
  -o, --out OUT        write to OUT (atomically) instead of stdout
  --snippet            only the http-context part, for /etc/nginx/conf.d/ (no events, no pid)
  --check OUT          write nothing; exit 1 when OUT differs from what would be compiled (for CI)
  --access-log PATH    JSON access log path (default logs/access.log; inherited with --snippet)
  --worker-connections N
                       each nginx worker's worker_connections (default 8192). A proxied client
                       takes two (its own and the upstream's); nginx closes what it cannot take
  --worker-rlimit-nofile N
                       emit worker_rlimit_nofile N (default: omitted; nginx keeps the host's limit,
                       and a value over the hard limit only makes it log a setrlimit alert)
  --test               also run \`nginx -t\` on the result in a scratch prefix
  --no-tls-files       compile for another machine: do not read the certificate and key that
                       tls names (they are not checked, and no OCSP stapling lines are written)

The full config runs unprivileged: mkdir -p DIR/logs && nginx -p DIR -c DIR/nginx.conf

Examples:
  strangler compile -o /etc/strangler/nginx.conf
  strangler compile --snippet -o /etc/nginx/conf.d/strangler.conf
  strangler compile --check deploy/nginx.conf   # in CI: fail when someone forgot to recompile

Exit codes: 0 ok, 1 invalid manifest, stale --check, or nginx -t failed, 2 usage error.`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      out: { type: 'string', short: 'o' },
      snippet: { type: 'boolean' },
      check: { type: 'string' },
      'access-log': { type: 'string' },
      test: { type: 'boolean' },
      'worker-connections': { type: 'string' },
      'worker-rlimit-nofile': { type: 'string' },
      'no-tls-files': { type: 'boolean' },
    });
    // 1048576: Linux's default ceiling on a process's open files, which bounds both.
    const workerConnections = wholeNumberOption('worker-connections', values['worker-connections'], 1, 1048576);
    const workerRlimitNofile = wholeNumberOption('worker-rlimit-nofile', values['worker-rlimit-nofile'], 1, 1048576);
    if (values.out && values.check) throw new UsageError('--out and --check are exclusive');
    if (values.snippet && (workerConnections !== null || workerRlimitNofile !== null)) {
      throw new UsageError('--worker-connections and --worker-rlimit-nofile set the main config; a --snippet has no events or main part to hold them');
    }
    const file = manifestPath(positionals);
    if (!existsSync(file)) throw new UsageError(`no such file: ${file}`);
    const table = loadManifestOrReport(file, { checkFiles: values['no-tls-files'] !== true });
    if (!table) return EXIT.FAIL;

    const conf = renderNginxConfig(table, { snippet: values.snippet, manifestName: file, accessLog: values['access-log'], workerConnections, workerRlimitNofile });

    if (values.test) {
      const ok = await testInScratchPrefix(conf, values.snippet === true);
      if (!ok) return EXIT.FAIL;
    }
    if (values.check) {
      const current = existsSync(values.check) ? readFileSync(values.check, 'utf8') : null;
      if (current === conf) {
        process.stdout.write(`${values.check}: up to date\n`);
        return EXIT.OK;
      }
      process.stderr.write(`${values.check}: ${current === null ? 'missing' : 'stale'}; run: strangler compile ${file} -o ${values.check}\n`);
      return EXIT.FAIL;
    }
    if (values.out) {
      atomicWriteFileSync(values.out, conf);
      process.stderr.write(`wrote ${values.out} (${table.routes.length} routes)\n`);
    } else {
      process.stdout.write(conf);
    }
    return EXIT.OK;
  },
};

/** `nginx -t` in a throwaway prefix; a snippet is wrapped in a minimal main config first. */
async function testInScratchPrefix(conf: string, snippet: boolean): Promise<boolean> {
  const bin = findNginx();
  if (!bin) {
    process.stderr.write('--test: nginx not found (set NGINX_BIN or put nginx on PATH)\n');
    return false;
  }
  const prefix = mkdtempSync(join(tmpdir(), 'strangler-test-'));
  try {
    mkdirSync(join(prefix, 'logs'));
    const main = snippet
      ? `pid logs/nginx.pid;\nerror_log logs/error.log;\nevents {}\nhttp {\n    client_body_temp_path client_body_temp;\n    proxy_temp_path proxy_temp;\n    include strangler.conf;\n}\n`
      : conf;
    if (snippet) writeFileSync(join(prefix, 'strangler.conf'), conf);
    writeFileSync(join(prefix, 'nginx.conf'), main);
    const result = await nginxTest({ bin, prefix, conf: join(prefix, 'nginx.conf') });
    process.stderr.write(result.ok ? 'nginx -t: ok\n' : `nginx -t failed:\n${result.output}\n`);
    return result.ok;
  } finally {
    rmSync(prefix, { recursive: true, force: true });
  }
}
