// Holds idle keep-alive clients open against one layer, in a process of its own, so the bench's
// process (which times the load) never carries 10,000 sockets, and stopping the holder closes
// them all. Each client sends one GET, reads the answer, then stays silent.
// argv: port, count, gradual|burst, path. Prints {"opened":N} once they are open; on SIGTERM,
// closes them and exits.
import { connect, type Socket } from 'node:net';

const BATCH = 100;

/** One client; null when the layer refused, reset or closed it before answering. */
function idleClient(port: number, path: string): Promise<Socket | null> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let settled = false;
    const done = (ok: boolean) => {
      if (settled) return;
      settled = true;
      if (!ok) s.destroy();
      resolve(ok ? s : null);
    };
    s.on('error', () => done(false));
    // A layer out of connections may close without a word (nginx past worker_connections): a
    // socket timer never fires on a closed socket, so without this the opening would wait forever.
    s.on('close', () => done(false));
    s.once('connect', () => s.write(`GET ${path} HTTP/1.1\r\nHost: bench\r\n\r\n`));
    s.on('data', (d: Buffer) => { if (d.includes('\r\n\r\n')) done(true); });
    s.setTimeout(30_000, () => done(false));
  });
}

async function open(port: number, n: number, mode: string, path: string): Promise<Socket[]> {
  const size = mode === 'burst' ? n : BATCH;
  const out: Socket[] = [];
  for (let i = 0; i < n; i += size) {
    const batch = await Promise.all(Array.from({ length: Math.min(size, n - i) }, () => idleClient(port, path)));
    for (const s of batch) if (s) out.push(s);
  }
  return out;
}

async function main(): Promise<void> {
  const [port, count, mode, path] = process.argv.slice(2);
  if (mode !== 'gradual' && mode !== 'burst') throw new Error(`mode ${mode}: expected gradual or burst`);
  const held = await open(Number(port), Number(count), mode, path);
  process.on('SIGTERM', () => {
    for (const s of held) s.destroy();
    process.exit(0);
  });
  process.stdout.write(JSON.stringify({ opened: held.length }) + '\n');
}

main().catch((err) => {
  process.stderr.write(`idle-holder: ${(err as Error).stack}\n`);
  process.exit(1);
});
