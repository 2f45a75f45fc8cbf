// Reads served again while the database has not changed. Every read takes the database's stamp
// (src/db/data-stamp.ts) first; an entry is served only under the stamp it was read under, and the first
// read that sees a new stamp drops every entry. So a cached answer is what the database would answer
// now, whichever process changed it, and a burst of identical reads between changes (a dashboard
// polling a page of keys) costs one stamp each instead of one statement each.
//
// A value is kept only when its key is asked for a second time under the same stamp. Most reads are
// never asked again before the next change (a script paging through every key, a search as it is
// typed): kept at their first read, they filled the cache with 10,000 keys' worth of records (≈ 9 MB
// of heap, measured at 1M keys with pages read afresh) that were dropped unread at the next change.
// A key once kept is hot: under every later stamp its first read is kept at once. A page polled while
// the database keeps changing (a dashboard beside scripts that rotate keys) then costs one statement a
// change, not two; keys read once at a time never become hot.
//
// A key's first read takes no stamp: neither kept, nor seen, nor hot, it is read from the database
// whatever the stamp says, so a page read once (a script paging through every key) costs its statement
// alone, not a stamp's round trip before it. It is noted as seen under the stamp last taken; the next
// reading that finds a newer one forgets it, as it forgets every first read, so at worst a key first
// read just after a change is kept at its third read instead of its second. What is kept is still kept
// by a read that took its stamp before reading, so nothing is served that a change has replaced.

import { signals } from '../observability/signals.ts';

export type Stamp = () => Promise<string>;

interface Entry {
  value: unknown;
  weight: number;
}

export class ReadCache {
  readonly #stamp: Stamp;
  readonly #capacity: number;
  /** In least recently used order; all read under #current. */
  readonly #entries = new Map<string, Entry>();
  /** Keys read once under #current and not kept: their next read keeps its value. */
  readonly #seen = new Set<string>();
  /** Keys kept under some stamp: their first read under a later one keeps its value. */
  readonly #hot = new Set<string>();
  #current: string | null = null;
  #weight = 0;

  /** `capacity` bounds the summed weight of the entries (a page weighs its number of keys). */
  constructor(stamp: Stamp, capacity = 10_000) {
    this.#stamp = stamp;
    this.#capacity = capacity;
  }

  /** The value under `key`: the entry read under the current stamp, or `load()`'s, kept for later. */
  async read<T>(key: string, load: () => Promise<T>, weigh: (value: T) => number = () => 1): Promise<T> {
    if (this.#current !== null && !this.#seen.has(key) && !this.#hot.has(key) && !this.#entries.has(key)) {
      signals.readCache(false);
      this.#remember(this.#seen, key);
      return load();
    }
    const stamp = await this.#stamp();
    if (stamp !== this.#current) {
      this.#entries.clear();
      this.#seen.clear();
      this.#weight = 0;
      this.#current = stamp;
    } else {
      const entry = this.#entries.get(key);
      if (entry) {
        this.#entries.delete(key);
        this.#entries.set(key, entry);
        signals.readCache(true);
        return entry.value as T;
      }
    }
    signals.readCache(false);
    const again = this.#seen.has(key) || this.#hot.has(key);
    if (!again) this.#remember(this.#seen, key);
    const value = await load();
    // Read under an older stamp than the newest seen meanwhile: it may be stale already.
    if (again && stamp === this.#current) this.#keep(key, value, weigh(value));
    return value;
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * Notes a key in `keys` (first reads, or hot keys), bounded in number like the entries' weight (a key is
   * ~100 bytes): past the bound the set starts over.
   */
  #remember(keys: Set<string>, key: string): void {
    if (keys.size >= this.#capacity) keys.clear();
    keys.add(key);
  }

  #keep(key: string, value: unknown, weight: number): void {
    if (weight > this.#capacity) return;
    const previous = this.#entries.get(key);
    if (previous) {
      this.#entries.delete(key);
      this.#weight -= previous.weight;
    }
    this.#entries.set(key, { value, weight });
    this.#weight += weight;
    if (!this.#hot.has(key)) this.#remember(this.#hot, key);
    for (const [oldest, entry] of this.#entries) {
      if (this.#weight <= this.#capacity) break;
      this.#entries.delete(oldest);
      this.#weight -= entry.weight;
    }
  }
}
