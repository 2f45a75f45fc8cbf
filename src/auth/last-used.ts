// lastUsedAt is written in batches: at most one write per key per flush. Writes only move the
// timestamp forward, so several processes flushing in any order converge on the latest use.
import type { Db } from '../db/client.ts';
import { signals } from '../observability/signals.ts';

export class LastUsedRecorder {
  readonly #db: Db;
  readonly #pending = new Map<string, Date>();
  #timer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> = Promise.resolve();
  readonly #onError: (error: unknown) => void;

  constructor(db: Db, options: { flushMs?: number; onError?: (error: unknown) => void } = {}) {
    this.#db = db;
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
    for (const [id, at] of batch) {
      try {
        await this.#db.apiKey.updateMany({
          where: { id, OR: [{ lastUsedAt: null }, { lastUsedAt: { lt: at } }] },
          data: { lastUsedAt: at },
        });
      } catch (error) {
        this.record(id, at); // keep it for the next flush
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
