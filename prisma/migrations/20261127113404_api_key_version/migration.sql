-- AlterTable (hand-written: SQLite adds a column with a constant default in place; Prisma's generated
-- migration rebuilt the whole table, a full copy of every key)
ALTER TABLE "ApiKey" ADD COLUMN "version" INTEGER NOT NULL DEFAULT 0;
