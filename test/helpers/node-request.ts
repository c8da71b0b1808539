// node:http as a client that sends the path byte for byte, for the fixtures' own tests: errors
// say whether the response headers had arrived.
import { request, type Agent, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';

export interface RawResponse { status: number; headers: IncomingHttpHeaders; body: Buffer }
export type RawError = Error & { code?: string; phase?: 'headers' | 'body'; status?: number };

export function raw(base: string, path: string, o: { method?: string; headers?: OutgoingHttpHeaders; body?: Buffer; timeoutMs?: number; agent?: Agent } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const u = new URL(base);
    let status: number | undefined;
    const req = request({ host: u.hostname, port: u.port, path, method: o.method ?? 'GET', headers: o.headers, agent: o.agent ?? false }, (res) => {
      status = res.statusCode;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', (err: RawError) => reject(Object.assign(err, { phase: 'body', status })));
    });
    req.on('error', (err: RawError) => reject(Object.assign(err, { phase: status === undefined ? 'headers' : 'body', status })));
    if (o.timeoutMs) req.setTimeout(o.timeoutMs, () => req.destroy(Object.assign(new Error('client timeout'), { code: 'CLIENT_TIMEOUT' })));
    req.end(o.body);
  });
}
