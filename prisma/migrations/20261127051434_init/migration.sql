-- CreateTable
CREATE TABLE "Organization" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "Team" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "organizationId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "Team_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "User" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "organizationId" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "slackUserId" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "User_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "Role" (
    "name" TEXT NOT NULL PRIMARY KEY,
    "description" TEXT NOT NULL,
    "scopes" TEXT NOT NULL,
    "accountLevel" BOOLEAN NOT NULL,
    "teamLevel" BOOLEAN NOT NULL,
    "grantableViaApi" BOOLEAN NOT NULL,
    "position" INTEGER NOT NULL
);

-- CreateTable
CREATE TABLE "ApiKey" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "organizationId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL,
    "tokenLastIssuedAt" DATETIME NOT NULL,
    "lastUsedAt" DATETIME,
    "creatorKeyId" TEXT,
    "creatorKeyName" TEXT,
    "creatorUserId" TEXT,
    CONSTRAINT "ApiKey_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "ApiKey_creatorUserId_fkey" FOREIGN KEY ("creatorUserId") REFERENCES "User" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "ApiKeyRole" (
    "apiKeyId" TEXT NOT NULL,
    "roleName" TEXT NOT NULL,

    PRIMARY KEY ("apiKeyId", "roleName"),
    CONSTRAINT "ApiKeyRole_apiKeyId_fkey" FOREIGN KEY ("apiKeyId") REFERENCES "ApiKey" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "ApiKeyRole_roleName_fkey" FOREIGN KEY ("roleName") REFERENCES "Role" ("name") ON DELETE RESTRICT ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "ApiKeyTeam" (
    "apiKeyId" TEXT NOT NULL,
    "teamId" TEXT NOT NULL,

    PRIMARY KEY ("apiKeyId", "teamId"),
    CONSTRAINT "ApiKeyTeam_apiKeyId_fkey" FOREIGN KEY ("apiKeyId") REFERENCES "ApiKey" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "ApiKeyTeam_teamId_fkey" FOREIGN KEY ("teamId") REFERENCES "Team" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "ApiKeyTeamRole" (
    "apiKeyId" TEXT NOT NULL,
    "roleName" TEXT NOT NULL,

    PRIMARY KEY ("apiKeyId", "roleName"),
    CONSTRAINT "ApiKeyTeamRole_apiKeyId_fkey" FOREIGN KEY ("apiKeyId") REFERENCES "ApiKey" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "ApiKeyTeamRole_roleName_fkey" FOREIGN KEY ("roleName") REFERENCES "Role" ("name") ON DELETE RESTRICT ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "ApiKeyToken" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "apiKeyId" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL,
    "expiresAt" DATETIME,
    CONSTRAINT "ApiKeyToken_apiKeyId_fkey" FOREIGN KEY ("apiKeyId") REFERENCES "ApiKey" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE UNIQUE INDEX "Team_organizationId_name_key" ON "Team"("organizationId", "name");

-- CreateIndex
CREATE UNIQUE INDEX "User_organizationId_email_key" ON "User"("organizationId", "email");

-- CreateIndex
CREATE INDEX "ApiKey_organizationId_id_idx" ON "ApiKey"("organizationId", "id");

-- CreateIndex
CREATE INDEX "ApiKey_creatorUserId_idx" ON "ApiKey"("creatorUserId");

-- CreateIndex
CREATE INDEX "ApiKeyRole_roleName_idx" ON "ApiKeyRole"("roleName");

-- CreateIndex
CREATE INDEX "ApiKeyTeam_teamId_idx" ON "ApiKeyTeam"("teamId");

-- CreateIndex
CREATE INDEX "ApiKeyTeamRole_roleName_idx" ON "ApiKeyTeamRole"("roleName");

-- CreateIndex
CREATE UNIQUE INDEX "ApiKeyToken_hash_key" ON "ApiKeyToken"("hash");

-- CreateIndex
CREATE INDEX "ApiKeyToken_apiKeyId_idx" ON "ApiKeyToken"("apiKeyId");
