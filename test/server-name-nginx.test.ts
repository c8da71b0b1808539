// A server name validate accepts is one nginx -t accepts, and one it refuses nginx refuses too:
// the names the schema's characters allow (letters, digits, '.', '-', '*') against a real nginx,
// the wildcard and empty-label forms written out and a generated sample besides.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compileManifest } from '../gateway/manifest/compile-manifest';
import { serverNameProblem } from '../gateway/manifest/edge-checks';
import { nginxCheck } from './helpers/manifest-text';
import { requireNginx } from './helpers/nginx';
import { propertySeed } from './helpers/property-seed';

/** nginx -t of a config whose second server has this server_name (the first is the default). */
function nginxAccepts(name: string): boolean {
  return nginxCheck(`
pid nginx.pid;
events {}
http {
  access_log off;
  server { listen 127.0.0.1:8080 default_server; server_name default.test; return 444; }
  server { listen 127.0.0.1:8080; server_name ${name}; return 200; }
}
`).ok;
}

const WRITTEN = ['a*', '*.', '..', '.', 'a..b', '*.*', '*', 'a.b*', 'a.*.b', '*.a.*', '..a', 'a.b..', '*..a', '*example.no',
  '.a', 'a.*', '*.a', 'a.', '-a', '.a.', '.*', 'a.b.*', '*.a.b', 'api.example.no', '1.2.3.4'];

describe('server_name: validate and nginx -t agree', function () {
  this.timeout(60_000);
  before(function () {
    requireNginx(this);
  });

  it('on the wildcard and empty-label forms', () => {
    for (const name of WRITTEN) {
      assert.equal(serverNameProblem(name) === null, nginxAccepts(name), `${name}: validate says ${serverNameProblem(name) ?? 'ok'}`);
    }
  });

  it('on generated names of the schema\'s characters', () => {
    const name = fc.string({ unit: fc.constantFrom('a', 'b', '.', '.', '*', '-'), minLength: 1, maxLength: 6 });
    fc.assert(fc.property(name, (n) => serverNameProblem(n) === null === nginxAccepts(n)), { numRuns: 60, seed: propertySeed(), endOnFailure: true });
  });

  it('refuses a name nginx refuses at its place in the manifest', () => {
    const { table, diagnostics } = compileManifest('version: 1\nlisten: 8080\nserver_name: [api.example.no, "a..b"]\nupstreams: { legacy: { servers: ["127.0.0.1:9000"] } }\nroutes: []\n');
    assert.equal(table, null);
    assert.deepEqual(diagnostics.map((d) => [d.code, d.path, d.line]), [['STR_BAD_VALUE', 'server_name[1]', 3]]);
  });
});
