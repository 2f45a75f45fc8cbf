// Every request is answered within its bound (KEYGATE_REQUEST_TIMEOUT_MS): whatever it waits for (a
// lock, a silent connection, another process's write lock), at the deadline it is answered 503
// SERVICE_UNAVAILABLE. Its GraphQL context gets a database client bound to its Deadline
// (src/db/deadline.ts, via `requestDeadlines`), which refuses to COMMIT what a 503 has declared not
// written. Whatever the request would have answered later is dropped (Yoga does not write to an ended
// response).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Deadline } from '../db/deadline.ts';
import { errorContentType } from './responses.ts';

/** The deadline of each request the HTTP server is serving (read by the GraphQL context, src/app.ts). */
export const requestDeadlines = new WeakMap<IncomingMessage, Deadline>();

export function timeoutBody(ms: number): string {
  return JSON.stringify({
    errors: [
      {
        message: `The request could not be completed within ${ms} ms; nothing was changed. Try again shortly.`,
        extensions: { code: 'SERVICE_UNAVAILABLE' },
      },
    ],
  });
}

function answerAtDeadline(req: IncomingMessage, res: ServerResponse, deadline: Deadline, body: string): void {
  if (res.headersSent || res.writableEnded) return;
  // A COMMIT already on its way decides the answer (bounded by the database timeouts); otherwise,
  // from here on nothing of this request can commit.
  if (!deadline.expire()) return;
  res.writeHead(503, {
    'content-type': errorContentType(req.headers.accept),
    'content-length': Buffer.byteLength(body),
    'retry-after': '1',
  });
  res.end(body);
}

/** How often the requests in flight are looked at: a deadline is kept to within this much. */
const SWEEP_MS = 25;

interface InFlight {
  req: IncomingMessage;
  res: ServerResponse;
  deadline: Deadline;
  due: number;
}

/**
 * `handler` with a deadline of `ms` per request; the handler unchanged when `ms` is 0 or not given.
 * One timer serves every request in flight: a timer and a 'close' listener of each request's own cost
 * several microseconds, a quarter of a refused request's whole cost. Every SWEEP_MS the sweep drops
 * the requests that have been answered (their deadline closed: nothing of them may commit any more),
 * and answers 503 those whose time is up. All requests get the same `ms`, so the list is in the order
 * of their deadlines.
 */
export function withRequestDeadline(
  ms: number | undefined,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): (req: IncomingMessage, res: ServerResponse) => void {
  if (!ms) return handler;
  const body = timeoutBody(ms);
  let inFlight: InFlight[] = [];
  let sweeper: NodeJS.Timeout | null = null;
  const sweep = () => {
    const now = performance.now();
    const waiting: InFlight[] = [];
    for (const entry of inFlight) {
      // Answered, or the client has gone.
      if (entry.res.writableEnded || entry.res.destroyed || entry.req.socket.destroyed) entry.deadline.close();
      else if (entry.due <= now) answerAtDeadline(entry.req, entry.res, entry.deadline, body);
      else waiting.push(entry);
    }
    inFlight = waiting;
    if (inFlight.length === 0 && sweeper) {
      clearInterval(sweeper);
      sweeper = null;
    }
  };
  return (req, res) => {
    const deadline = new Deadline();
    inFlight.push({ req, res, deadline, due: performance.now() + ms });
    if (!sweeper) {
      sweeper = setInterval(sweep, SWEEP_MS);
      sweeper.unref();
    }
    requestDeadlines.set(req, deadline);
    handler(req, res);
  };
}
