// Slow and unfinished requests, through a real server process (bin/keygate.js serve) and raw sockets
// (README, "Failure behaviour": No hangs). Every request is answered within KEYGATE_REQUEST_TIMEOUT_MS
// (1 s here), headers that never finish included; and a request answered before its body arrived (a
// refused token, a body over the limit, the deadline) is answered with `Connection: close` and its
// connection closed, so a client trickling a body a byte at a time holds nothing open. A request whose
// body arrived whole keeps its connection for the next one.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { providers } from '../helpers/databases.ts';
import { parseRawAnswer, type RawAnswer } from '../helpers/raw-answer.ts';
import { type ServerProcess, startServerOnFreshDatabase } from '../helpers/server-process.ts';

const TIMEOUT_MS = 1_000;
/** Room for a loaded machine (the defects this guards against held connections for 60 to 300 s). */
const SLACK_MS = 1_500;
/** How long a closing connection may still read what its client sends (src/http/connection-close.ts). */
const LINGER_MS = 1_000;
const TRICKLE_EVERY_MS = 200;

/** A raw connection that allows half-open, so it can keep sending after the server's FIN, as an attacker would. */
interface Raw {
  write(bytes: string): void;
  /** Writes a byte every TRICKLE_EVERY_MS until the connection is gone. */
  trickle(): void;
  /** ms from opening until the head of an answer had arrived. */
  answered: Promise<number>;
  /** ms from opening until the server closed its side (FIN). */
  ended: Promise<number>;
  /** ms from opening until the connection was gone altogether (the server destroyed it). */
  closed: Promise<number>;
  /** The first answer, once its head arrived. */
  answer(): RawAnswer;
  /** Everything received so far. */
  text(): string;
  destroy(): void;
}

function open(url: string): Promise<Raw> {
  const { hostname, port } = new URL(url);
  const started = performance.now();
  const since = () => Math.round(performance.now() - started);
  let text = '';
  let trickling: NodeJS.Timeout | undefined;
  let onAnswered: (ms: number) => void = () => {};
  let onEnded: (ms: number) => void = () => {};
  let onClosed: (ms: number) => void = () => {};
  const answered = new Promise<number>((resolve) => (onAnswered = resolve));
  const ended = new Promise<number>((resolve) => (onEnded = resolve));
  const closed = new Promise<number>((resolve) => (onClosed = resolve));
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), allowHalfOpen: true }, () => resolve(raw));
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (text.includes('\r\n\r\n')) onAnswered(since());
    });
    socket.on('end', () => onEnded(since()));
    // A write after the server destroyed the connection is answered with a reset: that is the signal.
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(trickling);
      onEnded(since());
      onClosed(since());
    });
    socket.once('error', reject);
    const raw: Raw = {
      write: (bytes) => {
        if (!socket.destroyed) socket.write(bytes);
      },
      trickle() {
        trickling = setInterval(() => raw.write('x'), TRICKLE_EVERY_MS);
      },
      answered,
      ended,
      closed,
      answer: () => parseRawAnswer(text),
      text: () => text,
      destroy() {
        clearInterval(trickling);
        socket.destroy();
      },
    };
  });
}

/** The promise's value, or 'still open' when it has not settled within `ms`. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | 'still open'> {
  return Promise.race([promise, new Promise<'still open'>((resolve) => setTimeout(() => resolve('still open'), ms))]);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `raw` has received `count` answers of `status`, or SLACK_MS have passed. */
async function untilAnswered(raw: Raw, status: number, count: number): Promise<void> {
  const received = () => raw.text().split(`HTTP/1.1 ${status}`).length - 1;
  for (let waited = 0; received() < count && waited < SLACK_MS; waited += 20) await sleep(20);
}

function expectApiHeaders(head: RawAnswer) {
  expect(head.headers['x-content-type-options']).toBe('nosniff');
  expect(head.headers['referrer-policy']).toBe('no-referrer');
  expect(head.headers['cache-control']).toBe('no-store');
  expect(head.headers['content-type']).toMatch(/^application\/json/);
}

/** The code of a JSON error body: `errors[0].extensions.code` on /graphql, `error.code` elsewhere. */
function code(head: RawAnswer): string | undefined {
  const body = JSON.parse(head.body) as { error?: { code: string }; errors?: Array<{ extensions: { code: string } }> };
  return body.error?.code ?? body.errors?.[0]?.extensions.code;
}

const QUERY = JSON.stringify({ query: '{ currentApiKey { id } }' });

/** A POST /graphql head declaring `length` bytes of JSON body. */
const postHead = (length: number, token?: string) =>
  `POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n${
    token ? `Authorization: Bearer ${token}\r\n` : ''
  }\r\n`;

/**
 * Answered before its body arrived: the answer says `Connection: close`, the server closes its side
 * right after it, and the connection is gone within LINGER_MS though the client keeps sending.
 */
async function expectClosedAfterAnswer(raw: Raw) {
  const answeredAt = await raw.answered;
  expect(raw.answer().headers.connection).toBe('close');
  const ended = await within(raw.ended, SLACK_MS);
  expect(ended === 'still open' ? ended : ended - answeredAt).toBeLessThanOrEqual(SLACK_MS);
  const closed = await within(raw.closed, LINGER_MS + SLACK_MS);
  expect(closed === 'still open' ? closed : closed - answeredAt).toBeLessThanOrEqual(LINGER_MS + SLACK_MS);
}

// The HTTP layer is the same on both databases: one is enough.
describe.each(providers.slice(0, 1))('slow and unfinished requests, on %s', (provider) => {
  let server: ServerProcess;
  let admin: string;
  let cleanup: () => Promise<void>;
  const opened: Raw[] = [];
  const openRaw = async () => {
    const raw = await open(server.url);
    opened.push(raw);
    return raw;
  };

  beforeAll(async () => {
    ({ server, cleanup } = await startServerOnFreshDatabase(provider, {
      KEYGATE_REQUEST_TIMEOUT_MS: String(TIMEOUT_MS),
    }));
    admin = server.bootstrapToken() as string;
  }, 60_000);

  afterAll(async () => {
    for (const raw of opened) raw.destroy();
    await server?.stop();
    await cleanup?.();
  }, 60_000);

  it('headers that never finish are answered 408 and the connection closed within the bound', async () => {
    const partial = await openRaw();
    partial.write('POST /graphql HTTP/1.1\r\nHost: x\r\n');
    const silent = await openRaw(); // not a byte sent
    for (const raw of [partial, silent]) {
      const ended = await within(raw.ended, TIMEOUT_MS + SLACK_MS);
      expect(ended).not.toBe('still open');
      expect(ended).toBeLessThanOrEqual(TIMEOUT_MS + SLACK_MS);
      const answer = raw.answer();
      expect(answer.status).toBe(408);
      expect(code(answer)).toBe('BAD_USER_INPUT');
      expectApiHeaders(answer);
    }
  });

  it('an anonymous request whose body trickles is answered 401 at once, and its connection closed', async () => {
    const raw = await openRaw();
    raw.write(`${postHead(100_000)}{`);
    raw.trickle();
    expect(await within(raw.answered, SLACK_MS)).not.toBe('still open');
    expect(raw.answer().status).toBe(401);
    expect(code(raw.answer())).toBe('UNAUTHENTICATED');
    await expectClosedAfterAnswer(raw);
  });

  it('an authenticated request whose body trickles gets 503 at its deadline, with the API headers, and its connection closed', async () => {
    const raw = await openRaw();
    raw.write(`${postHead(100_000, admin)}{`);
    raw.trickle();
    const answeredAt = await within(raw.answered, TIMEOUT_MS + SLACK_MS);
    expect(answeredAt).not.toBe('still open');
    expect(answeredAt).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    const answer = raw.answer();
    expect(answer.status).toBe(503);
    expect(code(answer)).toBe('SERVICE_UNAVAILABLE');
    expectApiHeaders(answer);
    expect(answer.headers['retry-after']).toBe('1');
    await expectClosedAfterAnswer(raw);
  });

  it('a declared body over the limit is answered 413 at once, and its connection closed', async () => {
    const raw = await openRaw();
    raw.write(postHead(200_000, admin));
    raw.trickle();
    expect(await within(raw.answered, SLACK_MS)).not.toBe('still open');
    expect(raw.answer().status).toBe(413);
    await expectClosedAfterAnswer(raw);
  });

  it('an answer whose handler asks for keep-alive (a refused method, streamed) still closes when its body had not arrived', async () => {
    // Yoga refuses the method without reading the body, and an event stream's answer carries its own
    // `Connection: keep-alive`: the answer must not promise a connection that the server then drops.
    const patchHead = (length: number) =>
      `PATCH /graphql HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\nAuthorization: Bearer ${admin}\r\n\r\n`;
    const trickled = await openRaw();
    trickled.write(`${patchHead(100_000)}{`);
    trickled.trickle();
    expect(await within(trickled.answered, SLACK_MS)).not.toBe('still open');
    expect(trickled.answer().status).toBe(405);
    await expectClosedAfterAnswer(trickled);
    // With the body sent whole, whatever the answer says holds: kept, the next request is answered.
    const whole = await openRaw();
    whole.write(`${patchHead(QUERY.length)}${QUERY}`);
    await whole.answered;
    expect(whole.answer().status).toBe(405);
    // (A client that sends nothing more sees the server's FIN; the connection's end is the client's.)
    if (whole.answer().headers.connection === 'close')
      expect(await within(whole.ended, SLACK_MS)).not.toBe('still open');
    else {
      await sleep(100);
      whole.write(`${postHead(QUERY.length, admin)}${QUERY}`);
      await untilAnswered(whole, 200, 1);
      expect(whole.text()).toContain('HTTP/1.1 200');
    }
  });

  it('a request whose body arrived whole keeps its connection for the next one', async () => {
    const raw = await openRaw();
    raw.write(`${postHead(QUERY.length, admin)}${QUERY}`);
    await raw.answered;
    expect(raw.answer().status).toBe(200);
    expect(raw.answer().headers.connection).toBe('keep-alive');
    raw.write(`${postHead(QUERY.length, admin)}${QUERY}`);
    // The second answer arrives on the same connection, which stays open.
    await untilAnswered(raw, 200, 2);
    expect(raw.text().split('HTTP/1.1 200')).toHaveLength(3);
    expect(raw.text()).not.toMatch(/connection: close/i);
    expect(await within(raw.ended, 100)).toBe('still open');
  });

  it('a refused request whose body came with its headers keeps its connection', async () => {
    // Refused at once, from the token's format alone, while the headers are being read: the answer
    // waits for the body that came in the same packets, so clients of a refused token keep their
    // connections (and a load of refused requests does not cost a new connection each).
    const malformed = `${admin.slice(0, -1)}${admin.endsWith('A') ? 'B' : 'A'}`;
    const raw = await openRaw();
    for (let i = 1; i <= 3; i++) {
      raw.write(`${postHead(QUERY.length, malformed)}${QUERY}`);
      await untilAnswered(raw, 401, i);
      expect(raw.text().split('HTTP/1.1 401')).toHaveLength(i + 1);
    }
    expect(raw.text()).not.toMatch(/connection: close/i);
    expect(await within(raw.ended, 100)).toBe('still open');
  });

  it('a client that sent its whole refused body reads its answer, not a reset', async () => {
    const post = (body: BodyInit, token?: string) =>
      fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body,
        duplex: 'half',
      } as RequestInit);
    // Without a Content-Length the body is counted as Yoga reads it, and torn down past the limit.
    const chunked = (bytes: number) =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          for (let at = 0; at < bytes; at += 8_192) controller.enqueue(new Uint8Array(8_192).fill(120));
          controller.close();
        },
      });
    for (let i = 0; i < 10; i++) {
      const refused = await post(JSON.stringify({ query: '{ currentApiKey { id } }', pad: 'x'.repeat(90_000) }));
      expect(refused.status).toBe(401);
      await refused.arrayBuffer();
      for (const body of ['x'.repeat(150_000), chunked(150_000)]) {
        const tooLarge = await post(body, admin);
        expect(tooLarge.status).toBe(413);
        expect(tooLarge.headers.get('connection')).toBe('close');
        await tooLarge.arrayBuffer();
      }
    }
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});
