-- Team names are unique within their organization regardless of case. Written by hand, as the Prisma
-- schema language has no index on an expression. Names that already clash in one organization stay with
-- its oldest team, and every other one gets its id appended, so that each can still be named.
-- (No semicolons or apostrophes in these comments: Prisma splits a script without reading comments.)
UPDATE "Team" SET "name" = "name" || ' (' || "id" || ')'
 WHERE EXISTS (SELECT 1 FROM "Team" AS "older"
                WHERE "older"."organizationId" = "Team"."organizationId"
                  AND lower("older"."name") = lower("Team"."name") AND "older"."id" < "Team"."id");

CREATE UNIQUE INDEX "Team_organizationId_lower_name_key" ON "Team"("organizationId", lower("name"));
