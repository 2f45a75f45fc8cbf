// Many processes, one PostgreSQL: every change to a key is announced with pg_notify inside the
// transaction that makes it (so it is delivered exactly when it commits; writeAsOneStatement in
// src/domain/store.ts sends it with the change's writes), and every process listens
// and drops that key's cached tokens. While the listening connection is down, the verifier does not
// trust its cache at all; it resumes, empty, when listening again.
import pg from 'pg';
import type { TokenVerifier } from './verifier.ts';

export const CHANNEL = 'keygate_api_keys';

export interface InvalidationListener {
  /** Resolves once listening (or rejects when the first attempt fails). */
  ready: Promise<void>;
  close(): Promise<void>;
}

export function listenForInvalidations(
  url: string,
  verifier: TokenVerifier,
  log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void },
  retryMs = 1_000,
): InvalidationListener {
  let client: pg.Client | null = null;
  let closed = false;
  let retry: NodeJS.Timeout | null = null;

  const connect = async (): Promise<void> => {
    verifier.setCacheEnabled(false);
    const next = new pg.Client({ connectionString: url });
    next.on('notification', (message) => {
      if (message.channel === CHANNEL && message.payload) verifier.invalidateKey(message.payload);
    });
    const lost = (error?: Error) => {
      if (closed || client !== next) return;
      client = null;
      verifier.setCacheEnabled(false);
      log.warn({ err: error?.message }, 'lost the invalidation channel; token cache off until it is back');
      retry = setTimeout(() => void connect().catch(() => {}), retryMs);
      retry.unref();
    };
    next.on('error', lost);
    next.on('end', () => lost());
    client = next;
    try {
      await next.connect();
      await next.query(`LISTEN ${CHANNEL}`);
    } catch (error) {
      lost(error as Error);
      throw error;
    }
    if (closed) return;
    verifier.setCacheEnabled(true);
  };

  const ready = connect();
  ready.catch(() => {});
  return {
    ready,
    async close() {
      closed = true;
      if (retry) clearTimeout(retry);
      verifier.setCacheEnabled(false);
      await client?.end().catch(() => {});
    },
  };
}
