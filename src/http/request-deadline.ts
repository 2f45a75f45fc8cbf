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

/** `handler` with a deadline of `ms` per request; the handler unchanged when `ms` is 0 or not given. */
export function withRequestDeadline(
  ms: number | undefined,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): (req: IncomingMessage, res: ServerResponse) => void {
  if (!ms) return handler;
  const body = timeoutBody(ms);
  return (req, res) => {
    const deadline = new Deadline();
    const timer = setTimeout(answerAtDeadline, ms, req, res, deadline, body);
    res.once('close', () => {
      clearTimeout(timer);
      deadline.close();
    });
    requestDeadlines.set(req, deadline);
    handler(req, res);
  };
}
