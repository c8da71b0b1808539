// One request at a time per client connection, as nginx serves a pipelined connection: Node's
// HTTP server parses pipelined requests ahead and emits each at once (only the responses are
// queued in order), so without this 1,000 pipelined GETs on one connection would open 1,000
// upstream requests together. Here each waits until the previous one on its socket is over.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

// The connection's turn, kept on its socket (a WeakMap entry per request cost the GC more):
// absent when idle, null while a request runs, the waiting requests once one queues.
const TURN = Symbol('strangler.turn');
/** Set while this module holds the socket paused. */
const HELD = Symbol('strangler.held');
type Waiting = [IncomingMessage, ServerResponse][];
type TurnSocket = Socket & { [TURN]?: Waiting | null; [HELD]?: boolean; _paused?: boolean };

/**
 * Waiting requests past this pause the connection, so Node parses no more of it until they were
 * served, as nginx reads a pipelined request only when the one before is done. Without it a
 * client pipelining 200,000 requests and reading no answer had them all parsed and queued (600 MB),
 * and the gateway busy with them for minutes after the client left.
 */
const MAX_WAITING = 16;

/** Wraps a handler so that requests on the same connection run in turn, in arrival order. */
export function oneAtATime(handle: RequestHandler): (req: IncomingMessage, res: ServerResponse) => void {
  const run = (socket: TurnSocket, req: IncomingMessage, res: ServerResponse): void => {
    const over = () => next(socket);
    handle(req, res).then(over, over);
  };
  const next = (socket: TurnSocket): void => {
    const waiting = socket[TURN];
    // The client left: what it queued is not served (nginx would not have read it).
    if (!waiting || socket.destroyed) {
      socket[TURN] = undefined;
      return;
    }
    const [req, res] = waiting.shift()!;
    if (waiting.length === 0) socket[TURN] = null;
    // Node pauses the socket too, while the client reads no answers: resume only what this held.
    if (socket[HELD] && waiting.length < MAX_WAITING / 2) {
      socket[HELD] = false;
      if (!socket._paused) socket.resume();
    }
    run(socket, req, res);
  };
  return (req, res) => {
    const socket = req.socket as TurnSocket;
    const turn = socket[TURN];
    if (turn === undefined) {
      socket[TURN] = null;
      run(socket, req, res);
    } else if (turn === null) {
      socket[TURN] = [[req, res]];
    } else {
      turn.push([req, res]);
      if (turn.length >= MAX_WAITING && !socket[HELD]) {
        socket[HELD] = true;
        socket.pause();
      }
    }
  };
}
