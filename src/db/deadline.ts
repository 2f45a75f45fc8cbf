// Every request ends within a bound (KEYGATE_REQUEST_TIMEOUT_MS, docs/rules.md "Deadlines"): the HTTP
// server gives each request a Deadline, and its GraphQL context a database client bound to it
// (`bindDeadline`), whose transactions cannot commit once the request has been answered: a 503 at the
// deadline stays true (nothing written), and a commit already on its way is waited for rather than
// contradicted. (Not AsyncLocalStorage: on Node 20 it slows every promise of every request.)

/** What the database layer throws at a deadline; P1008 ("operations timed out") reads as SERVICE_UNAVAILABLE. */
export class DeadlineExceededError extends Error {
  readonly code = 'P1008';
  constructor() {
    super('The request ran out of time; nothing was changed.');
    this.name = 'DeadlineExceededError';
  }
}

export class Deadline {
  #expired = false;
  #commits = 0;

  get expired(): boolean {
    return this.#expired;
  }

  /**
   * The request's answer is due. True when it may be answered 503 now (from here on nothing of it can
   * commit); false when a commit is on its way: its outcome decides the answer (a commit is bounded by
   * the database's own timeouts).
   */
  expire(): boolean {
    if (this.#commits > 0) return false;
    this.#expired = true;
    return true;
  }

  /**
   * The request has been answered (or its client has gone): whatever of it is still running may not
   * commit any more. (A 503 produced by an error, a lock or connection timeout, must stay true too.)
   */
  close(): void {
    this.#expired = true;
  }

  /**
   * A transaction of the request is about to COMMIT: refused (throws, and the transaction is rolled
   * back) once the deadline has expired or the request has been answered; otherwise the deadline waits
   * for `committed()` before it can expire.
   */
  beginCommit(): void {
    if (this.#expired) throw new DeadlineExceededError();
    this.#commits++;
  }

  committed(): void {
    this.#commits--;
  }
}

type TransactionFn = (tx: never) => Promise<unknown>;

/** A database client (src/db/client.ts), as far as a deadline is concerned. */
interface Transacting {
  $transaction: (...args: never[]) => unknown;
}

/**
 * `db` whose interactive transactions (`$transaction(async (tx) => …)`) check `deadline` when their
 * function has finished, just before Prisma sends COMMIT. Everything else is `db` itself.
 */
export function bindDeadline<D extends Transacting>(db: D, deadline: Deadline): D {
  let guarded: ((fn: unknown, options?: unknown) => Promise<unknown>) | undefined;
  return new Proxy(db, {
    get(target, property) {
      if (property !== '$transaction') return Reflect.get(target, property);
      guarded ??= guardTransactions(target, deadline);
      return guarded;
    },
  });
}

function guardTransactions(db: Transacting, deadline: Deadline): (fn: unknown, options?: unknown) => Promise<unknown> {
  const transaction = db.$transaction.bind(db) as (fn: unknown, options?: unknown) => Promise<unknown>;
  return (fn, options) => {
    if (typeof fn !== 'function') return transaction(fn, options); // the batch form: not used by Keygate
    let committing = false;
    return transaction(async (tx: never) => {
      const result = await (fn as TransactionFn)(tx);
      deadline.beginCommit();
      committing = true;
      return result;
    }, options).finally(() => {
      if (committing) deadline.committed();
    });
  };
}
