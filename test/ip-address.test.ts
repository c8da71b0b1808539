// The address parser the manifest checks and the gateway share: it must accept exactly what
// node:net's isIP accepts (it exists only to spare the CLI the cost of node's IPv6 expression).
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import fc from 'fast-check';
import { ipFamily, parseIpAddress } from '../gateway/util/ip-address';
import { propertySeed } from './helpers/property-seed';

const RUNS = Number(process.env.STRANGLER_IP_RUNS ?? 20000);

describe('IP address text (gateway/util/ip-address.ts)', () => {
  it('answers as node:net isIP on hand-picked addresses and near misses', () => {
    const cases = [
      '127.0.0.1', '0.0.0.0', '255.255.255.255', '256.1.1.1', '01.2.3.4', '1.2.3', '1.2.3.4.5', '1..2.3', ' 1.2.3.4', '1.2.3.4 ',
      '::', '::1', '1::', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7::', '::2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7',
      ':::', '1::2::3', ':1:2:3:4:5:6:7', '1:2:3:4:5:6:7:', '12345::', 'g::', 'FFFF::ffff',
      '::ffff:10.0.0.1', '::1.2.3.4', '1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5::1.2.3.4', '1:2:3:4:5:6::1.2.3.4', '1.2.3.4::', '::1.2.3', '::01.2.3.4',
      'fe80::1%eth0', 'fe80::1%', 'fe80::1%a%b', '1.2.3.4%eth0', 'fe80::1%e-t.h:0', '[::1]', '', 'localhost',
    ];
    for (const c of cases) assert.equal(ipFamily(c), isIP(c), JSON.stringify(c));
  });

  it('gives the 16 bytes of each family, IPv4 as IPv4-mapped', () => {
    assert.deepEqual(parseIpAddress('10.1.2.3')!.bytes, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 10, 1, 2, 3]);
    assert.deepEqual(parseIpAddress('::ffff:10.1.2.3')!.bytes, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 10, 1, 2, 3]);
    assert.deepEqual(parseIpAddress('2001:db8::a:1%eth0')!.bytes, [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a, 0, 1]);
    assert.deepEqual(parseIpAddress('1:2:3:4:5:6:7::')!.bytes.slice(12), [0, 7, 0, 0]);
  });

  it('agrees with node:net isIP on generated text (fast-check)', () => {
    const group = fc.oneof(
      { weight: 8, arbitrary: fc.stringMatching(/^[0-9a-fA-F]{1,4}$/) },
      { weight: 1, arbitrary: fc.stringMatching(/^[0-9a-fA-F]{0,5}$/) },
      { weight: 1, arbitrary: fc.constantFrom('0', '1.2.3.4', '255.0.0.01', '999.1.1.1', '1.2.3', '') },
    );
    // Groups joined by ":", with empty groups inserted to make "::" (or ":::" and worse).
    const shaped = fc.tuple(fc.array(group, { maxLength: 9 }), fc.array(fc.nat(10), { maxLength: 3 }), fc.constantFrom('', '', '%eth0', '%', '%a b'))
      .map(([groups, gaps, zone]) => {
        const gs = [...groups];
        for (const at of gaps) gs.splice(Math.min(at, gs.length), 0, '');
        return gs.join(':') + zone;
      });
    const loose = fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF:.%xg-'), maxLength: 24 });
    fc.assert(fc.property(fc.oneof(shaped, loose), (text) => ipFamily(text) === isIP(text)), { numRuns: RUNS, seed: propertySeed() });
  });
});
