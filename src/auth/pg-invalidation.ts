// Many processes, one PostgreSQL: every change to a key is announced with pg_notify inside the
// transaction that makes it (so it is delivered exactly when it commits; writeAsOneStatement in
// src/store/dialect.ts sends it with the change's writes), and every process listens
// and drops that key's cached tokens.
//
// A connection can fail without closing (a partition, a stopped host: nothing arrives, nothing ends),
// and then notifications are lost silently. So the listener is health-checked: every `heartbeatMs` it
// asks `SELECT 1` on the listening connection. An answer proves that every notification committed
// before the question was sent has arrived (the server sends them in order on that connection), so the
// verifier may trust its cache until `trustMs` after the question was sent, and no longer: when the
// answers stop, cached tokens stop being used within `trustMs` (every token is looked up), and past
// `deadMs` without an answer the connection is dropped and made again. A connection that closes switches
// the cache off at once and empties it; it resumes, empty, when listening again.
import pg from 'pg';
import type { TokenVerifier } from './verifier.ts';

export const CHANNEL = 'keygate_api_keys';

/** The listening connection's application_name (pg_stat_activity shows which backend it is). */
export const LISTENER_APPLICATION_NAME = 'keygate-listener';

export interface InvalidationListener {
  /** Resolves once listening (or rejects when the first attempt fails). */
  ready: Promise<void>;
  close(): Promise<void>;
}

export interface ListenerOptions {
  /** Wait before connecting again after a loss. */
  retryMs?: number;
  /** How often the listening connection is asked `SELECT 1`. */
  heartbeatMs?: number;
  /**
   * How long after a heartbeat was sent its answer lets cached tokens be used. It bounds how late a
   * revocation is seen when the connection goes silent: under 1 s with heartbeatMs (docs/rules.md).
   */
  trustMs?: number;
  /** No answer for this long (or no connection within it): the connection is dropped and made again. */
  deadMs?: number;
}

export const DEFAULT_LISTENER_OPTIONS: Required<ListenerOptions> = {
  retryMs: 1_000,
  heartbeatMs: 150,
  trustMs: 500,
  deadMs: 2_000,
};

/** Closes a client's socket without the goodbye that a silent peer would never acknowledge. */
function destroy(client: pg.Client): void {
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
  client.end().catch(() => {});
}

export function listenForInvalidations(
  url: string,
  verifier: TokenVerifier,
  log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void },
  options: ListenerOptions = {},
): InvalidationListener {
  const { retryMs, heartbeatMs, trustMs, deadMs } = { ...DEFAULT_LISTENER_OPTIONS, ...options };
  let client: pg.Client | null = null;
  let closed = false;
  let retry: NodeJS.Timeout | null = null;
  let heartbeat: NodeJS.Timeout | null = null;

  const connect = async (): Promise<void> => {
    verifier.setCacheEnabled(false);
    const next = new pg.Client({
      connectionString: url,
      application_name: LISTENER_APPLICATION_NAME,
      connectionTimeoutMillis: deadMs,
      keepAlive: true,
    });
    next.on('notification', (message) => {
      if (message.channel === CHANNEL && message.payload) verifier.invalidateKey(message.payload);
    });
    const lost = (error?: Error) => {
      if (closed || client !== next) return;
      client = null;
      if (heartbeat) clearInterval(heartbeat);
      // Notifications may have been missed: nothing cached is trusted until listening again.
      verifier.setCacheEnabled(false);
      log.warn({ err: error?.message }, 'lost the invalidation channel; token cache off until it is back');
      destroy(next);
      retry = setTimeout(() => void connect().catch(() => {}), retryMs);
      retry.unref();
    };
    next.on('error', lost);
    next.on('end', () => lost());
    client = next;
    let sentAt: number;
    try {
      await next.connect();
      sentAt = performance.now();
      await next.query(`LISTEN ${CHANNEL}`);
    } catch (error) {
      lost(error as Error);
      throw error;
    }
    if (closed || client !== next) return;
    verifier.setCacheEnabled(true);
    verifier.trustCacheUntil(sentAt + trustMs);

    let waitingSince: number | null = null;
    const beat = () => {
      const now = performance.now();
      if (waitingSince !== null) {
        if (now - waitingSince > deadMs) lost(new Error(`no heartbeat answer within ${deadMs} ms`));
        return;
      }
      waitingSince = now;
      next.query('SELECT 1').then(
        () => {
          waitingSince = null;
          if (client === next) verifier.trustCacheUntil(now + trustMs);
        },
        (error: Error) => lost(error),
      );
    };
    heartbeat = setInterval(beat, heartbeatMs);
    heartbeat.unref();
  };

  const ready = connect();
  ready.catch(() => {});
  return {
    ready,
    async close() {
      closed = true;
      if (retry) clearTimeout(retry);
      if (heartbeat) clearInterval(heartbeat);
      verifier.setCacheEnabled(false);
      const last = client;
      client = null;
      if (last) destroy(last);
    },
  };
}
