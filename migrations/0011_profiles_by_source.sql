-- profiles becomes LIST-partitioned by source (issue 14): a source's first import is built as a table of its
-- own, indexed once it is full, and attached in the run's final transaction (ALTER TABLE … ATTACH PARTITION
-- takes SHARE UPDATE EXCLUSIVE on profiles, so other sources' /whois and syncs go on); a search of one source
-- reads that source's partition only. Rows of a source without a partition (none in production: its first
-- import creates one) go to profiles_default. A unique key of a partitioned table must hold the partition
-- key: the primary key is (id, source_id); ids still come from the one global sequence, so id alone stays
-- unique and is what every reader joins on. profile_photos names its profile by (profile_id, source_id).
ALTER TABLE "profile_photos" DROP CONSTRAINT "profile_photos_profile_id_profiles_id_fk";--> statement-breakpoint
ALTER TABLE "profile_photos" ADD COLUMN "source_id" uuid;--> statement-breakpoint
UPDATE "profile_photos" ph SET "source_id" = p."source_id" FROM "profiles" p WHERE p."id" = ph."profile_id";--> statement-breakpoint
DELETE FROM "profile_photos" WHERE "source_id" IS NULL;--> statement-breakpoint
ALTER TABLE "profile_photos" ALTER COLUMN "source_id" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "profiles" RENAME TO "profiles_unpartitioned";--> statement-breakpoint
ALTER SEQUENCE "profiles_id_seq" OWNED BY NONE;--> statement-breakpoint
CREATE TABLE "profiles" (LIKE "profiles_unpartitioned" INCLUDING DEFAULTS INCLUDING GENERATED) PARTITION BY LIST ("source_id");--> statement-breakpoint
CREATE TABLE "profiles_default" PARTITION OF "profiles" DEFAULT;--> statement-breakpoint
-- Each source that has profiles gets its partition (named as the app names them: profiles_ + the id's hex).
DO $$
DECLARE s uuid;
BEGIN
  FOR s IN SELECT DISTINCT "source_id" FROM "profiles_unpartitioned" LOOP
    EXECUTE format('CREATE TABLE %I PARTITION OF "profiles" FOR VALUES IN (%L)', 'profiles_' || replace(s::text, '-', ''), s);
  END LOOP;
END $$;--> statement-breakpoint
INSERT INTO "profiles" ("id", "source_id", "external_id", "graph_id", "first_name", "last_name", "display_name", "email",
  "job_title", "department", "office", "business_phone", "mobile_phone", "employee_id", "manager_external_id", "extra",
  "content_hash", "photo_etag", "slack_user_id", "slack_checked_at", "active", "first_synced_at", "last_synced_at",
  "removed_at")
SELECT "id", "source_id", "external_id", "graph_id", "first_name", "last_name", "display_name", "email",
  "job_title", "department", "office", "business_phone", "mobile_phone", "employee_id", "manager_external_id", "extra",
  "content_hash", "photo_etag", "slack_user_id", "slack_checked_at", "active", "first_synced_at", "last_synced_at",
  "removed_at"
FROM "profiles_unpartitioned";--> statement-breakpoint
DROP TABLE "profiles_unpartitioned";--> statement-breakpoint
ALTER SEQUENCE "profiles_id_seq" OWNED BY "profiles"."id";--> statement-breakpoint
ALTER TABLE "profiles" ADD CONSTRAINT "profiles_pkey" PRIMARY KEY ("id", "source_id");--> statement-breakpoint
ALTER TABLE "profiles" ADD CONSTRAINT "profiles_source_id_sources_id_fk" FOREIGN KEY ("source_id") REFERENCES "public"."sources"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "profiles_source_external_uq" ON "profiles" USING btree ("source_id", "external_id");--> statement-breakpoint
CREATE INDEX "profiles_source_graph_idx" ON "profiles" USING btree ("source_id", "graph_id");--> statement-breakpoint
CREATE INDEX "profiles_slack_user_idx" ON "profiles" USING btree ("slack_user_id");--> statement-breakpoint
CREATE INDEX "profiles_manager_idx" ON "profiles" USING btree ("source_id", "manager_external_id");--> statement-breakpoint
CREATE INDEX "profiles_search_display_idx" ON "profiles" USING btree ("source_id", "search_display", "id") WHERE "active";--> statement-breakpoint
CREATE INDEX "profiles_search_email_idx" ON "profiles" USING btree ("source_id", "search_email") WHERE "active";--> statement-breakpoint
CREATE INDEX "profiles_search_initials_idx" ON "profiles" USING btree ("source_id", "search_initials", "search_display") WHERE "active";--> statement-breakpoint
CREATE INDEX "profiles_search_names_trgm" ON "profiles" USING gin ("source_id", "search_names" gin_trgm_ops) WHERE "active";--> statement-breakpoint
CREATE INDEX "profiles_search_role_trgm" ON "profiles" USING gin ("source_id", "search_role" gin_trgm_ops) WHERE "active";--> statement-breakpoint
CREATE INDEX "profiles_search_doc_trgm" ON "profiles" USING gin ("source_id", "search_doc" gin_trgm_ops) WHERE "active";--> statement-breakpoint
CREATE INDEX "profiles_search_title_idx" ON "profiles" USING btree ("source_id", (btrim(split_part("search_role", '|', 1))), "search_display", "id") WHERE "active";--> statement-breakpoint
CREATE INDEX "profiles_search_department_idx" ON "profiles" USING btree ("source_id", (btrim(split_part("search_role", '|', 2))), "search_display", "id") WHERE "active";--> statement-breakpoint
-- A partition's index is named after the profiles index it belongs to plus _p and the partition's oid (as the
-- app names the indexes of the partitions it builds), so plans name the index they read.
DO $$
DECLARE r record;
BEGIN
  FOR r IN
    SELECT ci.relname AS child, pi.relname AS parent, x.indrelid::int AS part
    FROM pg_inherits i
    JOIN pg_class pi ON pi.oid = i.inhparent
    JOIN pg_class ci ON ci.oid = i.inhrelid
    JOIN pg_index x ON x.indexrelid = i.inhrelid
    WHERE x.indrelid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'profiles'::regclass)
  LOOP
    EXECUTE format('ALTER INDEX %I RENAME TO %I', r.child, r.parent || '_p' || r.part);
  END LOOP;
END $$;--> statement-breakpoint
ALTER TABLE "profile_photos" ADD CONSTRAINT "profile_photos_profile_fk" FOREIGN KEY ("profile_id", "source_id") REFERENCES "public"."profiles"("id", "source_id") ON DELETE cascade ON UPDATE no action;
