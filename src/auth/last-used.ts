// lastUsedAt is written in batches: one statement per flush (per 1,000 keys), at most one write per key.
// Writes only move the timestamp forward, so several processes flushing in any order converge on the
// latest use.
import type { Db, Provider } from '../db/client.ts';
import { signals } from '../observability/signals.ts';

/** Keys written by one statement. */
const BATCH = 1_000;

/**
 * One UPDATE of many keys; its one parameter is a JSON array of [id, time] pairs. Timestamps are stored
 * as Prisma stores them: ISO-8601 text ending in +00:00 on SQLite, UTC without a zone on PostgreSQL
 * (where a zone in the input of a `timestamp` is ignored: the text is UTC).
 */
const FLUSH_SQL: Record<Provider, string> = {
  sqlite: `UPDATE "ApiKey" SET "lastUsedAt" = v."at"
    FROM (SELECT json_extract(j.value, '$[0]') AS "id", json_extract(j.value, '$[1]') AS "at" FROM json_each(?) j) v
    WHERE "ApiKey"."id" = v."id"
      AND ("ApiKey"."lastUsedAt" IS NULL OR unixepoch("ApiKey"."lastUsedAt", 'subsec') < unixepoch(v."at", 'subsec'))`,
  postgresql: `UPDATE "ApiKey" k SET "lastUsedAt" = v."at"
    FROM (SELECT j->>0 AS "id", (j->>1)::timestamp(3) AS "at" FROM json_array_elements($1::json) j) v
    WHERE k."id" = v."id" AND (k."lastUsedAt" IS NULL OR k."lastUsedAt" < v."at")`,
};

const timeText: Record<Provider, (at: Date) => string> = {
  sqlite: (at) => at.toISOString().replace('Z', '+00:00'),
  postgresql: (at) => at.toISOString(),
};

export class LastUsedRecorder {
  readonly #db: Db;
  readonly #provider: Provider;
  readonly #pending = new Map<string, Date>();
  #timer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> = Promise.resolve();
  readonly #onError: (error: unknown) => void;

  constructor(db: Db, provider: Provider, options: { flushMs?: number; onError?: (error: unknown) => void } = {}) {
    this.#db = db;
    this.#provider = provider;
    this.#onError = options.onError ?? (() => {});
    if (options.flushMs) {
      this.#timer = setInterval(() => void this.flush(), options.flushMs);
      this.#timer.unref();
    }
  }

  record(apiKeyId: string, at: Date): void {
    const previous = this.#pending.get(apiKeyId);
    if (!previous || previous < at) this.#pending.set(apiKeyId, at);
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Writes everything recorded so far; concurrent calls queue behind each other. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(() => this.#write());
    return this.#flushing;
  }

  async #write(): Promise<void> {
    if (this.#pending.size === 0) return;
    const batch = [...this.#pending];
    this.#pending.clear();
    const toText = timeText[this.#provider];
    for (let start = 0; start < batch.length; start += BATCH) {
      const part = batch.slice(start, start + BATCH);
      try {
        const pairs = JSON.stringify(part.map(([id, at]) => [id, toText(at)]));
        await this.#db.$executeRawUnsafe(FLUSH_SQL[this.#provider], pairs);
      } catch (error) {
        for (const [id, at] of part) this.record(id, at); // kept for the next flush
        this.#onError(error);
      }
    }
    signals.lastUsedFlushed(batch);
  }

  /** Final flush on shutdown; no timer afterwards. */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.flush();
  }
}
