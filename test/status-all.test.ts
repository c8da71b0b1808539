// `strangler status --all` (and `strangler diff`) over a fleet, in their pure parts: which
// instances are asked (each admin address once: an instance killed and restarted on the same
// address leaves a dead registry entry there for a while) and what is summed (every counter,
// the TO and LEGACY columns too).
import assert from 'node:assert/strict';
import { otherInstances } from '../gateway/cli/admin-client';
import { renderTable, sumStats, type StatusRoute } from '../gateway/cli/status';
import type { InstanceView } from '../gateway/runtime/admin-api';

function instance(id: string, admin: string, startedAt: string, self = false): InstanceView {
  return {
    id, hostname: 'h', pid: 1, admin, listen: '', traffic_pids: [], manifest_sha256: '', state_version: 3, available: true,
    started_at: startedAt, last_seen: startedAt, lag: 0, self,
  };
}

function route(requests: number, to: number, legacy: number): StatusRoute {
  return {
    id: 'users', to: 'function:users', manifest_percent: 50, effective_percent: 50, override: null, match: { kind: 'prefix', path: '/users' }, editable: true,
    stats: { requests, errors: 0, fallbacks: 0, by_target: { 'function:users': { requests: to, errors: 0 }, legacy: { requests: legacy, errors: 0 } } },
  };
}

describe('status --all over the instances', () => {
  it('asks each other admin address once, by its newest entry, and never the asked instance\'s address again', () => {
    const asked = otherInstances([
      instance('dead-self', 'http://127.0.0.1:9001', '2026-01-01T00:00:00Z'),
      instance('self', 'http://127.0.0.1:9001', '2026-01-01T01:00:00Z', true),
      instance('b-new', 'http://127.0.0.1:9002', '2026-01-01T01:00:00Z'),
      instance('b-dead', 'http://127.0.0.1:9002', '2026-01-01T00:00:00Z'),
      instance('c', 'http://127.0.0.1:9003', '2026-01-01T00:00:00Z'),
      instance('no-admin', '', '2026-01-01T00:00:00Z'),
    ]);
    assert.deepEqual(asked.map((i) => i.id), ['b-new', 'c']);
  });

  it('sums the requests by side (TO, LEGACY, and --json\'s by_target) with the totals', () => {
    const [sum] = sumStats([route(10, 6, 4)], [[route(20, 15, 5)], [route(5, 0, 5)]]);
    assert.equal(sum.stats.requests, 35);
    assert.deepEqual(sum.stats.by_target, { 'function:users': { requests: 21, errors: 0 }, legacy: { requests: 14, errors: 0 } });
    const row = renderTable([sum]).split('\n')[1].trim().split(/\s+/);
    assert.deepEqual(row.slice(5, 8), ['35', '21', '14'], `REQUESTS, TO, LEGACY in ${row.join(' ')}`);
  });
});
