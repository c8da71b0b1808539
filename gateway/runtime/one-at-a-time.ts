// One request at a time per client connection, as nginx serves a pipelined connection: Node's
// HTTP server parses pipelined requests ahead and emits each at once (only the responses are
// queued in order), so without this 1,000 pipelined GETs on one connection would open 1,000
// upstream requests together. Here each waits until the previous one on its socket is over.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** Wraps a handler so that requests on the same connection run in turn, in arrival order. */
export function oneAtATime(handle: RequestHandler): (req: IncomingMessage, res: ServerResponse) => void {
  // The tail of each connection's queue; a connection with nothing queued has no entry.
  const tails = new WeakMap<Socket, Promise<void>>();
  return (req, res) => {
    const socket = req.socket;
    const previous = tails.get(socket);
    const run = previous === undefined ? handle(req, res) : previous.then(() => handle(req, res));
    const tail = run.then(() => {
      if (tails.get(socket) === tail) tails.delete(socket);
    });
    tails.set(socket, tail);
  };
}
