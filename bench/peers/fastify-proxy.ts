// Peer: @fastify/http-proxy (undici underneath, 64 upstream connections), logging off.
// argv: upstream port.
import Fastify from 'fastify';
import proxy from '@fastify/http-proxy';

async function main(): Promise<void> {
  const app = Fastify({ logger: false, keepAliveTimeout: 120_000, bodyLimit: 64 * 1024 * 1024 });
  await app.register(proxy, {
    upstream: `http://127.0.0.1:${process.argv[2]}`,
    undici: { connections: 64, keepAliveTimeout: 60_000 },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address() as { port: number };
  process.stdout.write(JSON.stringify({ port: addr.port }) + '\n');
}

process.on('SIGTERM', () => process.exit(0));
main().catch((err) => {
  process.stderr.write(`fastify-proxy: ${(err as Error).stack}\n`);
  process.exit(1);
});
