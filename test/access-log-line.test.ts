// One access log line as formatAccessLine writes it: a binary string (one char a byte) that the
// writer puts on disk as latin1, so the bytes of the values are the bytes in the file.
import assert from 'node:assert/strict';
import { formatAccessLine } from '../gateway/runtime/access-log';
import type { AccessLine } from '../gateway/nginx/log-format';

const LINE: AccessLine = {
  time: '2026-12-02T10:00:00+00:00', route: 'track', target: 'function:track-package', method: 'GET', uri: '/api/v1/track/42',
  status: 200, bytes: 80, request_time: 0.0012, upstream_response_time: '', upstream_addr: '', upstream_status: '',
  remote_addr: '127.0.0.1', request_id: '0123456789abcdef0123456789abcdef', user_agent: 'curl/8.0',
};

/** The line as the file holds it, decoded as UTF-8 JSON. */
const onDisk = (line: string) => JSON.parse(Buffer.from(line, 'latin1').toString('utf8')) as Record<string, unknown>;

describe('access log line', () => {
  it('bytes above 0x7f in a value go out unchanged, as nginx\'s escape=json leaves them', () => {
    const ua = Buffer.from('café ✓', 'utf8').toString('latin1'); // as Node gives a header sent in UTF-8
    const line = formatAccessLine({ ...LINE, user_agent: ua });
    assert.ok(Buffer.from(line, 'latin1').includes(Buffer.from('"user_agent":"café ✓"', 'utf8')));
    assert.equal(onDisk(line).user_agent, 'café ✓');
  });

  it('quotes, backslashes and control characters are escaped; the line stays one line', () => {
    const line = formatAccessLine({ ...LINE, user_agent: 'a "b" \\ c\td\n' });
    assert.equal(line.indexOf('\n'), line.length - 1);
    assert.equal(onDisk(line).user_agent, 'a "b" \\ c\td\n');
  });

  it('a value with a char above 0xFF (not from the wire) is logged as its UTF-8 bytes', () => {
    const line = formatAccessLine({ ...LINE, user_agent: 'x✓"' });
    assert.ok(![...line].some((c) => c.charCodeAt(0) > 0xff), 'a binary string');
    assert.equal(onDisk(line).user_agent, 'x✓"');
  });

  it('numbers are bare, request_time to the millisecond', () => {
    const parsed = onDisk(formatAccessLine(LINE));
    assert.equal(parsed.status, 200);
    assert.equal(parsed.bytes, 80);
    assert.equal(parsed.request_time, 0.001);
  });
});
