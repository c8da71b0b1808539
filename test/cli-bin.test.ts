// The package's bin (`bin/strangler`, what a user's `strangler` runs), reached through symlinks
// as npm installs it. It starts the commands that open no TLS connection without
// NODE_EXTRA_CA_CERTS, which Node 20 reads at every start; every other command keeps it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { PROJECT_ROOT, VERSION } from '../gateway/version';

const EXAMPLE = join(PROJECT_ROOT, 'routes', 'routes.yaml');
// Node warns on stderr when the file NODE_EXTRA_CA_CERTS names cannot be read: whether the
// process was started with the variable shows there.
const CA_WARNING = /Ignoring extra certs from/;

describe('strangler bin', function () {
  this.timeout(30_000);
  let dir: string;
  let link: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'strangler-bin-'));
    // Two links, the second relative, as npm's node_modules/.bin link is.
    symlinkSync(join(PROJECT_ROOT, 'bin', 'strangler'), join(dir, 'package-bin'));
    link = join(dir, 'strangler');
    symlinkSync('package-bin', link);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs the bin through its link, from another directory, with an unreadable NODE_EXTRA_CA_CERTS. */
  function strangler(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const env = {
      ...process.env,
      PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`,
      NODE_EXTRA_CA_CERTS: join(dir, 'no-such-bundle.pem'),
    };
    return new Promise((resolve) => {
      execFile(link, args, { cwd: dir, env }, (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      });
    });
  }

  for (const args of [['--help'], ['--version'], ['validate', EXAMPLE], ['compile', EXAMPLE, '--no-tls-files'], ['serve', '--help']]) {
    it(`strangler ${args.join(' ')} starts without NODE_EXTRA_CA_CERTS`, async () => {
      const r = await strangler(args);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, CA_WARNING);
      if (args[0] === '--version') assert.equal(r.stdout, `${VERSION}\n`);
    });
  }

  it('a command that may open TLS connections keeps NODE_EXTRA_CA_CERTS', async () => {
    const r = await strangler(['status', '--admin', '127.0.0.1:1']);
    assert.match(r.stderr, CA_WARNING);
  });

  it('passes arguments through unchanged, spaces included', async () => {
    const r = await strangler(['validate', join(dir, 'no such file.yaml')]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /no such file: .*\/no such file\.yaml\n/);
  });
});
