-- Organization names are unique regardless of case. Written by hand, as the Prisma schema language has
-- no index on an expression. Names that already clash stay with the oldest organization, and every
-- other one gets its id appended, so that each can still be named and listed with keygate org list.
-- (No semicolons or apostrophes in these comments: Prisma splits a script without reading comments.)
UPDATE "Organization" SET "name" = "name" || ' (' || "id" || ')'
 WHERE EXISTS (SELECT 1 FROM "Organization" AS "older"
                WHERE lower("older"."name") = lower("Organization"."name") AND "older"."id" < "Organization"."id");

CREATE UNIQUE INDEX "Organization_lower_name_key" ON "Organization"(lower("name"));
