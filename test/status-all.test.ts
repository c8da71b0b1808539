// `strangler status --all` (and `strangler diff`) over a fleet, in their pure parts: which
// instances are asked (each admin address once: an instance killed and restarted on the same
// address leaves a dead registry entry there for a while).
import assert from 'node:assert/strict';
import { otherInstances } from '../gateway/cli/admin-client';
import type { InstanceView } from '../gateway/runtime/admin-api';

function instance(id: string, admin: string, startedAt: string, self = false): InstanceView {
  return {
    id, hostname: 'h', pid: 1, admin, listen: '', traffic_pids: [], manifest_sha256: '', state_version: 3, available: true,
    started_at: startedAt, last_seen: startedAt, lag: 0, self,
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
});
