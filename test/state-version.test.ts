// The runtime state's version and its one mutation: apply(changes, by) is one atomic batch and
// one version; the file source follows a writer in another process through its version; a new
// frozen table carries the effective percents to the emitter, which compiles it exactly as it
// compiles a manifest that says those percents.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileManifest } from '../gateway/manifest/compile-manifest';
import { withEffectivePercents } from '../gateway/manifest/effective-table';
import type { RouteTable } from '../gateway/manifest/route-table';
import { renderNginxConfig } from '../gateway/nginx/render-config';
import { fileHostReports, openFileStateSource } from '../gateway/runtime/file-state-source';
import { openStateBackend, StateSpecError } from '../gateway/runtime/open-state-backend';
import type { StateSnapshot } from '../gateway/runtime/state-source';
import { StateStore } from '../gateway/runtime/state-store';
import { OFFLINE_MANIFEST_HEAD } from './helpers/manifests';
import { withTempStateFile } from './helpers/temp-state-file';

const manifest = (images: number) => `${OFFLINE_MANIFEST_HEAD}  - { id: a, match: { prefix: /a }, to: "function:a" }
  - { id: images, match: { prefix: /images/ }, to: "function:img", canary: { percent: ${images}, sticky: "cookie:sid" } }
  - { id: c, match: { exact: /c }, to: "function:c" }
`;
const table = (images = 10): RouteTable => compileManifest(manifest(images), 'routes.yaml').table!;

describe('runtime state: version and apply', () => {
  let file: string;
  withTempStateFile('strangler-state-version-', (_dir, f) => { file = f; });

  it('counts changes: a batch over many routes is one version, persisted, and survives a reopen', async () => {
    const s = StateStore.open(file);
    assert.equal(s.version, 0);
    assert.deepEqual(s.snapshot(), { version: 0, routes: {} });
    const r = await s.apply(new Map([['a', 0], ['images', 0], ['c', 0]]), 'ops');
    assert.equal(r.version, 1);
    assert.deepEqual([...r.previous.keys()], ['a', 'images', 'c']);
    assert.equal(s.version, 1);
    const onDisk = JSON.parse(readFileSync(file, 'utf8'));
    assert.equal(onDisk.version, 1);
    assert.deepEqual(Object.keys(onDisk.routes).sort(), ['a', 'c', 'images']);
    assert.ok(Object.values(onDisk.routes).every((o) => (o as { by: string }).by === 'ops'));
    await s.set('a', 50, 'ops');
    await s.clear('c');
    assert.equal(s.version, 3, 'set and clear are one change each');
    const again = StateStore.open(file);
    assert.equal(again.version, 3);
    assert.deepEqual(again.snapshot(), s.snapshot());
  });

  it('a batch with one bad percent changes nothing; a batch that changes nothing is no new version', async () => {
    const s = StateStore.open(file);
    await s.apply(new Map([['a', 20]]), 'ops');
    await assert.rejects(s.apply(new Map([['a', 30], ['c', 101]]), 'ops'), /c: percent must be 0\.\.100/);
    assert.equal(s.version, 1);
    assert.equal(s.override('a')!.percent, 20);
    await s.apply(new Map([['c', null]]), 'ops'); // no override to clear
    assert.equal(s.version, 1);
    assert.equal(JSON.parse(readFileSync(file, 'utf8')).version, 1);
  });

  it('reads state files written before the version counted changes', () => {
    writeFileSync(file, '{"version":1,"routes":{"a":{"percent":0,"updated_at":"2024-01-01T00:00:00Z","by":"x"}}}');
    const s = StateStore.open(file);
    assert.equal(s.version, 1);
    assert.equal(s.override('a')!.percent, 0);
  });

  it('the file source follows another writer by version and tells subscribers once per version', async () => {
    const writer = StateStore.open(file);
    const source = openFileStateSource(file, { pollMs: 50 });
    try {
      assert.equal(source.current().version, 0);
      const seen: StateSnapshot[] = [];
      source.subscribe((snap) => seen.push(snap));
      await writer.apply(new Map([['a', 0], ['c', 0]]), 'ops');
      await writer.set('images', 50, 'ops');
      const deadline = Date.now() + 10_000;
      while (source.current().version < 2) {
        if (Date.now() > deadline) throw new Error(`the source did not reach version 2: ${JSON.stringify(source.current())}`);
        await new Promise((r) => setImmediate(r));
      }
      assert.deepEqual(source.current(), writer.snapshot());
      const versions = seen.map((x) => x.version);
      assert.deepEqual(versions, [...new Set(versions)].sort(), `each version once, in order: ${versions}`);
      assert.equal(versions[versions.length - 1], 2);
    } finally {
      await source.close();
    }
  });

  it('host reports live beside the state file, one per host, rewritten in place', async () => {
    const reports = fileHostReports(file);
    assert.deepEqual(await reports.list(), []);
    const base = { pid: 1, conf: '/srv/nginx.conf', manifest_sha256: 'ab', applied_at: 't', failure: null, seen_at: new Date().toISOString() };
    await reports.publish({ ...base, host: 'web-1:/srv/nginx.conf', state_version: 3 });
    await reports.publish({ ...base, host: 'web-2:/srv/nginx.conf', state_version: 2 });
    await reports.publish({ ...base, host: 'web-1:/srv/nginx.conf', state_version: 4 });
    const list = await reports.list();
    assert.deepEqual(list.map((r) => [r.host, r.state_version]), [['web-1:/srv/nginx.conf', 4], ['web-2:/srv/nginx.conf', 2]]);
  });

  it('--state redis://… is refused clearly by a build without a Redis backend, without echoing a password', async () => {
    await assert.rejects(openStateBackend('redis://user:s3cret@cache:6379/0'), (err: Error) => {
      assert.ok(err instanceof StateSpecError);
      assert.match(err.message, /not supported in this build/);
      assert.doesNotMatch(err.message, /s3cret/);
      return true;
    });
  });
});

describe('effective percents reach the emitter as a new frozen table', () => {
  it('compiles exactly as a manifest that says those percents, and leaves the manifest\'s table alone', () => {
    const t = table(10);
    const eff = withEffectivePercents(t, new Map([['images', 50], ['a', 0], ['gone', 5]]));
    assert.notEqual(eff, t);
    assert.ok(Object.isFrozen(eff) && Object.isFrozen(eff.routes[1].canary));
    assert.equal(t.routes[1].canary.percent, 10, 'the manifest\'s table is untouched');
    assert.equal(eff.routes[1].canary.percent, 50);
    const viaManifest = compileManifest(manifest(50).replace('to: "function:a" }', 'to: "function:a", canary: { percent: 0 } }'), 'routes.yaml').table!;
    const strip = (conf: string) => conf.replace(/^# Generated by .*$/m, '');
    assert.equal(strip(renderNginxConfig(eff)), strip(renderNginxConfig(viaManifest)));
    assert.match(renderNginxConfig(eff), /split_clients .*\n\s+50% to;/);
  });

  it('returns the same table when no percent differs', () => {
    const t = table(10);
    assert.equal(withEffectivePercents(t, new Map([['images', 10]])), t);
  });
});
