// docs/errors.md's "HTTP answers" table and the HTTP_ANSWERS catalogue stay in sync, and the
// answers really carry their catalogue code and status (gateway refusals, admin errors).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { HTTP_ANSWERS, REFUSAL_CODES, upstreamFailureBody } from '../gateway/http-answers';
import { endSocketJson, replyJson } from '../gateway/util/json-reply';
import { PROJECT_ROOT } from '../gateway/version';
import { rawRequest } from './helpers/raw-http';

const DOC = readFileSync(join(PROJECT_ROOT, 'docs', 'errors.md'), 'utf8');

function documentedRows(): { code: string; status: number; by: string; message: string }[] {
  const part = DOC.split(/^# HTTP answers$/m)[1];
  assert.ok(part, 'docs/errors.md has a "# HTTP answers" section');
  return [...part.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \| (\w+) \| (.*) \|$/gm)]
    .map((m) => ({ code: m[1], status: Number(m[2]), by: m[3], message: m[4].replace(/\\\|/g, '|') }));
}

describe('HTTP answers: docs/errors.md and HTTP_ANSWERS', () => {
  it('documents every answer, in catalogue order, with its status, who answers and its meaning', () => {
    const expected = Object.entries(HTTP_ANSWERS).map(([code, a]) => ({ code, status: a.status, by: a.by, message: a.message }));
    assert.deepEqual(documentedRows(), expected);
  });

  it('maps each refusal status to a code with that status', () => {
    for (const [status, code] of Object.entries(REFUSAL_CODES)) assert.equal(HTTP_ANSWERS[code].status, Number(status), code);
  });

  it('gives nginx and the gateway one upstream failure body', () => {
    assert.deepEqual(upstreamFailureBody(502, 'r', 'function:f'), { error: 'upstream_failed', route: 'r', target: 'function:f' });
    assert.deepEqual(upstreamFailureBody(504, 'r', 'legacy'), { error: 'upstream_timeout', route: 'r', target: 'legacy' });
  });
});

describe('JSON replies: one helper for responses and raw sockets', () => {
  let server: Server;
  let port = 0;
  before(async () => {
    server = createServer((req, res) => replyJson(res, 413, { error: 'body_too_large' }, { 'x-extra': '1' }, { close: true }));
    server.on('connect', (_req, socket) => endSocketJson(socket as Socket, 400, { error: 'bad_request' }));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it('answers the same way on a ServerResponse and on a raw socket', async () => {
    for (const [request, status, code] of [
      ['GET / HTTP/1.1\r\nHost: x\r\n\r\n', 413, 'body_too_large'],
      ['CONNECT x:1 HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'bad_request'],
    ] as const) {
      const r = await rawRequest(port, '/', { rawRequest: request });
      assert.equal(r.status, status);
      assert.equal(r.headers['content-type'], 'application/json');
      assert.equal(r.headers.connection, 'close');
      assert.equal(Number(r.headers['content-length']), r.body.length);
      assert.deepEqual(JSON.parse(r.body.toString()), { error: code });
    }
  });
});
