// The client address behind trusted proxies, and the CIDR parser and matcher it shares with
// the manifest checks.
import assert from 'node:assert/strict';
import { cidrMatcher, LOOPBACK_CIDRS, parseCidr, type Cidr } from '../gateway/manifest/cidr';
import { clientAddressResolver } from '../gateway/runtime/client-address';
import { upstreamRequestHeaders } from '../gateway/runtime/proxy-headers';

const cidrs = (...t: string[]) => t.map((x) => { const c = parseCidr(x); assert.ok(typeof c !== 'string', String(c)); return c as Cidr; });

describe('CIDR blocks (gateway/manifest/cidr.ts)', () => {
  it('parses addresses and blocks of both families, and says what is wrong with the rest', () => {
    assert.deepEqual((parseCidr('10.0.0.0/8') as Cidr).bits, 104);
    assert.deepEqual((parseCidr('::1') as Cidr).bits, 128);
    for (const bad of ['10.0.0.0/33', '::/129', 'example.com', '10.0.0', '10.0.0.0/', '10.0.0.0/x', '']) {
      assert.equal(typeof parseCidr(bad), 'string', bad);
    }
  });

  it('matches IPv4, IPv6 and IPv4-mapped addresses against their blocks', () => {
    const m = cidrMatcher(cidrs('10.0.0.0/8', '192.168.1.7', 'fd00::/8', ...LOOPBACK_CIDRS));
    for (const yes of ['10.1.2.3', '::ffff:10.9.9.9', '192.168.1.7', 'fd12::1', '127.5.5.5', '::1']) assert.ok(m(yes), yes);
    for (const no of ['11.0.0.1', '192.168.1.8', 'fe80::1', '::2', 'garbage', '']) assert.ok(!m(no), no);
    assert.ok(cidrMatcher(cidrs('0.0.0.0/0'))('203.0.113.1'));
    assert.ok(!cidrMatcher([])('127.0.0.1'));
  });
});

describe('client address behind trusted proxies', () => {
  const resolve = clientAddressResolver(cidrs('127.0.0.0/8', '10.0.0.0/8'));

  it('from a trusted peer: X-Real-IP, else the rightmost X-Forwarded-For entry that is not trusted', () => {
    assert.deepEqual(resolve('127.0.0.1', ['X-Real-IP', '203.0.113.9']), { address: '203.0.113.9', viaTrustedProxy: true });
    assert.equal(resolve('::ffff:127.0.0.1', ['x-forwarded-for', '198.51.100.1, 203.0.113.2, 10.1.1.1']).address, '203.0.113.2');
    assert.equal(resolve('127.0.0.1', ['x-forwarded-for', '10.0.0.5, 10.0.0.6']).address, '10.0.0.5', 'all trusted: the leftmost');
    assert.equal(resolve('127.0.0.1', ['x-forwarded-for', '198.51.100.1', 'X-Forwarded-For', '203.0.113.3']).address, '203.0.113.3', 'several lines read as one list');
    assert.equal(resolve('127.0.0.1', ['x-real-ip', 'not-an-address']).address, '127.0.0.1', 'garbage: the peer');
    assert.equal(resolve('127.0.0.1', []).address, '127.0.0.1');
  });

  it('from any other peer: the socket address, whatever the headers say', () => {
    assert.deepEqual(resolve('203.0.113.50', ['x-real-ip', '1.2.3.4', 'x-forwarded-for', '5.6.7.8']), { address: '203.0.113.50', viaTrustedProxy: false });
  });

  it('forwarding headers go upstream as a trusted peer sent them, and are rebuilt for anyone else', () => {
    const raw = ['X-Real-IP', '203.0.113.9', 'X-Forwarded-For', '203.0.113.9', 'X-Forwarded-Proto', 'https', 'X-Forwarded-Host', 'shop.example'];
    const pick = (h: string[]) => Object.fromEntries(h.flatMap((v, i) => (i % 2 === 0 && v.startsWith('x-') ? [[v, h[i + 1]]] : [])));
    assert.deepEqual(pick(upstreamRequestHeaders(raw, undefined, { host: 'h', remoteAddress: '203.0.113.9', viaTrustedProxy: true, scheme: 'http', requestId: 'r-1' })),
      { 'x-real-ip': '203.0.113.9', 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'shop.example', 'x-request-id': 'r-1' });
    assert.deepEqual(pick(upstreamRequestHeaders(raw, undefined, { host: 'h', remoteAddress: '198.51.100.4', viaTrustedProxy: false, scheme: 'http', requestId: 'r-2' })),
      { 'x-real-ip': '198.51.100.4', 'x-forwarded-for': '203.0.113.9, 198.51.100.4', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'h', 'x-request-id': 'r-2' });
  });

  it('several forwarding lines: X-Forwarded-For lines joined in order, the last of each other header', () => {
    const raw = ['X-Forwarded-For', '198.51.100.1', 'X-Real-IP', '198.51.100.1', 'x-forwarded-for', '198.51.100.2', 'x-real-ip', '198.51.100.2', 'X-Forwarded-Proto', 'http', 'X-Forwarded-Proto', 'https'];
    const pick = (h: string[]) => Object.fromEntries(h.flatMap((v, i) => (i % 2 === 0 && v.startsWith('x-') && v !== 'x-request-id' ? [[v, h[i + 1]]] : [])));
    const names = (h: string[]) => h.filter((_, i) => i % 2 === 0);
    const trusted = upstreamRequestHeaders(raw, undefined, { host: 'h', remoteAddress: '198.51.100.2', viaTrustedProxy: true, scheme: 'http', requestId: 'r' });
    assert.deepEqual(pick(trusted), { 'x-real-ip': '198.51.100.2', 'x-forwarded-for': '198.51.100.1, 198.51.100.2', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'h' });
    const direct = upstreamRequestHeaders(raw, undefined, { host: 'h', remoteAddress: '203.0.113.5', viaTrustedProxy: false, scheme: 'http', requestId: 'r' });
    assert.deepEqual(pick(direct), { 'x-real-ip': '203.0.113.5', 'x-forwarded-for': '198.51.100.1, 198.51.100.2, 203.0.113.5', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'h' });
    for (const h of [trusted, direct]) assert.equal(names(h).length, new Set(names(h)).size, 'each forwarding header once');
  });
});
