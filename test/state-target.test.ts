// Where the runtime state lives: --state, STRANGLER_REDIS_URL, gateway.state, the default file;
// credentials from the environment, never shown.
import assert from 'node:assert/strict';
import { resolveStateTarget, StateTargetError } from '../gateway/runtime/state-target';
import { describeRedisUrl } from '../gateway/util/redis-url';

const base = { manifestDir: '/srv/routes', defaultFile: '/srv/routes/routes.state.json' };

describe('state target (serve --state, STRANGLER_REDIS_URL, gateway.state)', () => {
  it('defaults to the file beside the manifest; a manifest path is relative to the manifest', () => {
    assert.deepEqual(resolveStateTarget({ ...base, env: {} }), { kind: 'file', path: '/srv/routes/routes.state.json' });
    assert.deepEqual(resolveStateTarget({ ...base, manifest: 'state/s.json', env: {} }), { kind: 'file', path: '/srv/routes/state/s.json' });
  });

  it('prefers --state, then STRANGLER_REDIS_URL, then gateway.state', () => {
    const env = { STRANGLER_REDIS_URL: 'redis://env:6379' };
    assert.equal((resolveStateTarget({ ...base, flag: 'redis://flag:6379/2', manifest: 'redis://manifest:6379', env }) as { url: string }).url, 'redis://flag:6379/2');
    assert.equal((resolveStateTarget({ ...base, manifest: 'redis://manifest:6379', env }) as { url: string }).url, 'redis://env:6379');
    assert.equal((resolveStateTarget({ ...base, manifest: 'rediss://manifest:6380/1', env: {} }) as { url: string }).url, 'rediss://manifest:6380/1');
  });

  it('takes credentials from the URL, else REDIS_USERNAME / REDIS_PASSWORD, and keeps them out of the URL', () => {
    const t = resolveStateTarget({ ...base, flag: 'redis://app:s%40cret@h:6379/0', env: { REDIS_PASSWORD: 'other' } });
    assert.deepEqual(t, { kind: 'redis', url: 'redis://h:6379/0', username: 'app', password: 's@cret' });
    const e = resolveStateTarget({ ...base, manifest: 'redis://h:6379', env: { REDIS_PASSWORD: 'pw', REDIS_USERNAME: 'u' } });
    assert.deepEqual(e, { kind: 'redis', url: 'redis://h:6379', username: 'u', password: 'pw' });
    assert.equal(describeRedisUrl('redis://app:s3cret@h:6379/0'), 'redis://app:***@h:6379/0');
    assert.equal(describeRedisUrl('redis://:s3cret@h:6379'), 'redis://:***@h:6379');
  });

  it('refuses what is neither a Redis URL nor a path, without echoing a password', () => {
    for (const bad of ['http://h:6379', 'redis://h:6379/db', 'redis://h:6379/0?x=1']) {
      assert.throws(() => resolveStateTarget({ ...base, flag: bad, env: {} }), StateTargetError, bad);
    }
    assert.throws(() => resolveStateTarget({ ...base, env: { STRANGLER_REDIS_URL: '/tmp/file' } }), /STRANGLER_REDIS_URL must be a redis:\/\//);
    assert.throws(() => resolveStateTarget({ ...base, flag: 'redis://u:hunter2@h:6379/x', env: {} }), (err: Error) => !err.message.includes('hunter2'));
  });
});
