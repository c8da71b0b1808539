// Memory back after a storm of connections. 10,000 clients opened at once leave their requests'
// objects in V8's old generation; once they close nothing allocates, so nothing collects them, and
// an idle gateway kept 200 MiB it no longer used (with or without V8's memory reducer). Once the
// open connections have fallen well below their peak, two full collections a second apart (the
// first frees the objects, the second returns the emptied pages) gave back 85% of it
// (bench/idle-connections.ts).
import type { Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** A storm: at least this many connections closed since the peak. */
export const STORM_CONNECTIONS = 1000;
const SETTLE_MS = 1000;

type Collect = (options: { type: 'major'; execution: 'async' }) => Promise<void>;

let collector: Collect | null | undefined;

/** V8's gc(), without a command-line flag (as jest's leak detector gets it); null where V8 refuses. */
function gcFunction(): Collect | null {
  if (collector !== undefined) return collector;
  try {
    setFlagsFromString('--expose-gc');
    collector = runInNewContext('gc') as Collect;
  } catch {
    collector = null;
  }
  return collector;
}

export interface StormWatch {
  /** A collection is scheduled or running. */
  pending(): boolean;
  stop(): void;
}

/** Watches `server`'s connections; after a storm has passed, collects twice, then calls `onCollected`. */
export function collectAfterStorms(server: Server, onCollected?: () => void): StormWatch {
  let open = 0;
  let peak = 0;
  let busy = false;
  const stopped = new AbortController();
  const wait = () => sleep(SETTLE_MS, undefined, { ref: false, signal: stopped.signal });
  // Each step waits a second: the storm finishes closing first, then the emptied pages settle.
  const collectTwice = async () => {
    await wait();
    peak = open;
    const gc = gcFunction();
    if (gc === null) return;
    await gc({ type: 'major', execution: 'async' });
    await wait();
    await gc({ type: 'major', execution: 'async' });
    onCollected?.();
  };
  const closed = () => {
    open--;
    if (busy || peak - open < STORM_CONNECTIONS || open > peak / 2) return;
    busy = true;
    collectTwice().catch(() => undefined).finally(() => { busy = false; });
  };
  const opened = (socket: { once(event: 'close', fn: () => void): unknown }) => {
    open++;
    if (open > peak) peak = open;
    socket.once('close', closed);
  };
  server.on('connection', opened);
  return {
    pending: () => busy,
    stop() {
      server.off('connection', opened);
      stopped.abort();
    },
  };
}
