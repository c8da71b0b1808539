// The one way strangler answers with JSON: on a ServerResponse, or on a raw socket Node's HTTP
// server handed over (CONNECT, upgrades). Compact with a newline, content-length always set.
import { STATUS_CODES, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { rawResponseHead } from '../runtime/proxy-headers';

export interface JsonReplyOptions {
  /** Send `Connection: close` (a request whose body was not read). */
  close?: boolean;
  /** Indented, for humans reading the admin API. */
  pretty?: boolean;
}

function jsonText(body: unknown, pretty: boolean | undefined): string {
  return (pretty ? JSON.stringify(body, null, 2) : JSON.stringify(body)) + '\n';
}

/** Answers once; a response that already started (or a gone client) is cut instead. */
export function replyJson(res: ServerResponse, status: number, body: unknown, headers: OutgoingHttpHeaders | null = null, opts: JsonReplyOptions = {}): void {
  if (res.headersSent || res.destroyed) return void res.destroy();
  const text = jsonText(body, opts.pretty);
  const all: OutgoingHttpHeaders = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers };
  if (opts.close) all.connection = 'close';
  res.writeHead(status, all);
  res.end(text);
}

/** A JSON answer written straight to a socket, then closed. */
export function endSocketJson(socket: Socket, status: number, body: unknown, headers: OutgoingHttpHeaders | null = null): void {
  const text = jsonText(body, false);
  socket.end(rawResponseHead(status, STATUS_CODES[status] ?? '', {
    'content-type': 'application/json', connection: 'close', 'content-length': Buffer.byteLength(text), ...headers,
  }) + text);
}
