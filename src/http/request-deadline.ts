// Every request is answered within its bound (KEYGATE_REQUEST_TIMEOUT_MS): whatever it waits for (a
// lock, a silent connection, another process's write lock), at the deadline it is answered 503
// SERVICE_UNAVAILABLE. Its GraphQL context gets a database client bound to its Deadline
// (src/db/deadline.ts, via `deadlineOf`), which refuses to COMMIT what a 503 has declared not
// written. Whatever the request would have answered later is dropped (Yoga does not write to an ended
// response).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Deadline } from '../db/deadline.ts';
import { API_HEADERS, errorContentType } from './responses.ts';

/**
 * A request the HTTP server is serving, with its Deadline (read by the GraphQL context, src/app.ts). A
 * property of the request rather than a WeakMap entry: setting one in a WeakMap cost about a microsecond
 * a request (a new key each time), a tenth of what a VALID verification costs beyond raw node:http.
 */
export interface DeadlineBound {
  keygateDeadline?: Deadline;
}

/** The deadline of a request the HTTP server is serving; none for one made otherwise (app.fetch). */
export const deadlineOf = (req: IncomingMessage | undefined): Deadline | undefined =>
  (req as (IncomingMessage & DeadlineBound) | undefined)?.keygateDeadline;

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
  // The headers of every API answer, as the database-unavailable 503 has them. A request whose body has
  // not all arrived is answered with `Connection: close` and its connection closed after the answer
  // (src/http/connection-close.ts): the deadline does not wait for the rest of a trickling body.
  res.writeHead(503, {
    'content-type': errorContentType(req.headers.accept),
    'content-length': Buffer.byteLength(body),
    'retry-after': '1',
    ...API_HEADERS,
  });
  res.end(body);
}

/** How often the requests in flight are looked at: a deadline is kept to within this much. */
const SWEEP_MS = 25;

/**
 * The list is also swept whenever it grows to this length (then to twice what the sweep left): under
 * load, thousands of requests are answered between two timed sweeps, and each one the list still held
 * kept its request, response and socket buffers alive through the young generation's collections,
 * which copied them (300 KB a scavenge at 4k verifications/s, against 10 KB without the list) and so
 * lengthened every pause. Bounded this way, an answered request is let go within a few dozen requests.
 */
const SWEEP_AT_LENGTH = 64;

/**
 * A request in the list: its response until it is answered (null after: see DeadlineTracked), its
 * Deadline and when it is due.
 */
export interface InFlight {
  res: ServerResponse | null;
  deadline: Deadline;
  due: number;
}

/**
 * A response that lets go of its entry as it is answered (ObservedResponse, src/observability/
 * access-log.ts, does in writeHead): the list then holds a few numbers of it until the next sweep, not
 * the request and response themselves, which a young-generation collection would otherwise copy.
 */
export interface DeadlineTracked {
  inFlight: InFlight | null;
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
  let sweepAtLength = SWEEP_AT_LENGTH;
  let sweeper: NodeJS.Timeout | null = null;
  const sweep = () => {
    const now = performance.now();
    const waiting: InFlight[] = [];
    for (const entry of inFlight) {
      // Answered, or the client has gone. (A request whose body stream was torn down, as Yoga does past
      // the body limit, has no socket of its own any more: its response's is the connection.)
      const res = entry.res;
      if (res === null || res.writableEnded || res.destroyed || (res.socket ?? res.req.socket)?.destroyed) {
        entry.deadline.close();
      } else if (entry.due <= now) answerAtDeadline(res.req, res, entry.deadline, body);
      else waiting.push(entry);
    }
    inFlight = waiting;
    // Twice what is still waiting: many slow requests in flight cost one sweep per as many new ones.
    sweepAtLength = Math.max(SWEEP_AT_LENGTH, 2 * waiting.length);
    if (inFlight.length === 0 && sweeper) {
      clearInterval(sweeper);
      sweeper = null;
    }
  };
  return (req, res) => {
    const deadline = new Deadline();
    const entry: InFlight = { res, deadline, due: performance.now() + ms };
    inFlight.push(entry);
    if ('inFlight' in res) (res as ServerResponse & DeadlineTracked).inFlight = entry;
    if (inFlight.length >= sweepAtLength) sweep();
    if (!sweeper) {
      sweeper = setInterval(sweep, SWEEP_MS);
      sweeper.unref();
    }
    (req as IncomingMessage & DeadlineBound).keygateDeadline = deadline;
    handler(req, res);
  };
}
