// An upstream whose answer to each path the test writes: for tests that need two sides to answer
// the same request in chosen ways (the same JSON in another key order, a hang, a reset, 50 MB).
// It counts what it saw, and which requests are still open, so a test can tell where a copy is.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Script = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

export interface ScriptedUpstream {
  readonly port: number;
  /** Answers requests whose path starts with `prefix` (the longest prefix wins). */
  on(prefix: string, script: Script): void;
  /** Requests seen per path (as received), counted when their body has been read. */
  readonly seen: Map<string, number>;
  /** Requests received and not yet answered or closed. */
  open(): number;
  /** Answers still held (hang scripts) are cut. */
  close(): Promise<void>;
}

export function json(status: number, body: unknown, headers: Record<string, string | string[]> = {}): Script {
  return (_req, res) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  };
}

export async function startScriptedUpstream(): Promise<ScriptedUpstream> {
  const scripts = new Map<string, Script>();
  const seen = new Map<string, number>();
  let open = 0;
  const server: Server = createServer((req, res) => {
    open++;
    res.on('close', () => open--);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      seen.set(path, (seen.get(path) ?? 0) + 1);
      const key = [...scripts.keys()].filter((p) => path.startsWith(p)).sort((a, b) => b.length - a.length)[0];
      if (key === undefined) return void res.writeHead(404).end();
      scripts.get(key)!(req, res, Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    on: (prefix, script) => void scripts.set(prefix, script),
    seen,
    open: () => open,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
