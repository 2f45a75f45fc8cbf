-- AlterTable
ALTER TABLE "ApiKey" DROP COLUMN "version";
