// freePort: a port a test can listen on, outside the range the kernel gives outgoing connections.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { ephemeralLow, freePort } from '../gateway/util/free-port';

describe('freePort: a loopback port for tests and the bench', () => {
  it('is below the kernel\'s ephemeral range, free to listen on, and spread (at least 18 distinct in 20)', async () => {
    const low = ephemeralLow();
    const ports = new Set<number>();
    for (let i = 0; i < 20; i++) {
      const port = await freePort();
      assert.ok(port >= 1024 && port < low, `${port} outside [1024, ${low})`);
      ports.add(port);
      const srv = createServer();
      await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(port, '127.0.0.1', resolve));
      await new Promise((resolve) => srv.close(resolve));
    }
    assert.ok(ports.size >= 18, `only ${ports.size} distinct ports in 20`);
  });
});
