// Splits a migration.sql into statements: the SQLite adapter runs one statement per call.
// Prisma's generated SQL is simple (statements end with `;`, comments start with `--`), but a
// hand-edited migration may hold `;` inside strings, quoted names, comments, PostgreSQL
// dollar-quoted bodies or SQLite trigger bodies, so this reads the SQL rather than cutting at `;`.

const TRIGGER = /^CREATE\s+(?:TEMP(?:ORARY)?\s+)?TRIGGER\b/i;
const ENDS_WITH_END = /\bEND$/i;
const DOLLAR_TAG = /^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/;

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
  /** Copies sql[i..] through the first `close` (inclusive), or to the end. */
  const copyThrough = (close: string, from: number) => {
    const end = sql.indexOf(close, from);
    const stop = end === -1 ? sql.length : end + close.length;
    current += sql.slice(i, stop);
    i = stop;
  };

  while (i < sql.length) {
    const char = sql[i] as string;
    const next = sql[i + 1];
    if (char === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? sql.length : end;
    } else if (char === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end === -1 ? sql.length : end + 2;
      current += ' ';
    } else if (char === "'" || char === '"' || char === '`') {
      // A doubled quote ('' or "") closes and reopens: the two halves are copied in turn.
      copyThrough(char, i + 1);
    } else if (char === '[') {
      copyThrough(']', i + 1);
    } else if (char === '$' && !/[A-Za-z0-9_]/.test(sql[i - 1] ?? '')) {
      const tag = DOLLAR_TAG.exec(sql.slice(i))?.[0];
      if (tag) copyThrough(tag, i + tag.length);
      else {
        current += char;
        i += 1;
      }
    } else if (char === ';') {
      const text = current.trim();
      i += 1;
      if (TRIGGER.test(text) && !ENDS_WITH_END.test(text)) current += ';';
      else finish();
    } else {
      current += char;
      i += 1;
    }
  }
  finish();
  return statements;
}
