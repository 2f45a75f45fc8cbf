// ServedResponse (src/http/connection-close.ts) on a real node:http server: an answer given while the
// request's body is still arriving says `Connection: close`, once, whichever way its handler passed a
// Connection header of its own; an answer given after the whole body keeps what the handler asked.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServedResponse } from '../../src/http/connection-close.ts';
import { parseRawAnswer } from '../helpers/raw-answer.ts';

/** How each handler passes `Connection: keep-alive` with its answer, by request path. */
const FORMS: Record<string, (res: ServedResponse) => void> = {
  '/object': (res) => res.writeHead(200, { 'Content-Type': 'text/plain', Connection: 'keep-alive' }),
  '/object-with-reason': (res) => res.writeHead(200, 'OK', { connection: 'keep-alive' }),
  '/flat-array': (res) => res.writeHead(200, ['Content-Type', 'text/plain', 'CONNECTION', 'keep-alive']),
  '/set-header': (res) => {
    res.setHeader('Connection', 'keep-alive');
    res.writeHead(200);
  },
};

let server: Server;
let port: number;

beforeAll(async () => {
  server = createServer(
    { ServerResponse: ServedResponse as unknown as typeof ServerResponse },
    (req: IncomingMessage, res) => {
      const answer = () => {
        FORMS[req.url ?? '']?.(res as ServedResponse);
        res.end('answered');
      };
      // /after-body/…: the handler reads the whole body first.
      if (req.url?.startsWith('/after-body/')) {
        req.url = req.url.slice('/after-body'.length);
        req.resume();
        req.on('end', answer);
      } else answer();
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** Sends `bytes` and returns everything received until the server closes or `ms` pass. */
function exchange(bytes: string, ms = 500): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(text);
    };
    const timer = setTimeout(done, ms);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.on('end', done);
    socket.on('error', done);
  });
}

const head = (path: string, length: number) => `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: ${length}\r\n\r\n`;

describe('an answer given before its body arrived', () => {
  it.each(Object.keys(FORMS))(
    'says Connection: close once, though its handler asked for keep-alive (%s)',
    async (path) => {
      const text = await exchange(`${head(path, 100)}{"partial":`);
      const answer = parseRawAnswer(text);
      expect(answer.status).toBe(200);
      expect(answer.headers.connection).toBe('close');
      expect(text.match(/^connection:/gim)).toHaveLength(1);
      expect(answer.headers['content-type'] ?? 'text/plain').toBe('text/plain');
    },
  );

  it.each(Object.keys(FORMS))(
    'keeps the keep-alive its handler asked for once the body is whole (%s)',
    async (path) => {
      const body = '{"whole":true}';
      const text = await exchange(`${head(`/after-body${path}`, body.length)}${body}`, 200);
      expect(parseRawAnswer(text).headers.connection).toBe('keep-alive');
    },
  );
});
