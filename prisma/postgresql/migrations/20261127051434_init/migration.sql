-- CreateTable
CREATE TABLE "Organization" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Organization_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Team" (
    "id" TEXT NOT NULL,
    "organizationId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Team_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "User" (
    "id" TEXT NOT NULL,
    "organizationId" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "slackUserId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "User_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Role" (
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL,
    "scopes" TEXT NOT NULL,
    "accountLevel" BOOLEAN NOT NULL,
    "teamLevel" BOOLEAN NOT NULL,
    "grantableViaApi" BOOLEAN NOT NULL,
    "position" INTEGER NOT NULL,

    CONSTRAINT "Role_pkey" PRIMARY KEY ("name")
);

-- CreateTable
CREATE TABLE "ApiKey" (
    "id" TEXT NOT NULL,
    "organizationId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL,
    "tokenLastIssuedAt" TIMESTAMP(3) NOT NULL,
    "lastUsedAt" TIMESTAMP(3),
    "creatorKeyId" TEXT,
    "creatorKeyName" TEXT,
    "creatorUserId" TEXT,

    CONSTRAINT "ApiKey_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ApiKeyRole" (
    "apiKeyId" TEXT NOT NULL,
    "roleName" TEXT NOT NULL,

    CONSTRAINT "ApiKeyRole_pkey" PRIMARY KEY ("apiKeyId","roleName")
);

-- CreateTable
CREATE TABLE "ApiKeyTeam" (
    "apiKeyId" TEXT NOT NULL,
    "teamId" TEXT NOT NULL,

    CONSTRAINT "ApiKeyTeam_pkey" PRIMARY KEY ("apiKeyId","teamId")
);

-- CreateTable
CREATE TABLE "ApiKeyTeamRole" (
    "apiKeyId" TEXT NOT NULL,
    "roleName" TEXT NOT NULL,

    CONSTRAINT "ApiKeyTeamRole_pkey" PRIMARY KEY ("apiKeyId","roleName")
);

-- CreateTable
CREATE TABLE "ApiKeyToken" (
    "id" TEXT NOT NULL,
    "apiKeyId" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL,
    "expiresAt" TIMESTAMP(3),

    CONSTRAINT "ApiKeyToken_pkey" PRIMARY KEY ("id")
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

-- AddForeignKey
ALTER TABLE "Team" ADD CONSTRAINT "Team_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "User" ADD CONSTRAINT "User_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ApiKey" ADD CONSTRAINT "ApiKey_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ApiKey" ADD CONSTRAINT "ApiKey_creatorUserId_fkey" FOREIGN KEY ("creatorUserId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ApiKeyRole" ADD CONSTRAINT "ApiKeyRole_apiKeyId_fkey" FOREIGN KEY ("apiKeyId") REFERENCES "ApiKey"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ApiKeyRole" ADD CONSTRAINT "ApiKeyRole_roleName_fkey" FOREIGN KEY ("roleName") REFERENCES "Role"("name") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ApiKeyTeam" ADD CONSTRAINT "ApiKeyTeam_apiKeyId_fkey" FOREIGN KEY ("apiKeyId") REFERENCES "ApiKey"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ApiKeyTeam" ADD CONSTRAINT "ApiKeyTeam_teamId_fkey" FOREIGN KEY ("teamId") REFERENCES "Team"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ApiKeyTeamRole" ADD CONSTRAINT "ApiKeyTeamRole_apiKeyId_fkey" FOREIGN KEY ("apiKeyId") REFERENCES "ApiKey"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ApiKeyTeamRole" ADD CONSTRAINT "ApiKeyTeamRole_roleName_fkey" FOREIGN KEY ("roleName") REFERENCES "Role"("name") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ApiKeyToken" ADD CONSTRAINT "ApiKeyToken_apiKeyId_fkey" FOREIGN KEY ("apiKeyId") REFERENCES "ApiKey"("id") ON DELETE CASCADE ON UPDATE CASCADE;
