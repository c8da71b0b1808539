// A monolith stand-in that counts what a proxy did to it: requests, requests at once, open
// connections, request bodies, answers cut short, X-Request-Id values. /slow answers after a
// delay (X-Delay-Ms, default 50 ms), /big streams 256 MiB, an upgrade gets 101 and silence.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { listen } from '../../gateway/util/http-server';
import { freePort } from './net';

/** The monolith's view: how many requests it saw, how many at once, how many answers were cut. */
export class CountingUpstream {
  requests = 0;
  inFlight = 0;
  maxInFlight = 0;
  bodies: number[] = [];
  cutAnswers = 0;
  requestIds: string[] = [];
  /** TCP connections open to it now. */
  openConnections = 0;
  readonly server: Server;
  port = 0;

  constructor() {
    this.server = createServer((req, res) => {
      this.requests++;
      this.inFlight++;
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
      res.on('close', () => { this.inFlight--; });
      this.requestIds.push(String(req.headers['x-request-id'] ?? ''));
      let bytes = 0;
      req.on('data', (c: Buffer) => { bytes += c.length; });
      req.on('end', () => {
        this.bodies.push(bytes);
        if (req.url!.startsWith('/big')) return this.endless(res);
        const delay = req.url!.includes('/slow') ? Number(req.headers['x-delay-ms'] ?? 50) : 0;
        setTimeout(() => res.end(JSON.stringify({ bytes, url: req.url })), delay);
      });
    });
    this.server.on('connection', (socket: Socket) => {
      this.openConnections++;
      socket.on('close', () => { this.openConnections--; });
    });
    // An upgrade answered 101 and then left idle: only a timeout ends it.
    this.server.on('upgrade', (_req, socket: Socket) => {
      this.requests++;
      socket.on('error', () => undefined);
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    });
  }

  /** 256 MiB at most, written as the proxy takes it; a proxy that gives up cuts the answer. */
  private endless(res: ServerResponse): void {
    const chunk = Buffer.alloc(64 * 1024, 120);
    let left = 4096;
    res.writeHead(200, { 'content-length': String(left * chunk.length) });
    res.on('close', () => {
      if (!res.writableFinished) this.cutAnswers++;
    });
    const pump = () => {
      while (left > 0) {
        left--;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  }

  async start(): Promise<void> {
    this.port = await freePort();
    await listen(this.server, '127.0.0.1', this.port);
  }

  close(): void {
    this.server.closeAllConnections();
    this.server.close();
  }
}

