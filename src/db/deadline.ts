// Every request ends within a bound (KEYGATE_REQUEST_TIMEOUT_MS, docs/rules.md "Deadlines"): the HTTP
// server gives each request a Deadline, carried to the database layer through AsyncLocalStorage (no
// argument threaded through resolvers and domain functions). The database layer uses it to stop
// waiting (SQLite's busy retries) and, above all, to make the 503 true: once a request has been
// answered SERVICE_UNAVAILABLE, its transaction can no longer commit (`commit` refuses), and a commit
// that was already sent is waited for rather than contradicted.
import { AsyncLocalStorage } from 'node:async_hooks';

/** What the database layer throws at a deadline; P1008 ("operations timed out") reads as SERVICE_UNAVAILABLE. */
export class DeadlineExceededError extends Error {
  readonly code = 'P1008';
  constructor() {
    super('The request ran out of time; nothing was changed.');
    this.name = 'DeadlineExceededError';
  }
}

export class Deadline {
  /** performance.now() at which the request must be answered. */
  readonly at: number;
  #expired = false;
  #commits = 0;
  #settled: (() => void) | null = null;

  constructor(ms: number) {
    this.at = performance.now() + ms;
  }

  get expired(): boolean {
    return this.#expired;
  }

  /** Milliseconds left (negative once past). */
  remaining(): number {
    return this.at - performance.now();
  }

  /**
   * The request's answer is due. True when it may be answered 503 now (from here on nothing of it can
   * commit); otherwise a commit is on its way and its outcome decides the answer: the promise resolves
   * when it has settled.
   */
  expire(): true | Promise<void> {
    if (this.#commits === 0) {
      this.#expired = true;
      return true;
    }
    return new Promise((resolve) => {
      this.#settled = resolve;
    });
  }

  /**
   * The request has been answered (or its client has gone): whatever of it is still running may not
   * commit any more. (A 503 produced by an error, a lock or connection timeout, must stay true too.)
   */
  close(): void {
    this.#expired = true;
  }

  /**
   * Runs a COMMIT unless the deadline has expired; then runs `rollBack` instead and throws. (Prisma,
   * when a COMMIT fails, only hands the connection back: the transaction would stay open on it, and
   * the next COMMIT sent there would commit it.)
   */
  async commit<T>(run: () => Promise<T>, rollBack: () => Promise<unknown>): Promise<T> {
    if (this.#expired) {
      await rollBack().catch(() => {});
      throw new DeadlineExceededError();
    }
    this.#commits++;
    try {
      return await run();
    } finally {
      if (--this.#commits === 0 && this.#settled) {
        this.#settled();
        this.#settled = null;
      }
    }
  }
}

const storage = new AsyncLocalStorage<Deadline>();

/** The deadline of the request being served, if any (none for the CLI, tests through app.fetch). */
export function currentDeadline(): Deadline | undefined {
  return storage.getStore();
}

export function withDeadline<T>(deadline: Deadline, run: () => T): T {
  return storage.run(deadline, run);
}

/** Runs a COMMIT under the current request's deadline, if there is one (see Deadline.commit). */
export function commitWithinDeadline<T>(run: () => Promise<T>, rollBack: () => Promise<unknown>): Promise<T> {
  const deadline = storage.getStore();
  return deadline ? deadline.commit(run, rollBack) : run();
}
