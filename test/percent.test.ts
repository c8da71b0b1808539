// The percent rule's one home: exact parsing (no value that would round to another percent) and
// the spellings nginx.conf and split_clients use.
import assert from 'node:assert/strict';
import { effectivePercent, formatPercent, formatSplitPercent, isValidPercent, parsePercentText } from '../gateway/manifest/percent';
import type { Route } from '../gateway/manifest/route-table';

describe('percent: one rule, exact', () => {
  it('accepts whole hundredths from 0 to 100, including binary-noisy literals', () => {
    for (const p of [0, 0.01, 0.29, 12.5, 33.33, 99.99, 100]) assert.ok(isValidPercent(p), String(p));
    for (let k = 0; k <= 10000; k++) assert.ok(isValidPercent(k / 100), `${k}/100`);
  });

  it('refuses values that would round to another percent, and everything else', () => {
    for (const p of [1e-9, 33.330000001, 12.345, 0.001, 99.999, -0.01, 100.01, NaN, Infinity, '50', null, undefined]) {
      assert.equal(isValidPercent(p), false, String(p));
    }
  });

  it('parses command-line text exactly', () => {
    assert.equal(parsePercentText('12.5'), 12.5);
    assert.equal(parsePercentText('12.5%'), 12.5);
    assert.equal(parsePercentText('100'), 100);
    for (const t of ['101', '1.234', '-1', '', 'x', '1e-9', '12.', '.5']) assert.equal(parsePercentText(t), undefined, t);
  });

  it('spells a percent for nginx.conf (shortest) and for split_clients (two decimals)', () => {
    assert.deepEqual([12.5, 0.01, 10, 33.33, 0.1].map(formatPercent), ['12.5', '0.01', '10', '33.33', '0.1']);
    assert.deepEqual([12.5, 0.01, 10].map(formatSplitPercent), ['12.50%', '0.01%', '10%']);
  });

  it('effectivePercent: the override wins over the manifest', () => {
    const route = { canary: { percent: 30 } } as Route;
    assert.equal(effectivePercent(route, undefined), 30);
    assert.equal(effectivePercent(route, { percent: 0 }), 0);
  });
});
