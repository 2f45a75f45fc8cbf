-- Each key has its grants copied on its row, as JSON: [role names, [[team id, team name], ...], team
-- role names] (see "grants" in schema.prisma). The reads of keys take them from there instead of looking
-- up every grant table for every key (docs/database.md). The triggers below keep the copy: whatever
-- writes a grant (the server, the CLI, a script on the database) makes the copy again in its statement.
-- (No semicolons or apostrophes in these comments, and the bodies of the trigger functions are strings
-- with each semicolon written as the escape \073: Prisma splits a script at every semicolon.)
-- The copy is made by a view, which the statements of the trigger functions read: inside a PL/pgSQL
-- function a statement is planned once per connection, where a call of an SQL function from it was
-- planned again on every call (a third of the cost of a creation to PostgreSQL).
ALTER TABLE "ApiKey" ADD COLUMN "grants" TEXT NOT NULL DEFAULT '[[],[],[]]';

-- The copy of the grants of each key, made from the grant tables: what the backfill below and the
-- trigger functions write.
CREATE VIEW "ApiKeyGrants" AS
SELECT k."id" AS "apiKeyId", json_build_array(
    COALESCE((SELECT json_agg(r."roleName") FROM "ApiKeyRole" r WHERE r."apiKeyId" = k."id"), '[]'::json),
    COALESCE((SELECT json_agg(json_build_array(t."teamId", tm."name"))
                FROM "ApiKeyTeam" t JOIN "Team" tm ON tm."id" = t."teamId" WHERE t."apiKeyId" = k."id"), '[]'::json),
    COALESCE((SELECT json_agg(tr."roleName") FROM "ApiKeyTeamRole" tr WHERE tr."apiKeyId" = k."id"), '[]'::json)
  )::text AS "grants"
  FROM "ApiKey" k;

UPDATE "ApiKey" k SET "grants" = (SELECT g."grants" FROM "ApiKeyGrants" g WHERE g."apiKeyId" = k."id");

-- A grant row written, changed or deleted: the copy of its key (of both keys, if it moved) made again.
CREATE FUNCTION "keygate_grants_changed"() RETURNS trigger LANGUAGE plpgsql AS E'
DECLARE
  key_ids TEXT[]\073
BEGIN
  IF TG_OP = ''INSERT'' THEN
    key_ids := ARRAY[NEW."apiKeyId"]\073
  ELSIF TG_OP = ''DELETE'' THEN
    key_ids := ARRAY[OLD."apiKeyId"]\073
  ELSE
    key_ids := ARRAY[OLD."apiKeyId", NEW."apiKeyId"]\073
  END IF\073
  UPDATE "ApiKey" k SET "grants" = (SELECT g."grants" FROM "ApiKeyGrants" g WHERE g."apiKeyId" = k."id")
   WHERE k."id" = ANY(key_ids)\073
  RETURN NULL\073
END
';

CREATE TRIGGER "ApiKeyRole_grants" AFTER INSERT OR UPDATE OR DELETE ON "ApiKeyRole"
  FOR EACH ROW EXECUTE FUNCTION "keygate_grants_changed"();
CREATE TRIGGER "ApiKeyTeam_grants" AFTER INSERT OR UPDATE OR DELETE ON "ApiKeyTeam"
  FOR EACH ROW EXECUTE FUNCTION "keygate_grants_changed"();
CREATE TRIGGER "ApiKeyTeamRole_grants" AFTER INSERT OR UPDATE OR DELETE ON "ApiKeyTeamRole"
  FOR EACH ROW EXECUTE FUNCTION "keygate_grants_changed"();

-- The name of a team is in the copy of every key in it (Keygate never renames a team, a script might).
CREATE FUNCTION "keygate_team_renamed"() RETURNS trigger LANGUAGE plpgsql AS E'
BEGIN
  UPDATE "ApiKey" k SET "grants" = (SELECT g."grants" FROM "ApiKeyGrants" g WHERE g."apiKeyId" = k."id")
   WHERE k."id" IN (SELECT "apiKeyId" FROM "ApiKeyTeam" WHERE "teamId" = NEW."id")\073
  RETURN NULL\073
END
';

CREATE TRIGGER "Team_grants_rename" AFTER UPDATE OF "name" ON "Team"
  FOR EACH ROW EXECUTE FUNCTION "keygate_team_renamed"();
