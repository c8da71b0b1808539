// Observing one request through nginx and through the gateway: what answered (status, debug
// headers) and what the upstream fixture saw (its echo: who served, which function, the request
// target, body size and hash, the headers a trick could have planted). The parity tests compare
// these, so a new one only decides what to send and which fields it compares.
export interface Observed {
  status: number;
  route?: string;
  target?: string;
  servedBy?: string;
  fn?: string;
  instance?: string;
  /** The request target the upstream received. */
  url?: string;
  bodyBytes?: number;
  bodySha?: string;
  /** Headers the upstream received that a trick could have planted or spoofed. */
  upstreamHeaders?: Record<string, unknown>;
}

/** An answer as any raw client returns it: status, lower-cased headers, body bytes. */
export interface Answer { status: number; headers: Record<string, string | undefined>; body: Buffer }

const PLANTABLE = (k: string) => k.includes('_') || k.startsWith('x-t-') || k === 'host' || k === 'x-forwarded-for' || k === 'x-real-ip' || k === 'x-forwarded-host' || k === 'x-forwarded-proto';

export function observe(a: Answer): Observed {
  const seen: Observed = { status: a.status, route: a.headers['x-strangler-route'], target: a.headers['x-strangler-target'], servedBy: a.headers['x-served-by'] };
  try {
    const body = JSON.parse(a.body.toString('utf8'));
    seen.servedBy ??= body.served_by;
    seen.fn = body.function;
    seen.instance = body.instance;
    seen.url = body.url;
    seen.bodyBytes = body.body_bytes;
    seen.bodySha = body.body_sha256;
    const h = body.headers as Record<string, unknown> | undefined;
    if (h) seen.upstreamHeaders = Object.fromEntries(Object.entries(h).filter(([k]) => PLANTABLE(k)));
  } catch { /* not an echo (HEAD, images, errors) */ }
  for (const k of Object.keys(seen) as (keyof Observed)[]) if (seen[k] === undefined) delete seen[k];
  return seen;
}

/** Only these fields of an observation (the ones a test compares). */
export function pick<K extends keyof Observed>(o: Observed, keys: readonly K[]): Pick<Observed, K | 'status'> {
  const out = { status: o.status } as Pick<Observed, K | 'status'>;
  for (const k of keys) if (o[k] !== undefined) (out as Observed)[k] = o[k];
  return out;
}

export interface Ports { readonly nginx: number; readonly gateway: number }

/** Sends the same request to nginx and to the gateway, one after the other, and observes both. */
export async function throughBoth<A extends Answer>(ports: Ports, send: (port: number) => Promise<A>): Promise<{ nginx: Observed; gateway: Observed; answers: [A, A] }> {
  const n = await send(ports.nginx);
  const g = await send(ports.gateway);
  return { nginx: observe(n), gateway: observe(g), answers: [n, g] };
}

/** One line per side, for a failure message. */
export function describeBoth(what: string, nginx: unknown, gateway: unknown): string {
  return `${what}\n    nginx:   ${JSON.stringify(nginx).slice(0, 400)}\n    gateway: ${JSON.stringify(gateway).slice(0, 400)}`;
}
