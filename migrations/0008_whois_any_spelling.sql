CREATE EXTENSION IF NOT EXISTS unaccent;--> statement-breakpoint
CREATE EXTENSION IF NOT EXISTS btree_gin;--> statement-breakpoint
CREATE EXTENSION IF NOT EXISTS fuzzystrmatch;--> statement-breakpoint
-- How /whois compares text: accents and case folded ("Élodie" = "elodie", "ΝΊΚΟΣ" = "νικος"); Greek final
-- sigma as sigma; Arabic alef forms as bare alef, alef maqsura as yeh, teh marbuta as heh, short vowel marks
-- and tatweel dropped (as people type Arabic names). The body is SQL-standard, so the dictionary and the
-- functions are bound when this runs, whatever the search_path later.
CREATE FUNCTION whois_fold(value text) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN translate(lower(unaccent('unaccent'::regdictionary, value)),
  U&'\03C2\0623\0625\0622\0671\0649\0629\064B\064C\064D\064E\064F\0650\0651\0652\0640',
  U&'\03C3\0627\0627\0627\0627\064A\0647');--> statement-breakpoint
-- Folded words separated by single spaces: punctuation ("O'Brien-Núñez", "Vance, Adele") only separates words.
CREATE FUNCTION whois_key(value text) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN btrim(regexp_replace(whois_fold(value), '[^[:alnum:]]+', ' ', 'g'));--> statement-breakpoint
-- Stored so that ranking reads them instead of folding every candidate. Spaces around the words let "a word
-- starts with w" be the pattern '% w%' and "w is a whole word" '% w %', which the trigram indexes answer; in
-- search_role, ' | ' parts the title from the department, so that either is matched whole.
ALTER TABLE "profiles"
  ADD COLUMN "search_display" text COLLATE "C" GENERATED ALWAYS AS (whois_key("display_name")) STORED,
  ADD COLUMN "search_names" text COLLATE "C"
    GENERATED ALWAYS AS (' ' || whois_key("first_name" || ' ' || "last_name" || ' ' || "display_name") || ' ') STORED,
  ADD COLUMN "search_role" text COLLATE "C"
    GENERATED ALWAYS AS (' ' || whois_key(coalesce("job_title", '')) || ' | ' || whois_key(coalesce("department", '')) || ' ') STORED,
  ADD COLUMN "search_doc" text COLLATE "C"
    GENERATED ALWAYS AS (' ' || whois_key("first_name" || ' ' || "last_name" || ' ' || "display_name" || ' '
      || "email" || ' ' || coalesce("job_title", '') || ' ' || coalesce("department", '')) || ' ') STORED,
  ADD COLUMN "search_email" text COLLATE "C" GENERATED ALWAYS AS (lower("email")) STORED,
  ADD COLUMN "search_initials" text COLLATE "C"
    GENERATED ALWAYS AS (whois_fold(left("first_name", 1) || left("last_name", 1))) STORED;--> statement-breakpoint
DROP INDEX IF EXISTS "profiles_display_name_trgm";--> statement-breakpoint
DROP INDEX IF EXISTS "profiles_full_name_trgm";--> statement-breakpoint
DROP INDEX IF EXISTS "profiles_email_trgm";--> statement-breakpoint
DROP INDEX IF EXISTS "profiles_job_title_trgm";--> statement-breakpoint
DROP INDEX IF EXISTS "profiles_department_trgm";--> statement-breakpoint
DROP INDEX IF EXISTS "profiles_initials_idx";--> statement-breakpoint
-- Every search index starts with the source, so that one source's search never reads another's rows, and
-- holds active people only (the only ones a search returns).
CREATE INDEX "profiles_search_display_idx" ON "profiles" USING btree ("source_id", "search_display", "id") WHERE "active";--> statement-breakpoint
CREATE INDEX "profiles_search_email_idx" ON "profiles" USING btree ("source_id", "search_email") WHERE "active";--> statement-breakpoint
-- With the folded name, so that namesakes by initials are ranked by edit distance from the index alone.
CREATE INDEX "profiles_search_initials_idx" ON "profiles" USING btree ("source_id", "search_initials", "search_display") WHERE "active";--> statement-breakpoint
CREATE INDEX "profiles_search_names_trgm" ON "profiles" USING gin ("source_id", "search_names" gin_trgm_ops) WHERE "active";--> statement-breakpoint
CREATE INDEX "profiles_search_role_trgm" ON "profiles" USING gin ("source_id", "search_role" gin_trgm_ops) WHERE "active";--> statement-breakpoint
CREATE INDEX "profiles_search_doc_trgm" ON "profiles" USING gin ("source_id", "search_doc" gin_trgm_ops) WHERE "active";
