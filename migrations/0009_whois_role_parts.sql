-- An exact title or department ("software engineer", "engineering") is a tier of its own in /whois. Read
-- through the trigram index of search_role it meant rechecking everyone whose title or department holds the
-- words (22,000 of 100,000 people for "manager"); these btrees hold each part in name order, so the first
-- people of the tier are the first entries read. search_role is ' title | department ' (whois_key leaves no
-- '|' in either part).
CREATE INDEX "profiles_search_title_idx" ON "profiles" USING btree ("source_id", (btrim(split_part("search_role", '|', 1))), "search_display", "id") WHERE "active";--> statement-breakpoint
CREATE INDEX "profiles_search_department_idx" ON "profiles" USING btree ("source_id", (btrim(split_part("search_role", '|', 2))), "search_display", "id") WHERE "active";--> statement-breakpoint
-- A Slack mention is matched to a profile by address through profiles_search_email_idx (search_email is
-- lower(email)), within the source like every search: the unscoped index of 0000 goes, so that writes pay
-- for one index more, not two.
DROP INDEX IF EXISTS "profiles_email_lower_idx";
