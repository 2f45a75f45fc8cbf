// Statements run on the raw driver, outside Prisma (src/db/raw-read.ts), get a database span when
// tracing is on, as Prisma's own statements do through its instrumentation. Tracing installs the
// wrapper when it starts (src/observability/tracing.ts); without it a statement runs as it is, so a
// process without tracing pays one null check per statement and loads nothing of OpenTelemetry.

/** Runs a statement's execution inside a span named for it. */
export type QuerySpan = <T>(sql: string, run: () => Promise<T>) => Promise<T>;

let wrapper: QuerySpan | null = null;

export function traceQueries(span: QuerySpan | null): void {
  wrapper = span;
}

export function inQuerySpan<T>(sql: string, run: () => Promise<T>): Promise<T> {
  return wrapper ? wrapper(sql, run) : run();
}
