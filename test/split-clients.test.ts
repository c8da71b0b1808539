// split_clients parity: our MurmurHash2 and thresholds against known vectors and a real nginx.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Pool } from 'undici';
import {
  canarySide, formatSplitPercent, hashKey, murmurHash2, parseSplitPercent, percentToHundredths,
  splitClientsBucket, splitClientsThresholds, type SplitPart,
} from '../gateway/runtime/split-clients.js';
import { freePort } from './helpers/net.js';
import { nginxTestConf, requireNginx, startNginx, type RunningNginx } from './helpers/nginx.js';

describe('split_clients: MurmurHash2', () => {
  it('matches published seed-0 MurmurHash2 values', () => {
    // Independent values (ClickHouse's murmurHash2_32 test reference, seed 0).
    assert.equal(murmurHash2(Buffer.from('foo')), 2414502773);
    assert.equal(murmurHash2(Buffer.from('bar')), 670491991);
    assert.equal(murmurHash2(Buffer.from([3])), 3533626746);
    assert.equal(murmurHash2(Buffer.alloc(0)), 0);
  });

  it('hashes strings as latin1 bytes, or UTF-8 when they hold wider chars', () => {
    const bin = '\xe9t\xe9-\xff\x00z';
    assert.equal(hashKey(bin), murmurHash2(Buffer.from(bin, 'latin1')));
    assert.equal(hashKey('日本語'), murmurHash2(Buffer.from('日本語', 'utf8')));
    for (let len = 0; len < 12; len++) {
      const s = 'abcdefghijkl'.slice(0, len);
      for (let cut = 0; cut <= len; cut++) {
        assert.equal(hashKey(s.slice(0, cut), s.slice(cut)), murmurHash2(Buffer.from(s)), `${s} split at ${cut}`);
      }
    }
    assert.equal(hashKey('k\u0100', 'salt'), murmurHash2(Buffer.from('k\u0100salt', 'utf8')));
  });
});

describe('split_clients: percents and thresholds', () => {
  it('parses percents like ngx_atofp(…, 2): hundredths, extra decimals truncated', () => {
    assert.equal(parseSplitPercent('25%'), 2500);
    assert.equal(parseSplitPercent('0.01%'), 1);
    assert.equal(parseSplitPercent('33.33%'), 3333);
    assert.equal(parseSplitPercent('12.345%'), 1234);
    assert.equal(parseSplitPercent('.5%'), 50);
    assert.equal(parseSplitPercent('5.%'), 500);
    assert.equal(parseSplitPercent('*'), 0);
    for (const bad of ['0%', '0.001%', '%', '25', '2.5.0%', '-1%', 'x%', '.%']) {
      assert.throws(() => parseSplitPercent(bad), /invalid percent/, bad);
    }
  });

  it('converts numbers without floating-point noise and formats them for a config', () => {
    assert.equal(percentToHundredths(0.29), 29);
    assert.equal(percentToHundredths(33.33), 3333);
    assert.equal(percentToHundredths(12.345), 1234);
    assert.equal(formatSplitPercent(12.5), '12.50%');
    assert.equal(formatSplitPercent(0.01), '0.01%');
    assert.equal(formatSplitPercent(10), '10%');
  });

  it('computes nginx\'s truncated cumulative thresholds', () => {
    assert.deepEqual(splitClientsThresholds([25, '*']), [1073741823, 0]);
    assert.deepEqual(splitClientsThresholds(['50%', '50%']), [2147483647, 4294967294]);
    assert.deepEqual(splitClientsThresholds([100]), [0xffffffff]);
    assert.deepEqual(splitClientsThresholds([0.01, 99.99]), [429496, 429496 + 4294537798]);
    assert.throws(() => splitClientsThresholds([60, 50]), /greater than 100%/);
    assert.throws(() => splitClientsThresholds(['*', 10]), /greater than 100%/);
    assert.throws(() => splitClientsThresholds([0, '*']), /invalid percent/);
    assert.deepEqual(splitClientsThresholds(['*', '*']), [0, 0]);
  });

  it('picks the first part above the hash, "*" always, and nothing past a short total', () => {
    const t = splitClientsThresholds([10, 20]);
    const key = (want: (h: number) => boolean) => {
      for (let i = 0; ; i++) if (want(hashKey(`k${i}`))) return `k${i}`;
    };
    assert.equal(splitClientsBucket(key((h) => h < t[0]), t), 0);
    assert.equal(splitClientsBucket(key((h) => h >= t[0] && h < t[1]), t), 1);
    assert.equal(splitClientsBucket(key((h) => h >= t[1]), t), -1);
    assert.equal(splitClientsBucket(key((h) => h >= t[1]), [...t, 0]), 2);
  });

  it('canarySide: 0 is always legacy, 100 always to', () => {
    for (let i = 0; i < 200; i++) {
      assert.equal(canarySide(`u${i}`, 's', 0), 'legacy');
      assert.equal(canarySide(`u${i}`, 's', 100), 'to');
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Against nginx

interface SplitSet { name: string; key: string; parts: SplitPart[] }

const SALT = 'route-7:x_y.z';
const SETS: SplitSet[] = [
  { name: 'a', key: '${arg_k}SALT', parts: ['25%', '*'] },
  { name: 'b', key: '${arg_k}SALT', parts: ['0.01%', '*'] },
  { name: 'c', key: '${arg_k}', parts: ['33.33%', '33.33%', '*'] },
  { name: 'd', key: '${arg_k}x', parts: ['99.99%', '*'] },
  { name: 'e', key: 'pre-${arg_k}-post', parts: ['10%', '20%', '30.5%', '12.34%'] },
  { name: 'f', key: '${arg_k}', parts: ['50%', '50%'] },
  { name: 'g', key: '${arg_k}', parts: ['0.5%', '1.25%', '7.77%', '40%', '*'] },
  { name: 'h', key: '${arg_k}' + SALT, parts: ['12.5%', '*'] },
];

/** The bytes nginx hashes for a set, given $arg_k. */
function keyFor(set: SplitSet, k: string): string {
  return set.key.replace('${arg_k}', k);
}

function randomKey(): string {
  // URL-safe: base64url of 1..24 random bytes.
  return randomBytes(1 + (randomBytes(1)[0] % 24)).toString('base64url');
}

describe('split_clients: parity with nginx', function () {
  this.timeout(60_000);
  let nginx: RunningNginx | undefined;
  let pool: Pool | undefined;

  before(async function () {
    requireNginx(this);
    const port = await freePort();
    const blocks = SETS.map((s) =>
      `split_clients "${s.key}" $split_${s.name} {\n` +
      s.parts.map((p, i) => `    ${p} ${i};\n`).join('') +
      '}\n').join('');
    const body = SETS.map((s) => `$split_${s.name}`).join(',');
    nginx = await startNginx(nginxTestConf({
      port,
      http: blocks,
      server: `location / {\n    return 200 "${body}";\n}\n`,
    }));
    pool = new Pool(`http://127.0.0.1:${port}`, { connections: 8, pipelining: 1 });
  });

  after(async () => {
    await pool?.close();
    await nginx?.stop();
  });

  async function nginxBuckets(k: string | null): Promise<number[]> {
    const path = k === null ? '/' : `/?k=${k}`;
    const res = await pool!.request({ method: 'GET', path });
    const text = await res.body.text();
    assert.equal(res.statusCode, 200, text);
    return text.split(',').map((v) => (v === '' ? -1 : Number(v)));
  }

  /** Random keys, plus keys whose hash lands just either side of some threshold. */
  function corpus(): string[] {
    const keys = new Set<string>();
    while (keys.size < 1500) keys.add(randomKey());
    const near = 1 << 19;
    const per = new Map<string, number>();
    const all = SETS.map((s) => splitClientsThresholds(s.parts));
    for (let i = 0; i < 200_000; i++) {
      const k = `n${i.toString(36)}`;
      for (let si = 0; si < SETS.length; si++) {
        const s = SETS[si];
        const h = hashKey(keyFor(s, k));
        for (const t of all[si]) {
          if (t === 0 || Math.abs(h - t) > near) continue;
          const id = `${s.name}:${t}:${h < t}`;
          if ((per.get(id) ?? 0) >= 4) continue;
          per.set(id, (per.get(id) ?? 0) + 1);
          keys.add(k);
        }
      }
    }
    return [...keys];
  }

  it('agrees with nginx on every key for every split (≥1,000 keys each, thresholds probed)', async () => {
    const thresholds = SETS.map((s) => splitClientsThresholds(s.parts));
    const keys = corpus();
    assert.ok(keys.length >= 1500);
    const mismatches: string[] = [];
    const check = (k: string | null, got: number[]) => {
      SETS.forEach((s, i) => {
        const want = splitClientsBucket(keyFor(s, k ?? ''), thresholds[i]);
        if (got[i] !== want) mismatches.push(`set ${s.name} key ${JSON.stringify(k)}: nginx ${got[i]}, ours ${want}`);
      });
      const h = SETS.length - 1;
      const side = canarySide(k ?? '', SALT, 12.5);
      if ((got[h] === 0 ? 'to' : 'legacy') !== side) mismatches.push(`canarySide(${k}): nginx ${got[h]}, ours ${side}`);
    };
    // The empty key: no argument at all, and an empty one.
    check(null, await nginxBuckets(null));
    check('', await nginxBuckets(''));
    const width = 16;
    for (let i = 0; i < keys.length; i += width) {
      const batch = keys.slice(i, i + width);
      const results = await Promise.all(batch.map((k) => nginxBuckets(k)));
      batch.forEach((k, j) => check(k, results[j]));
    }
    assert.deepEqual(mismatches.slice(0, 20), []);
    // Every part of every set was exercised at least once.
    const seen = SETS.map(() => new Set<number>());
    for (const k of keys) SETS.forEach((s, i) => seen[i].add(splitClientsBucket(keyFor(s, k), thresholds[i])));
    SETS.forEach((s, i) => {
      for (let p = 0; p < s.parts.length; p++) assert.ok(seen[i].has(p), `set ${s.name} part ${p} never chosen`);
    });
  });
});
