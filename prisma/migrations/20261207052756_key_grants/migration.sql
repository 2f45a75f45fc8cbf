-- Each key's grants copied on its row, as JSON: [role names, [[team id, team name], ...], team role
-- names] (see "grants" in schema.prisma). The reads of keys take them from there instead of looking up
-- every grant table for every key (docs/database.md). The triggers below keep the copy: whatever writes
-- a grant (the server, the CLI, a script on the database) rewrites the key's copy in the same statement.
ALTER TABLE "ApiKey" ADD COLUMN "grants" TEXT NOT NULL DEFAULT '[[],[],[]]';

-- The copy of each key's grants, made from the grant tables: what the backfill below and every trigger write.
CREATE VIEW "ApiKeyGrants" AS
SELECT k."id" AS "apiKeyId", json_array(
    json((SELECT json_group_array(r."roleName") FROM "ApiKeyRole" r WHERE r."apiKeyId" = k."id")),
    json((SELECT json_group_array(json_array(t."teamId", tm."name"))
            FROM "ApiKeyTeam" t JOIN "Team" tm ON tm."id" = t."teamId" WHERE t."apiKeyId" = k."id")),
    json((SELECT json_group_array(tr."roleName") FROM "ApiKeyTeamRole" tr WHERE tr."apiKeyId" = k."id"))) AS "grants"
  FROM "ApiKey" k;

UPDATE "ApiKey" SET "grants" = (SELECT g."grants" FROM "ApiKeyGrants" g WHERE g."apiKeyId" = "ApiKey"."id");

-- SQLite's triggers are one per table and event; each writes the copy of the key whose grant changed
-- again, from the view.
CREATE TRIGGER "ApiKeyRole_grants_insert" AFTER INSERT ON "ApiKeyRole" BEGIN
  UPDATE "ApiKey" SET "grants" = (SELECT g."grants" FROM "ApiKeyGrants" g WHERE g."apiKeyId" = "ApiKey"."id")
  WHERE "id" = NEW."apiKeyId";
END;

CREATE TRIGGER "ApiKeyRole_grants_delete" AFTER DELETE ON "ApiKeyRole" BEGIN
  UPDATE "ApiKey" SET "grants" = (SELECT g."grants" FROM "ApiKeyGrants" g WHERE g."apiKeyId" = "ApiKey"."id")
  WHERE "id" = OLD."apiKeyId";
END;

CREATE TRIGGER "ApiKeyRole_grants_update" AFTER UPDATE ON "ApiKeyRole" BEGIN
  UPDATE "ApiKey" SET "grants" = (SELECT g."grants" FROM "ApiKeyGrants" g WHERE g."apiKeyId" = "ApiKey"."id")
  WHERE "id" IN (OLD."apiKeyId", NEW."apiKeyId");
END;

CREATE TRIGGER "ApiKeyTeam_grants_insert" AFTER INSERT ON "ApiKeyTeam" BEGIN
  UPDATE "ApiKey" SET "grants" = (SELECT g."grants" FROM "ApiKeyGrants" g WHERE g."apiKeyId" = "ApiKey"."id")
  WHERE "id" = NEW."apiKeyId";
END;

CREATE TRIGGER "ApiKeyTeam_grants_delete" AFTER DELETE ON "ApiKeyTeam" BEGIN
  UPDATE "ApiKey" SET "grants" = (SELECT g."grants" FROM "ApiKeyGrants" g WHERE g."apiKeyId" = "ApiKey"."id")
  WHERE "id" = OLD."apiKeyId";
END;

CREATE TRIGGER "ApiKeyTeam_grants_update" AFTER UPDATE ON "ApiKeyTeam" BEGIN
  UPDATE "ApiKey" SET "grants" = (SELECT g."grants" FROM "ApiKeyGrants" g WHERE g."apiKeyId" = "ApiKey"."id")
  WHERE "id" IN (OLD."apiKeyId", NEW."apiKeyId");
END;

CREATE TRIGGER "ApiKeyTeamRole_grants_insert" AFTER INSERT ON "ApiKeyTeamRole" BEGIN
  UPDATE "ApiKey" SET "grants" = (SELECT g."grants" FROM "ApiKeyGrants" g WHERE g."apiKeyId" = "ApiKey"."id")
  WHERE "id" = NEW."apiKeyId";
END;

CREATE TRIGGER "ApiKeyTeamRole_grants_delete" AFTER DELETE ON "ApiKeyTeamRole" BEGIN
  UPDATE "ApiKey" SET "grants" = (SELECT g."grants" FROM "ApiKeyGrants" g WHERE g."apiKeyId" = "ApiKey"."id")
  WHERE "id" = OLD."apiKeyId";
END;

CREATE TRIGGER "ApiKeyTeamRole_grants_update" AFTER UPDATE ON "ApiKeyTeamRole" BEGIN
  UPDATE "ApiKey" SET "grants" = (SELECT g."grants" FROM "ApiKeyGrants" g WHERE g."apiKeyId" = "ApiKey"."id")
  WHERE "id" IN (OLD."apiKeyId", NEW."apiKeyId");
END;

-- A team's name is in the copy of every key in it (Keygate never renames a team; a script might).
CREATE TRIGGER "Team_grants_rename" AFTER UPDATE OF "name" ON "Team" BEGIN
  UPDATE "ApiKey" SET "grants" = (SELECT g."grants" FROM "ApiKeyGrants" g WHERE g."apiKeyId" = "ApiKey"."id")
  WHERE "id" IN (SELECT "apiKeyId" FROM "ApiKeyTeam" WHERE "teamId" = NEW."id");
END;
