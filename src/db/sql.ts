// The SQL template every statement run through Prisma is built with: the one in Prisma's runtime, the same
// `Prisma.sql` both generated clients export, so that the domain builds statements without importing a
// generated client. (@prisma/client-runtime-utils has a copy of it, but loaded as an ES module its `Sql`
// is another class: nested in a statement Prisma runs, such a fragment would be sent as a bound value.
// It is fine for the readers of src/db/reader.ts, which hand over a whole statement.)
import { empty, join, raw, Sql, sqltag } from '@prisma/client/runtime/client';

export { empty, join, raw, Sql, sqltag as sql };
