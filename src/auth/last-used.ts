// lastUsedAt is written in batches: one statement per flush (per 1,000 keys, writeLastUsed in src/store/dialect.ts),
// at most one write per key.
import type { Db, Provider } from '../db/client.ts';
import { signals } from '../observability/signals.ts';
import { writeLastUsed } from '../store/dialect.ts';

/** Keys written by one statement. */
const BATCH = 1_000;

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
    for (let start = 0; start < batch.length; start += BATCH) {
      const part = batch.slice(start, start + BATCH);
      try {
        await writeLastUsed(this.#db, this.#provider, part);
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
