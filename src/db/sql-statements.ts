// Splits a migration.sql into statements: the SQLite adapter runs one statement per call.
// Prisma's generated SQL is simple (statements end with `;`, comments start with `--`), but a
// hand-edited migration may hold `;` inside strings, quoted names, comments, PostgreSQL
// dollar-quoted bodies or SQLite trigger bodies, so this reads the SQL rather than cutting at `;`.

const TRIGGER = /^CREATE\s+(?:TEMP(?:ORARY)?\s+)?TRIGGER\b/i;
/** A SQLite trigger's body (PostgreSQL's CREATE TRIGGER names a function instead, and has none). */
const BODY = /\bBEGIN\b/i;
const ENDS_WITH_END = /\bEND$/i;
const DOLLAR_TAG = /^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/;

/** A comment starting at `i`: where it ends, and what stands for it (a block comment separates words). */
function commentAt(sql: string, i: number): { end: number; replacement: string } | undefined {
  if (sql.startsWith('--', i)) {
    const end = sql.indexOf('\n', i);
    return { end: end === -1 ? sql.length : end, replacement: '' };
  }
  if (sql.startsWith('/*', i)) {
    const end = sql.indexOf('*/', i + 2);
    return { end: end === -1 ? sql.length : end + 2, replacement: ' ' };
  }
  return undefined;
}

/** A quoted part starting at `i` (string, quoted name, dollar-quoted body): its opening and closing text. */
function quoteAt(sql: string, i: number): { open: string; close: string } | undefined {
  const char = sql[i] as string;
  // A doubled quote ('' or "") closes and reopens: the two halves are copied in turn.
  if (char === "'" || char === '"' || char === '`') return { open: char, close: char };
  if (char === '[') return { open: char, close: ']' };
  if (char !== '$' || /[A-Za-z0-9_]/.test(sql[i - 1] ?? '')) return undefined;
  const tag = DOLLAR_TAG.exec(sql.slice(i))?.[0];
  return tag ? { open: tag, close: tag } : undefined;
}

/** Statements without their trailing `;` and without comments; blank ones are dropped. */
export function splitSqlStatements(sql: string): string[] {
  const statements: string[] = [];
  let current = '';
  let i = 0;

  const finish = () => {
    const statement = current.trim();
    if (statement !== '') statements.push(statement);
    current = '';
  };

  while (i < sql.length) {
    const comment = commentAt(sql, i);
    const quote = comment ? undefined : quoteAt(sql, i);
    if (comment) {
      current += comment.replacement;
      i = comment.end;
    } else if (quote) {
      // Copied through the first closing text (inclusive), or to the end.
      const end = sql.indexOf(quote.close, i + quote.open.length);
      const stop = end === -1 ? sql.length : end + quote.close.length;
      current += sql.slice(i, stop);
      i = stop;
    } else if (sql[i] === ';') {
      const text = current.trim();
      i += 1;
      if (TRIGGER.test(text) && BODY.test(text) && !ENDS_WITH_END.test(text)) current += ';';
      else finish();
    } else {
      current += sql[i];
      i += 1;
    }
  }
  finish();
  return statements;
}
