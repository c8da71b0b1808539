// The Node gateway under test, started the way `strangler serve` starts it.
// argv: manifest path, state path, admin token[, workers]. Prints {"port":N,"admin":M} when listening.
import { startGateway } from '../../gateway/runtime/serve-gateway';

async function main(): Promise<void> {
  const [manifestPath, state, token, workers] = process.argv.slice(2);
  const gw = await startGateway({
    manifestPath, state, listen: '127.0.0.1:0', admin: '127.0.0.1:0',
    env: { STRANGLER_ADMIN_TOKEN: token }, watch: false, workers: Number(workers ?? 0),
  });
  process.stdout.write(JSON.stringify({ port: gw.listen.port, admin: gw.admin.port }) + '\n');
  // A clean exit lets --cpu-prof write its profile.
  process.on('SIGTERM', () => { void gw.close(500).finally(() => process.exit(0)); });
}

main().catch((err) => {
  process.stderr.write(`gateway: ${(err as Error).stack}\n`);
  process.exit(1);
});
