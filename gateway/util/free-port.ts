// A loopback port nothing listens on: for tests and the benchmark, never hard-coded numbers.
//
// Chosen below the kernel's ephemeral range (net.ipv4.ip_local_port_range), which is where the
// kernel takes the local port of every outgoing connection: a port from port 0 is in that range,
// and between the check and the caller's listen an upstream connection could take it (seen as an
// EADDRINUSE in CI). Below the range only another listener can, and the check sees listeners.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const LOWEST = 10_000;
const ATTEMPTS = 50;

/** The first port of the kernel's ephemeral range (Linux; elsewhere the IANA range's 49152). */
export function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : 49_152;
  } catch {
    return 49_152;
  }
}

/** Listens on `port` (0: the kernel's choice) and closes again: the port it got, or null when taken. */
function tryPort(port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(null));
    srv.listen(port, '127.0.0.1', () => {
      const got = (srv.address() as { port: number }).port;
      srv.close(() => resolve(got));
    });
  });
}

export async function freePort(): Promise<number> {
  const high = ephemeralLow();
  if (high > LOWEST) {
    for (let i = 0; i < ATTEMPTS; i++) {
      const got = await tryPort(LOWEST + Math.floor(Math.random() * (high - LOWEST)));
      if (got !== null) return got;
    }
  }
  const got = await tryPort(0);
  if (got === null) throw new Error('no free loopback port');
  return got;
}
