// Fewer round trips for a change's transaction on PostgreSQL. Prisma's pg adapter sends BEGIN, each of the
// transaction's statements and COMMIT one after the other, each waiting for its answer: a creation of a
// key was five round trips (BEGIN, the caller's key, the caller's token, the writes, COMMIT), a
// rotation six. Under load each answer then waits its turn in the event loop behind every request
// ready meanwhile, so a change took several times as long as a read, and held its row locks and its
// connection throughout. Two round trips carry nothing the transaction needs an answer to before the
// next: BEGIN, and the change's writes (Dialect.write sends them last and reads nothing of their
// result). Here, on each connection of the pool:
//
// - BEGIN is answered at once and sent in front of the transaction's first statement, as one message;
// - a statement marked SENT_WITH_NEXT (the change's writes) is answered at once and sent in front of
//   the next statement, or of COMMIT: the writes and COMMIT are one message;
// - a ROLLBACK drops writes not yet sent, and is not sent at all when BEGIN was not.
//
// Statements sent together go in one simple-query message, so their parameters are written into the
// text as quoted literals (`inlined`): PostgreSQL infers a quoted literal's type from its context
// exactly as it does a parameter's, and each statement still runs on its own snapshot, in order,
// as if sent alone. A statement whose text cannot be read safely for parameters (a dollar-quoted
// string) is sent alone after what is waiting. The statements that start and end a change are
// planned anew (simple queries are not prepared); they are the one-row statements of a key's id.
// When a message of writes and COMMIT fails, PostgreSQL skips the COMMIT and the transaction stays
// open, aborted: it is rolled back here before the error is reported, so no connection returns to the
// pool inside a transaction.
import pg from 'pg';

/** Starts a statement's text: it is sent with the next statement (or COMMIT), and answered at once. */
export const SENT_WITH_NEXT = '/* keygate: sent with the next statement */ ';

type QueryConfig = { text: string; values?: unknown[]; name?: string; rowMode?: string; types?: unknown };
type Result = { rows: unknown[]; fields: unknown[]; rowCount: number | null; command: string };
type Query = (config: QueryConfig) => Promise<Result | Result[]>;

/** A pooled client as this file sees it. */
interface Client {
  query: (...args: unknown[]) => unknown;
}

const escapeLiteral = pg.escapeLiteral as (text: string) => string;
// The conversion pg applies to a parameter before it is sent (dates, arrays, objects, buffers).
const { prepareValue } = (pg as unknown as { utils: { prepareValue(value: unknown): unknown } }).utils;

/** The literal that stands for parameter `n` (1-based) of `values`, or undefined when it has none here. */
function literalOf(values: readonly unknown[], n: number): string | undefined {
  if (n < 1 || n > values.length) return undefined;
  const prepared = prepareValue(values[n - 1]);
  if (prepared === null || prepared === undefined) return 'NULL';
  // A Buffer is sent as a binary parameter; a bytea reads the same bytes from its hex text.
  if (Buffer.isBuffer(prepared)) return escapeLiteral(`\\x${prepared.toString('hex')}`);
  if (typeof prepared === 'string') return escapeLiteral(prepared);
  return undefined;
}

// String literals, quoted identifiers and comments (kept as they are; a doubled quote inside a literal
// is two literals in a row, the same text), a parameter, or what this reader does not follow: an
// unterminated quote or comment, a dollar sign that starts no parameter (a dollar-quoted string).
const TOKENS = /'[^']*'|"[^"]*"|--[^\n]*|\/\*[\s\S]*?\*\/|\$(\d*)|['"]|\/\*/g;

/**
 * `text` with its parameters $1, $2, … replaced by `values` as quoted literals; quoted identifiers,
 * string literals and comments are skipped. Undefined when a value has no literal or the text holds what
 * this reader does not follow.
 */
export function inlined(text: string, values: readonly unknown[] = []): string | undefined {
  let followed = true;
  const out = text.replace(TOKENS, (token, digits: string | undefined) => {
    if (token[0] !== '$') {
      if (token.length === 1 || token === '/*') followed = false;
      return token;
    }
    const literal = digits ? literalOf(values, Number(digits)) : undefined;
    if (literal === undefined) followed = false;
    return literal ?? token;
  });
  return followed ? out : undefined;
}

const done = (command: string): Result => ({ rows: [], fields: [], rowCount: null, command });

/**
 * One pooled connection's transactions (see the top of this file). `held` is null outside a
 * transaction; inside, what waits to go with the next message.
 */
class Coalescer {
  readonly #send: Query;
  #held: { begin: boolean; texts: string[] } | null = null;

  constructor(send: Query) {
    this.#send = send;
  }

  /** Whether `config` is one of this file's: a BEGIN, or any statement inside a transaction. */
  takes(config: QueryConfig): boolean {
    return this.#held !== null || config.text === 'BEGIN';
  }

  released(): void {
    this.#held = null;
  }

  async query(config: QueryConfig): Promise<Result> {
    const held = this.#held;
    const text = config.text;
    if (held === null) {
      this.#held = { begin: true, texts: [] };
      return done('BEGIN');
    }
    if (text === 'ROLLBACK') {
      this.#held = null;
      return held.begin ? done(text) : ((await this.#send(config)) as Result);
    }
    if (text === 'COMMIT') {
      this.#held = null;
      return held.begin && held.texts.length === 0 ? done(text) : this.#commit(config, held);
    }
    if (text.startsWith(SENT_WITH_NEXT)) {
      const own = inlined(text, config.values);
      if (own !== undefined) {
        held.texts.push(own);
        return done('HELD');
      }
    }
    this.#held = { begin: false, texts: [] };
    if (!held.begin && held.texts.length === 0) return (await this.#send(config)) as Result;
    return this.#withHeld(config, held);
  }

  /** COMMIT, with the writes held: a failed write makes PostgreSQL skip the COMMIT, so it is rolled back. */
  async #commit(config: QueryConfig, held: { begin: boolean; texts: string[] }): Promise<Result> {
    try {
      return await this.#withHeld(config, held);
    } catch (error) {
      if (!held.begin) await this.#send({ text: 'ROLLBACK' }).catch(() => {});
      throw error;
    }
  }

  /** Sends what is held with `config` in one message; resolves with `config`'s own result. */
  async #withHeld(config: QueryConfig, held: { begin: boolean; texts: string[] }): Promise<Result> {
    const texts = held.begin ? ['BEGIN', ...held.texts] : held.texts;
    const own = inlined(config.text, config.values);
    if (own === undefined) {
      await this.#send({ text: texts.join(';\n') });
      return (await this.#send(config)) as Result;
    }
    const results = await this.#send({
      text: [...texts, own].join(';\n'),
      ...(config.rowMode ? { rowMode: config.rowMode } : {}),
      ...(config.types ? { types: config.types } : {}),
    });
    return (Array.isArray(results) ? results.at(-1) : results) as Result;
  }
}

/**
 * Makes `client` send its transactions' BEGIN and writes with the statements that follow them (see the
 * top of this file). `onMessage` hears the text of every message sent through it (tests count them).
 */
export function coalesceTransactionStatements(
  client: Client,
  onMessage?: (text: string) => void,
): { released(): void } {
  const original = client.query.bind(client) as (...args: unknown[]) => unknown;
  const coalescer = new Coalescer((config) => {
    onMessage?.(config.text);
    return original(config) as Promise<Result | Result[]>;
  });
  client.query = (...args: unknown[]) => {
    const [config] = args;
    // pg-pool's own calls (with a callback) and statements outside a transaction go straight through.
    if (args.length === 1 && typeof config === 'object' && config !== null && coalescer.takes(config as QueryConfig)) {
      return coalescer.query(config as QueryConfig);
    }
    if (onMessage && typeof config === 'object' && config !== null) onMessage((config as QueryConfig).text);
    return original(...args);
  };
  // Back in the pool: whatever a transaction that ended without COMMIT or ROLLBACK held is dropped.
  return { released: () => coalescer.released() };
}
