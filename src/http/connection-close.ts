// A request answered before its body has all arrived (a refused token, a body over the limit, a path
// that is no endpoint, the deadline's 503) is answered with `Connection: close`, and its connection is
// closed once the answer is written. Node would otherwise read the rest of the body to keep the
// connection for a next request: a client sending a byte every few seconds held the connection for
// Node's 300 s request timeout, anonymous or not (README, "Failure behaviour": slow clients pin nothing).
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { ObservedResponse } from '../observability/access-log.ts';

/** How long a closing connection still reads, and drops, what its client sends after the answer. */
const LINGER_MS = 1_000;

/** Connections closing after an answer: a request that still arrives on one is not served. */
const closing = new WeakSet<Socket>();

export function isClosing(socket: Socket): boolean {
  return closing.has(socket);
}

/** The request declared a body, and not all of it has been received. */
export function bodyStillArriving(req: IncomingMessage): boolean {
  if (req.complete) return false;
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length']) > 0;
}

/**
 * Node ends an answer that says `Connection: close` with socket.destroySoon(): a FIN once the answer is
 * handed to the kernel, then the socket is destroyed. Body bytes still on their way would then be met
 * with a TCP reset, which may discard the answer in the client's buffers before the client read it
 * (RFC 9112, 9.6). So this socket closes in stages: FIN after the answer, then what still arrives is
 * read and dropped (Node's parser discards the rest of the body) until the body is complete, the client
 * closes its side, or LINGER_MS have passed; then it is destroyed.
 */
function closeInStages(req: IncomingMessage, socket: Socket): void {
  if (closing.has(socket)) return;
  closing.add(socket);
  socket.destroySoon = function lingeringClose(this: Socket) {
    if (this.destroyed) return;
    if (this.writable) this.end();
    const destroy = () => this.destroy();
    const timer = setTimeout(destroy, LINGER_MS);
    timer.unref();
    this.once('close', () => clearTimeout(timer));
    // Nothing more is expected once the body is complete: the socket goes as soon as the answer is out.
    const whenWritten = () => (this.writableFinished ? destroy() : this.once('finish', destroy));
    if (req.complete) whenWritten();
    else req.once('end', whenWritten);
  };
}

/** writeHead's headers (an object, or names and values in one array) without any Connection header. */
function withoutConnection(headers: unknown): unknown {
  const isConnection = (name: unknown) => String(name).toLowerCase() === 'connection';
  if (Array.isArray(headers)) {
    const kept: unknown[] = [];
    for (let i = 0; i < headers.length; i += 2) {
      if (!isConnection(headers[i])) kept.push(headers[i], headers[i + 1]);
    }
    return kept;
  }
  if (headers === null || typeof headers !== 'object') return headers;
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !isConnection(name)));
}

/**
 * The response of every request served over node:http (src/http/server.ts): the access log's, which
 * also closes the connection after an answer given before the request's body arrived.
 */
export class ServedResponse extends ObservedResponse {
  override writeHead(statusCode: number, reasonOrHeaders?: unknown, headers?: unknown): this {
    if (!this.headersSent && bodyStillArriving(this.req)) {
      // Node calls destroySoon once the answer is written. The header is set here rather than left to
      // Node, which would keep a Connection header the handler set (Yoga's event streams say keep-alive):
      // the answer would promise a connection that the next request finds closed.
      this.shouldKeepAlive = false;
      this.setHeader('connection', 'close');
      if (typeof reasonOrHeaders === 'string') headers = withoutConnection(headers);
      else reasonOrHeaders = withoutConnection(reasonOrHeaders);
      // The request's own socket is gone once its body stream was torn down (Yoga does, past the body
      // limit): the response's is the same connection.
      const socket = this.socket ?? this.req.socket;
      if (socket) closeInStages(this.req, socket as Socket);
    }
    return super.writeHead(statusCode, reasonOrHeaders, headers as OutgoingHttpHeaders);
  }
}
