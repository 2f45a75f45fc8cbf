// The per-request deadline (src/http/request-deadline.ts) keeps a list of the requests in flight, swept
// by one timer. Under load thousands of requests are answered between two timed sweeps: the list must
// let go of answered ones long before the timer, or each keeps its request and response alive through
// the young generation's collections (longer pauses: the verification p99). And a request that is never
// answered must still get its 503 at the deadline, however many answered ones were swept around it.
import { IncomingMessage, type ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { withRequestDeadline } from '../../src/http/request-deadline.ts';
import { ObservedResponse } from '../../src/observability/access-log.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

interface FakeResponse {
  req: IncomingMessage;
  writableEnded: boolean;
  destroyed: boolean;
  headersSent: boolean;
  status?: number;
  writeHead(status: number): void;
  end(): void;
}

function fakeExchange(): { req: IncomingMessage; res: ServerResponse & FakeResponse } {
  const req = { headers: {}, socket: { destroyed: false } } as unknown as IncomingMessage;
  const res: FakeResponse = {
    req,
    writableEnded: false,
    destroyed: false,
    headersSent: false,
    writeHead(status: number) {
      this.status = status;
      this.headersSent = true;
    },
    end() {
      this.writableEnded = true;
    },
  };
  return { req, res: res as ServerResponse & FakeResponse };
}

/** A turn of the event loop: WeakRef targets touched in a job stay alive until the job ends. */
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

afterEach(() => {
  vi.useRealTimers();
});

describe('Request deadlines: answered requests are let go before the next timed sweep', () => {
  it('of 2,000 requests answered at once, at most a few dozen are still held', async () => {
    // The sweep timer never fires here: only the list's own bound can let go of anything.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const handler = withRequestDeadline(5_000, (_req, res) => {
      (res as ServerResponse & FakeResponse).end();
    });
    const responses: WeakRef<object>[] = [];
    for (let i = 0; i < 2_000; i++) {
      const { req, res } = fakeExchange();
      responses.push(new WeakRef(res));
      handler(req, res);
    }
    await nextTurn();
    gc();
    const held = responses.filter((ref) => ref.deref() !== undefined).length;
    expect(held).toBeLessThanOrEqual(64);
  });

  it('a response whose answer has begun (headers written, body still going) is let go at once', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    // Never ended: only writeHead tells the list (ObservedResponse, as the HTTP server uses it).
    const handler = withRequestDeadline(5_000, (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
    });
    const responses: WeakRef<object>[] = [];
    for (let i = 0; i < 2_000; i++) {
      const req = new IncomingMessage(new Socket());
      const res = new ObservedResponse(req);
      responses.push(new WeakRef(res));
      handler(req, res);
    }
    await nextTurn();
    gc();
    expect(responses.filter((ref) => ref.deref() !== undefined).length).toBeLessThanOrEqual(1);
  });

  it('a request never answered still gets its 503 at the deadline among thousands swept around it', async () => {
    const slow = fakeExchange();
    const handler = withRequestDeadline(100, (_req, res) => {
      if (res !== slow.res) (res as ServerResponse & FakeResponse).end();
    });
    handler(slow.req, slow.res);
    for (let i = 0; i < 2_000; i++) {
      const { req, res } = fakeExchange();
      handler(req, res);
    }
    expect(slow.res.status).toBeUndefined();
    await vi.waitFor(() => expect(slow.res.status).toBe(503), { timeout: 2_000, interval: 20 });
  });
});
