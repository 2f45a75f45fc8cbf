-- A token's hash as its 32 bytes instead of 64 hexadecimal characters: the unique index the lookup of
-- every unknown token goes through is about 40% smaller. The hashes stored are converted in place,
-- so every token issued before keeps working.

-- AlterTable
ALTER TABLE "ApiKeyToken" ALTER COLUMN "hash" SET DATA TYPE BYTEA USING decode("hash", 'hex');
