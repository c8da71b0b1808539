// gateway.state, gateway.trusted_proxies and gateway.servers: defaults, what the table holds, and
// every bad value reported at once with its code.
import assert from 'node:assert/strict';
import { compileManifest } from '../gateway/manifest/compile-manifest';
import { formatDiagnostic } from '../gateway/manifest/errors';
import { baseManifest, manifestText } from './helpers/manifest-text';

function compile(gateway: Record<string, unknown>) {
  const m = baseManifest();
  m.gateway = { ...m.gateway, ...gateway };
  return compileManifest(manifestText(m), 'routes.yaml');
}

describe('manifest: gateway.state, gateway.trusted_proxies, gateway.servers', () => {
  it('defaults: the state file beside the manifest, loopback trusted, nginx balancing over gateway.listen', () => {
    const { table } = compile({});
    assert.ok(table);
    assert.equal(table.gateway.state, null);
    assert.deepEqual(table.gateway.trusted_proxies.map((c) => c.text), ['127.0.0.0/8', '::1/128']);
    assert.deepEqual(table.gateway.servers.map((s) => s.text), ['127.0.0.1:8090']);
  });

  it('takes a Redis URL, proxies and several servers', () => {
    const { table, diagnostics } = compile({ state: 'rediss://app@redis.internal:6380/2', trusted_proxies: ['10.0.0.0/8', 'fd00::/8'], servers: ['10.0.0.11:8090', '[fd00::12]:8090'] });
    assert.ok(table, diagnostics.map(formatDiagnostic).join('\n'));
    assert.equal(table.gateway.state, 'rediss://app@redis.internal:6380/2');
    assert.deepEqual(table.gateway.trusted_proxies.map((c) => c.text), ['10.0.0.0/8', 'fd00::/8']);
    assert.deepEqual(table.gateway.servers.map((s) => [s.host, s.port]), [['10.0.0.11', 8090], ['fd00::12', 8090]]);
    assert.ok(Object.isFrozen(table.gateway.trusted_proxies[0]));
  });

  it('reports every bad value with its code', () => {
    const { table, diagnostics } = compile({
      state: 'redis://:pw@redis:6379', trusted_proxies: ['10.0.0.0/33', 'proxy.example', '10.0.0.1'], servers: ['10.0.0.11', '10.0.0.12:8090'],
    });
    assert.equal(table, null);
    const got = diagnostics.map((d) => `${d.code} ${d.path}`).sort();
    assert.deepEqual(got, [
      'STR_BAD_ADDRESS gateway.servers[0]',
      'STR_BAD_CIDR gateway.trusted_proxies[0]',
      'STR_BAD_CIDR gateway.trusted_proxies[1]',
      'STR_BAD_STATE gateway.state',
    ]);
    assert.equal(compile({ state: 'memcached://x:1' }).diagnostics[0].code, 'STR_BAD_STATE');
    assert.equal(compile({ state: 'redis://redis:6379/x' }).diagnostics[0].code, 'STR_BAD_STATE');
    assert.ok(compile({ state: '/var/lib/strangler/state.json' }).table, 'a path is a state file');
  });
});
