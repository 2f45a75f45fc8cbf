import { describe, expect, test } from 'vitest';
import { splitSqlStatements } from '../../src/db/sql-statements.ts';

describe('splitSqlStatements', () => {
  test('splits Prisma-generated SQL at the semicolons ending lines and drops comments', () => {
    const sql =
      '-- CreateTable\nCREATE TABLE "A" (\n    "id" TEXT NOT NULL\n);\n\n-- CreateIndex\nCREATE INDEX "A_id" ON "A"("id");\n';
    expect(splitSqlStatements(sql)).toEqual([
      'CREATE TABLE "A" (\n    "id" TEXT NOT NULL\n)',
      'CREATE INDEX "A_id" ON "A"("id")',
    ]);
  });

  test('keeps semicolons and comment markers inside strings, quoted names and block comments', () => {
    const sql = `INSERT INTO "a;b" VALUES ('x;\n-- not a comment', 'it''s;');\n/* c; */ SELECT [x;y], \`z;\`;`;
    expect(splitSqlStatements(sql)).toEqual([
      `INSERT INTO "a;b" VALUES ('x;\n-- not a comment', 'it''s;')`,
      'SELECT [x;y], `z;`',
    ]);
  });

  test('keeps PostgreSQL dollar-quoted bodies and SQLite trigger bodies whole', () => {
    const fn = 'CREATE FUNCTION f() RETURNS trigger AS $body$ BEGIN x := 1; RETURN NEW; END; $body$ LANGUAGE plpgsql';
    const trigger = 'CREATE TRIGGER t AFTER INSERT ON a BEGIN\n  UPDATE b SET n = n + 1;\n  DELETE FROM c;\nEND';
    expect(splitSqlStatements(`${fn};\n${trigger};\nSELECT $1;`)).toEqual([fn, trigger, 'SELECT $1']);
  });

  test("a PostgreSQL trigger (a function's name, no body) ends at its semicolon", () => {
    const trigger = 'CREATE TRIGGER t AFTER INSERT OR DELETE ON a FOR EACH ROW EXECUTE FUNCTION f()';
    expect(splitSqlStatements(`${trigger};\n${trigger.replace('t ', 'u ')};\nSELECT 1;`)).toEqual([
      trigger,
      trigger.replace('t ', 'u '),
      'SELECT 1',
    ]);
  });

  test('a last statement without a semicolon and blank statements', () => {
    expect(splitSqlStatements(';;\n  ;SELECT 1')).toEqual(['SELECT 1']);
    expect(splitSqlStatements('-- only a comment\n')).toEqual([]);
  });
});
