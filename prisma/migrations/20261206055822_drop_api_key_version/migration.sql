-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_ApiKey" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "organizationId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL,
    "tokenLastIssuedAt" DATETIME NOT NULL,
    "lastUsedAt" DATETIME,
    "creatorKeyId" TEXT,
    "creatorKeyName" TEXT,
    "creatorUserId" TEXT,
    "expiresAt" DATETIME,
    CONSTRAINT "ApiKey_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "ApiKey_creatorUserId_fkey" FOREIGN KEY ("creatorUserId") REFERENCES "User" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);
INSERT INTO "new_ApiKey" ("createdAt", "creatorKeyId", "creatorKeyName", "creatorUserId", "expiresAt", "id", "lastUsedAt", "name", "organizationId", "tokenLastIssuedAt") SELECT "createdAt", "creatorKeyId", "creatorKeyName", "creatorUserId", "expiresAt", "id", "lastUsedAt", "name", "organizationId", "tokenLastIssuedAt" FROM "ApiKey";
DROP TABLE "ApiKey";
ALTER TABLE "new_ApiKey" RENAME TO "ApiKey";
CREATE INDEX "ApiKey_organizationId_id_idx" ON "ApiKey"("organizationId", "id");
CREATE INDEX "ApiKey_creatorUserId_idx" ON "ApiKey"("creatorUserId");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;
