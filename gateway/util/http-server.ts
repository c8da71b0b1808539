// Listening and stopping, the same way for the traffic listener and the admin API.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Resolves once listening (port 0: the port the kernel chose is in the address); rejects on EADDRINUSE and the like. */
export function listen(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/**
 * Stops accepting, closes idle keep-alive connections, and lets requests in flight finish for
 * up to `graceMs`; then cuts whatever is left.
 */
export async function closeGracefully(server: Server, graceMs: number): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  // A keep-alive connection whose request was in flight turns idle when it ends: close it
  // then, or it would hold the shutdown until the end of the grace period.
  const sweep = setInterval(() => server.closeIdleConnections(), 50);
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<void>((resolve) => { timer = setTimeout(resolve, graceMs); });
  await Promise.race([closed, grace]);
  clearTimeout(timer);
  clearInterval(sweep);
  server.closeAllConnections();
  await closed;
}
