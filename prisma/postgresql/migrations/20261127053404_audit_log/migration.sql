-- CreateTable
CREATE TABLE "AuditEvent" (
    "id" TEXT NOT NULL,
    "organizationId" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL,
    "actorKeyId" TEXT,
    "actorKeyName" TEXT,
    "actorUserId" TEXT,
    "actorUserEmail" TEXT,
    "actorUserName" TEXT,
    "targetKeyId" TEXT NOT NULL,
    "targetKeyName" TEXT NOT NULL,
    "grantsBefore" TEXT,
    "grantsAfter" TEXT,
    "details" TEXT,
    "targetHasAccountRoles" BOOLEAN NOT NULL,

    CONSTRAINT "AuditEvent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AuditEventTeam" (
    "eventId" TEXT NOT NULL,
    "teamId" TEXT NOT NULL,

    CONSTRAINT "AuditEventTeam_pkey" PRIMARY KEY ("eventId","teamId")
);

-- CreateIndex
CREATE INDEX "AuditEvent_organizationId_id_idx" ON "AuditEvent"("organizationId", "id");

-- CreateIndex
CREATE INDEX "AuditEvent_targetKeyId_idx" ON "AuditEvent"("targetKeyId");

-- CreateIndex
CREATE INDEX "AuditEventTeam_teamId_idx" ON "AuditEventTeam"("teamId");

-- AddForeignKey
ALTER TABLE "AuditEvent" ADD CONSTRAINT "AuditEvent_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AuditEventTeam" ADD CONSTRAINT "AuditEventTeam_eventId_fkey" FOREIGN KEY ("eventId") REFERENCES "AuditEvent"("id") ON DELETE CASCADE ON UPDATE CASCADE;
