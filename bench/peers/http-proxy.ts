// Peer: node-http-proxy as its README shows it, with a keep-alive agent to the upstream (64
// sockets, like the other configurations' upstream pools). argv: upstream port.
import { Agent, createServer } from 'node:http';
import httpProxy from 'http-proxy';

const proxy = httpProxy.createProxyServer({
  target: `http://127.0.0.1:${process.argv[2]}`,
  agent: new Agent({ keepAlive: true, maxSockets: 64, keepAliveMsecs: 60_000 }),
});
proxy.on('error', (_err, _req, res) => {
  const r = res as import('node:http').ServerResponse;
  if (!r.headersSent) r.writeHead(502, { 'content-type': 'text/plain' });
  r.end('bad gateway');
});

const server = createServer((req, res) => proxy.web(req, res));
server.keepAliveTimeout = 120_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ port: (server.address() as { port: number }).port }) + '\n'));
process.on('SIGTERM', () => process.exit(0));
