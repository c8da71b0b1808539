// Peer: the bare minimum a Node proxy can be. node:http in, undici Pool.stream out, no routing,
// bodies streamed both ways. argv: upstream port. Prints {"port":N} when listening.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { Pool } from 'undici';

const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer']);

function strip<T extends IncomingHttpHeaders | Record<string, string | string[] | undefined>>(h: T): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined && !HOP.has(k)) out[k] = v;
  return out;
}

const pool = new Pool(`http://127.0.0.1:${process.argv[2]}`, { connections: 64, keepAliveTimeout: 60_000 });

const server = createServer((req, res) => {
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  pool.stream(
    { path: req.url!, method: req.method as 'GET', headers: strip(req.headers), body: hasBody ? req : null },
    ({ statusCode, headers }) => {
      res.writeHead(statusCode, strip(headers));
      return res;
    },
    (err) => {
      if (!err) return;
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end('bad gateway');
      } else {
        res.destroy(err);
      }
    },
  );
});
server.keepAliveTimeout = 120_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ port: (server.address() as { port: number }).port }) + '\n'));
process.on('SIGTERM', () => process.exit(0));
