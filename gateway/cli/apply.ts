import { existsSync, mkdirSync, readFileSync, renameSync, unlinkSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { renderNginxConfig } from '../nginx/render-config';
import { acquireConfLock, confFiles, ConfLockBusy, testCandidate, type ConfLock } from '../nginx/conf-files';
import { findMasterPid, findNginx, nginxTest, notRunningReason, readMasterPid, reloadAndWait, type NginxTarget } from '../nginx/nginx-process';
import { atomicWriteFileSync } from '../util/atomic-write';
import { EXIT, parseCommandArgs, UsageError, type Command } from './command';
import { loadManifestOrReport, manifestPath } from './manifest-arg';

export const command: Command = {
  name: 'apply',
  usage: `Usage: strangler apply [FILE] --conf PATH [--create] [--nginx BIN] [--prefix DIR] [--snippet --main-conf FILE] [--dry-run] [--no-reload]

Compiles the manifest (default routes/routes.yaml), prints a unified diff against PATH, proves
the candidate with \`nginx -t\`, swaps it in atomically (temp file + rename), reloads nginx and
returns once nginx's new workers serve it (so \`apply && curl …\` sees the new config). If the
test or the reload fails, the previous file is put back (and nginx reloaded on it): a broken
config is never left in place. The previous file is kept beside PATH as .NAME.previous, and
candidates are tested as .NAME.candidate.*: dotfiles, which nginx's \`include dir/*;\` skips.
A PATH that is a symlink is written through. An up-to-date PATH is still tested and nginx
reloaded on it (an interrupted apply, renewed certificates then take effect).

One apply at a time: the lock .NAME.lock beside PATH (holding the pid; the agent takes it too)
makes a second one wait up to 30 s, then exit 1; a lock whose process is gone is taken over. A
pid file naming a process that is not an nginx master counts as nginx not running.

apply writes the manifest's percentages; with runtime flips and canaries in use, run
\`strangler agent\` beside nginx instead: it applies the manifest with the runtime percentages.

Options:
  --conf PATH        the config file nginx runs (required; must exist unless --create)
  --create           PATH does not exist yet: create it (a new nginx is then started on it by
                     you; with nothing running, use --no-reload)
  --nginx BIN        nginx binary (default: NGINX_BIN, PATH, /usr/sbin/nginx)
  --prefix DIR       nginx -p prefix (default: the directory of PATH for a full config;
                     nginx's own default with --snippet)
  --snippet          PATH is a conf.d snippet; test and reload through --main-conf
  --main-conf FILE   with --snippet: the main nginx.conf that includes PATH (default /etc/nginx/nginx.conf)
  --dry-run          print the diff and run nginx -t on the candidate; change nothing
  --no-reload        swap the file in but do not signal nginx

Exit codes: 0 applied (or nothing to change), 1 refused, rolled back, or the lock still held after 30 s, 2 usage error.`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      conf: { type: 'string' },
      nginx: { type: 'string' },
      prefix: { type: 'string' },
      snippet: { type: 'boolean' },
      'main-conf': { type: 'string' },
      'dry-run': { type: 'boolean' },
      'no-reload': { type: 'boolean' },
      create: { type: 'boolean' },
    });
    if (!values.conf) throw new UsageError('--conf PATH is required');
    if (!existsSync(values.conf) && !values.create) {
      throw new UsageError(`--conf ${values.conf}: no such file; nothing was changed. Check the path nginx runs (nginx -T shows it), or pass --create to write a new file there`);
    }
    const file = manifestPath(positionals);
    if (!existsSync(file)) throw new UsageError(`no such file: ${file}`);
    const bin = findNginx(values.nginx);
    if (!bin) throw new UsageError('nginx not found: pass --nginx BIN or set NGINX_BIN');

    const table = loadManifestOrReport(file);
    if (!table) return EXIT.FAIL;
    const snippet = values.snippet === true;
    const candidate = renderNginxConfig(table, { snippet, manifestName: file });
    // A symlinked PATH (sites-enabled -> sites-available) is written through: the link stays.
    const files = confFiles(values.conf);
    const confPath = files.given;
    const prefix = values.prefix ? resolve(values.prefix) : snippet ? null : dirname(confPath);
    const mainConf = snippet ? resolve(values['main-conf'] ?? '/etc/nginx/nginx.conf') : confPath;
    const target: NginxTarget = { bin, prefix, conf: mainConf };

    // One apply (or agent sync) at a time changes PATH: a second one waits for the first.
    let lock: ConfLock | null = null;
    if (!values['dry-run']) {
      try {
        lock = await acquireConfLock(files.lock, 'apply', LOCK_WAIT_MS,
          (holder) => process.stderr.write(`${values.conf}: waiting for ${holder} to finish changing it (lock ${files.lock}, up to ${LOCK_WAIT_MS / 1000} s)\n`));
      } catch (err) {
        return refuse(err instanceof ConfLockBusy ? `${err.message}; ${values.conf} is unchanged`
          : `cannot lock ${values.conf} (lock file ${files.lock}): ${(err as Error).message}; nothing was changed`);
      }
      if (lock.tookOver) process.stderr.write(`${values.conf}: took over the lock of ${lock.tookOver}, which is gone (it did not finish)\n`);
    }
    try {
      return await applyLocked();
    } finally {
      lock?.release();
    }

    async function applyLocked(): Promise<number> {
      const hadPrevious = existsSync(files.real);
      const current = hadPrevious ? readFileSync(files.real, 'utf8') : '';
      if (snippet && existsSync(`${confPath}.previous`)) {
        process.stderr.write(`note: ${confPath}.previous is a backup an earlier strangler apply left beside the snippet; an include of its directory with a wildcard loads it too: remove it\n`);
      }
      if (prefix && !snippet) mkdirSync(`${prefix}/logs`, { recursive: true });

      if (candidate === current) return upToDate();
      process.stdout.write(createTwoFilesPatch(values.conf!, `${values.conf} (new)`, current, candidate, undefined, undefined, { context: 3 }));

      // A full config can be tested before it is in place; a snippet only through its main config.
      if (!snippet) {
        const test = await testCandidate(files, target, candidate);
        if (!test.ok) return refuse(`nginx -t refused the candidate; ${values.conf} is unchanged:\n${test.output}`);
      }
      if (values['dry-run']) {
        if (snippet) process.stderr.write('--dry-run with --snippet: the candidate cannot be tested without swapping it in; nothing changed\n');
        else process.stderr.write('dry run: nginx -t ok; nothing changed\n');
        return EXIT.OK;
      }

      if (hadPrevious) atomicWriteFileSync(files.previous, current);
      atomicWriteFileSync(files.real, candidate);
      const rollback = async (why: string) => {
        if (!hadPrevious) {
          unlinkSync(files.real);
          return refuse(`${why}\nremoved ${values.conf}, which this apply created: there was no previous version to go back to`);
        }
        renameSync(files.previous, files.real);
        // Nothing to reload when nginx is not running (the usual reason a reload failed).
        const back = values['no-reload'] || readMasterPid(target) === null ? null : await reloadAndWait(target);
        return refuse(`${why}\nrolled back: ${values.conf} is the previous version again` +
          (back === null ? '' : back.ok ? ', and nginx serves it' : ` (reloading nginx on it failed too: ${back.output})`));
      };

      if (snippet) {
        const test = await nginxTest(target);
        if (!test.ok) return rollback(`nginx -t refused the config with the new snippet:\n${test.output}`);
      }
      if (!values['no-reload']) {
        const reload = await reloadAndWait(target);
        if (!reload.ok) return rollback(`reload failed: ${reload.output}`);
      }
      const kept = hadPrevious ? `; previous version in ${files.previous}` : ' (a new file)';
      process.stdout.write(`applied ${values.conf}${values['no-reload'] ? ' (not reloaded)' : '; nginx serves it'}${kept}\n`);
      return EXIT.OK;
    }

    /**
     * The file already holds the candidate, but nginx may not have loaded it: an apply killed
     * between its swap and its reload, a hand edit, renewed certificates (read only at a reload).
     * A reload is the one way to know nginx serves it: test, reload, and wait as for a change.
     */
    async function upToDate(): Promise<number> {
      if (values['dry-run'] || values['no-reload']) {
        process.stdout.write(`${values.conf}: already up to date, nothing to apply\n`);
        return EXIT.OK;
      }
      const running = findMasterPid(target);
      if (running.pid === null) {
        process.stdout.write(`${values.conf}: already up to date, nothing to apply (not reloaded: ${notRunningReason(target)})\n`);
        return EXIT.OK;
      }
      const test = await nginxTest(target);
      if (!test.ok) return refuse(`${values.conf}: already up to date, but nginx -t refuses the config in place, so nginx was not reloaded (it keeps serving what it loaded last):\n${test.output}`);
      const reload = await reloadAndWait(target);
      if (!reload.ok) return refuse(`${values.conf}: already up to date, but reloading nginx on it failed: ${reload.output}`);
      process.stdout.write(`${values.conf}: already up to date, nothing to apply; nginx reloaded and serves it\n`);
      return EXIT.OK;
    }
  },
};

/** How long a second apply waits for the one changing the config (a test and a reload take seconds). */
const LOCK_WAIT_MS = 30_000;

function refuse(message: string): number {
  process.stderr.write(message + '\n');
  return EXIT.FAIL;
}
