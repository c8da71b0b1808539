// The echo upstream every configuration proxies to: a plain node:http server on loopback that
// answers any request, after reading its body, with a small JSON echo of method, path and body
// size. Run as a child process: prints {"port":N} when listening.
// argv: [port] [delay ms]: with a delay, every answer waits that long (a slow upstream).
import { createServer } from 'node:http';

const DELAY_MS = Number(process.argv[3] ?? 0);

const server = createServer((req, res) => {
  let bytes = 0;
  req.on('data', (chunk: Buffer) => { bytes += chunk.length; });
  req.on('end', () => {
    const body = JSON.stringify({ served_by: 'echo', method: req.method, url: req.url, bytes });
    const answer = () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (DELAY_MS > 0) setTimeout(answer, DELAY_MS);
    else answer();
  });
});
// Proxies keep idle upstream connections for up to 60 s: never close one under them.
server.keepAliveTimeout = 120_000;
server.headersTimeout = 130_000;
server.requestTimeout = 0;
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  process.stdout.write(JSON.stringify({ port }) + '\n');
});
process.on('SIGTERM', () => { server.close(); server.closeAllConnections(); });
