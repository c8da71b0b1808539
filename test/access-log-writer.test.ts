// The gateway's access log writer: lines reach the file off the request path; a disk that does
// not keep up fills a bounded buffer and further lines are dropped and counted, never queued
// without bound; a failing disk loses lines it counts; SIGUSR1's reopen follows logrotate.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { AccessLogWriter } from '../gateway/runtime/access-log-writer';

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

describe('access log writer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'strangler-access-'));

  it('writes every line, in order, and counts them', async () => {
    const path = join(dir, 'a.log');
    const w = new AccessLogWriter({ kind: 'file', path });
    for (let i = 0; i < 1000; i++) w.append(`{"n":${i}}\n`);
    await w.close();
    const got = readFileSync(path, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l).n);
    assert.deepEqual(got, Array.from({ length: 1000 }, (_, i) => i));
    assert.equal(w.written, 1000);
    assert.equal(w.dropped, 0);
  });

  it('lines are written byte for byte as they arrive: bytes above 0x7f across batch boundaries and a line longer than a batch arrive intact', async () => {
    const path = join(dir, 'bytes.log');
    const w = new AccessLogWriter({ kind: 'file', path });
    // Binary strings (one char a byte, as Node gives header values) of UTF-8 text and of bytes no
    // UTF-8 decoder accepts, in lines of many lengths; one line of 100 KiB.
    const binary = (text: string) => Buffer.from(text, 'utf8').toString('latin1');
    const lines: string[] = [];
    for (let i = 0; i < 5000; i++) lines.push(`{"n":${i},"ua":"${binary('€'.repeat(i % 97))}${'\xff\xe9'.repeat(i % 5)}${binary('é😀x'.repeat(i % 7))}"}\n`);
    lines.splice(1500, 0, `{"big":"${binary('ü'.repeat(50_000))}"}\n`);
    for (const l of lines) w.append(l);
    await w.close();
    assert.deepEqual(readFileSync(path), Buffer.from(lines.join(''), 'latin1'));
    assert.equal(w.written, lines.length);
    assert.equal(w.dropped, 0);
  });

  it('a destination that does not drain (a FIFO nobody reads yet): append never blocks, the buffer stays bounded, the rest is dropped and counted', async () => {
    const fifo = join(dir, 'slow.fifo');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    const w = new AccessLogWriter({ kind: 'file', path: fifo }, { maxBytes: 10_000 });
    const line = 'x'.repeat(99) + '\n';
    // open() of a FIFO waits for a reader in the thread pool: the event loop runs on.
    for (let i = 0; i < 1000; i++) w.append(line);
    assert.ok(w.dropped >= 900, `dropped ${w.dropped}`);
    const registry = new Registry();
    w.register(registry);
    assert.match(await registry.metrics(), new RegExp(`strangler_access_log_dropped_lines_total ${w.dropped}`));
    // A reader arrives: what was buffered is written, nothing more.
    let received = '';
    const reader = createReadStream(fifo, { encoding: 'utf8' }).on('data', (d) => { received += d; });
    await until(() => w.written + w.dropped === 1000, 'the buffered lines to be written');
    await w.close();
    await new Promise<void>((r) => reader.on('close', () => r()));
    assert.equal(received.length, w.written * line.length);
    assert.ok(w.written > 0 && w.written <= 100, `written ${w.written}`);
  });

  it('a full disk (/dev/full): the lines are counted as dropped, the error is reported once, nothing throws', async function () {
    if (!existsSync('/dev/full')) return this.skip();
    const errors: string[] = [];
    const w = new AccessLogWriter({ kind: 'file', path: '/dev/full' }, { onError: (m) => errors.push(m) });
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 10; i++) w.append('{"n":1}\n');
      await w.flush();
    }
    assert.equal(w.dropped, 50);
    assert.equal(w.written, 0);
    assert.equal(errors.length, 1);
    assert.match(errors[0], /ENOSPC/);
    await w.close();
  });

  it('reopen(): after logrotate renamed the file, the next lines go to a new file at the path', async () => {
    const path = join(dir, 'rotate.log');
    const w = new AccessLogWriter({ kind: 'file', path });
    w.append('before\n');
    await w.flush();
    renameSync(path, `${path}.1`);
    w.append('still-old\n'); // the open descriptor still points at the renamed file
    await w.flush();
    w.reopen();
    w.append('after\n');
    await w.close();
    assert.equal(readFileSync(`${path}.1`, 'utf8'), 'before\nstill-old\n');
    assert.equal(readFileSync(path, 'utf8'), 'after\n');
  });
});
