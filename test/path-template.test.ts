// Backlog templates fold identifiers and nothing else.
import assert from 'node:assert/strict';
import { pathTemplate } from '../gateway/report/path-template';

describe('path templates for the backlog', () => {
  const folds: [string, string][] = [
    ['/users/42', '/users/{id}'],
    ['/users/42/orders/7', '/users/{id}/orders/{id}'],
    ['/orders/550e8400-e29b-41d4-a716-446655440000', '/orders/{uuid}'],
    ['/orders/550E8400-E29B-41D4-A716-446655440000/items', '/orders/{uuid}/items'],
    ['/objects/5f2b6c1e9d3a4b7c8e1f2a3b', '/objects/{hex}'],
    ['/blobs/da39a3ee5e6b4b0d3255bfef95601890afd80709', '/blobs/{hex}'],
    ['/reports/2026-12-01', '/reports/{date}'],
    ['/reports/20261201/summary', '/reports/{date}/summary'],
    ['/events/2026-12-01T10:00:00Z', '/events/{date}'],
    ['/invoices/1234.pdf', '/invoices/{id}.pdf'],
    ['/users/42?tab=profile', '/users/{id}'],
    ['/archive/2026', '/archive/{id}'],
  ];
  for (const [path, template] of folds) it(`${path} -> ${template}`, () => assert.equal(pathTemplate(path), template));

  const kept = ['/static/app.js', '/', '/v2/users', '/img/logo-2x.png', '/api/v1/track', '/deadbeef', '/cafebabecafebabe', '/abc123', '/1.2.3', '/users/me', '/a//b/'];
  for (const path of kept) it(`${path} stays itself`, () => assert.equal(pathTemplate(path), path));

  it('a very long path is cut to a bounded key', () => {
    const t = pathTemplate('/' + 'a'.repeat(5000));
    assert.ok(t.length <= 256);
    assert.ok(t.endsWith('…'));
  });
});
