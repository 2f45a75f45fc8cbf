// Fewer round trips for a change's transaction on PostgreSQL. Prisma's pg adapter sends BEGIN, each of the
// transaction's statements and COMMIT one after the other, each waiting for its answer: a creation of a
// key was five round trips (BEGIN, the caller's key, the caller's token, the writes, COMMIT), a
// rotation six. Under load each answer then waits its turn in the event loop behind every request
// ready meanwhile, so a change took several times as long as a read, and held its row locks and its
// connection throughout. Two of them carry nothing the transaction needs to know before its next
// statement: BEGIN, and the change's writes (Dialect.write sends them last and reads nothing of their
// result). The pool's connections pipeline (node-postgres's `pipeline` option: a statement is sent
// without waiting for the answers to those before it, and PostgreSQL runs them in order, each on its own
// snapshot, as if they had been sent one by one), and here, on each of them:
//
// - BEGIN and a statement marked SENT_WITH_NEXT (the change's writes) are sent at once and answered at
//   once, unread: the next statement (or COMMIT) follows them on the wire without waiting;
// - a statement whose answer is read waits for the unread ones' answers too: when one of them failed,
//   that failure is the statement's (PostgreSQL ran the statement in a transaction already aborted,
//   and a COMMIT there rolls back), so a failed write fails its COMMIT, and the transaction ends.
//
// Parameters travel as parameters: nothing is written into a statement's text.

/** Starts a statement's text: it is answered at once, unread, and the next statement follows it. */
export const SENT_WITH_NEXT = '/* keygate: sent with the next statement */ ';

type QueryConfig = { text: string };
type Result = { rows: unknown[]; fields: unknown[]; rowCount: number | null; command: string };

/** A pooled client as this file sees it. */
interface Client {
  query: (...args: unknown[]) => unknown;
}

/** What hears each statement sent: its text, and whether its answer is waited for before the next is sent. */
export type StatementListener = (text: string, awaited: boolean) => void;

const unread = (command: string): Result => ({ rows: [], fields: [], rowCount: null, command });

/** One pooled connection's transactions (see the top of this file). */
class Pipeline {
  readonly #send: (config: QueryConfig, awaited: boolean) => Promise<Result>;
  /** The unread statements' answers, settled: a failure is kept in #failure. */
  #unread: Array<Promise<void>> = [];
  #failure: { error: unknown } | null = null;
  #inTransaction = false;
  /** Moves on at each release: an answer that arrives after it belongs to no transaction of now. */
  #generation = 0;

  constructor(send: (config: QueryConfig, awaited: boolean) => Promise<Result>) {
    this.#send = send;
  }

  /** Whether `config` is one of this file's: a BEGIN, or any statement inside a transaction. */
  takes(config: QueryConfig): boolean {
    return this.#inTransaction || config.text === 'BEGIN';
  }

  /** Back in the pool: a transaction that ended without COMMIT or ROLLBACK leaves nothing behind. */
  released(): void {
    this.#generation++;
    this.#inTransaction = false;
    this.#unread = [];
    this.#failure = null;
  }

  query(config: QueryConfig): Promise<Result> {
    const { text } = config;
    if (text === 'BEGIN' || text.startsWith(SENT_WITH_NEXT)) {
      this.#inTransaction = true;
      const answer = this.#send(config, false);
      const generation = this.#generation;
      this.#unread.push(
        answer.then(
          () => {},
          (error: unknown) => {
            if (generation === this.#generation) this.#failure ??= { error };
          },
        ),
      );
      return Promise.resolve(unread(text === 'BEGIN' ? 'BEGIN' : 'HELD'));
    }
    if (text === 'COMMIT' || text === 'ROLLBACK') this.#inTransaction = false;
    return this.#read(config, text === 'ROLLBACK');
  }

  /** Sends `config` behind the unread statements and resolves with its answer, once theirs are in. */
  async #read(config: QueryConfig, rollback: boolean): Promise<Result> {
    const answer = this.#send(config, true);
    // Settled here so that a rejection is never left unhandled when an earlier failure is thrown instead.
    const settled = answer.then(
      (result) => ({ result }),
      (error: unknown) => ({ error }),
    );
    const before = this.#unread;
    this.#unread = [];
    await Promise.all(before);
    const failure = this.#failure;
    this.#failure = null;
    const outcome = await settled;
    // A ROLLBACK ends the transaction whatever failed in it; otherwise the first failure is the one to tell.
    if (failure && !rollback) throw failure.error;
    if ('error' in outcome) throw outcome.error;
    return outcome.result;
  }
}

/**
 * Makes `client` (created with `pipeline: true`) send its transactions' BEGIN and writes without
 * waiting for their answers (see the top of this file). `onStatement` hears every statement sent.
 */
export function pipelineTransactions(client: Client, onStatement?: StatementListener): { released(): void } {
  const original = client.query.bind(client) as (...args: unknown[]) => unknown;
  const pipeline = new Pipeline((config, awaited) => {
    onStatement?.(config.text, awaited);
    return original(config) as Promise<Result>;
  });
  client.query = (...args: unknown[]) => {
    const [config] = args;
    // pg-pool's own calls (with a callback) and statements outside a transaction go straight through.
    if (args.length === 1 && typeof config === 'object' && config !== null && pipeline.takes(config as QueryConfig)) {
      return pipeline.query(config as QueryConfig);
    }
    if (onStatement && typeof config === 'object' && config !== null) onStatement((config as QueryConfig).text, true);
    return original(...args);
  };
  return { released: () => pipeline.released() };
}
