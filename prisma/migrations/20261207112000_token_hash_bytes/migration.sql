-- A token's hash as its 32 bytes instead of 64 hexadecimal characters: the unique index the lookup of
-- every unknown token goes through is about 40% smaller. The hashes stored are converted in place,
-- so every token issued before keeps working.

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_ApiKeyToken" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "apiKeyId" TEXT NOT NULL,
    "hash" BLOB NOT NULL,
    "createdAt" DATETIME NOT NULL,
    "expiresAt" DATETIME,
    CONSTRAINT "ApiKeyToken_apiKeyId_fkey" FOREIGN KEY ("apiKeyId") REFERENCES "ApiKey" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_ApiKeyToken" ("apiKeyId", "createdAt", "expiresAt", "hash", "id") SELECT "apiKeyId", "createdAt", "expiresAt", unhex("hash"), "id" FROM "ApiKeyToken";
DROP TABLE "ApiKeyToken";
ALTER TABLE "new_ApiKeyToken" RENAME TO "ApiKeyToken";
CREATE UNIQUE INDEX "ApiKeyToken_hash_key" ON "ApiKeyToken"("hash");
CREATE INDEX "ApiKeyToken_apiKeyId_idx" ON "ApiKeyToken"("apiKeyId");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;
