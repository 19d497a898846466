CREATE INDEX "profiles_department_trgm" ON "profiles" USING gin (lower(coalesce("department", '')) gin_trgm_ops);--> statement-breakpoint
CREATE INDEX "profiles_initials_idx" ON "profiles" USING btree (lower(left("first_name", 1) || left("last_name", 1)));--> statement-breakpoint
CREATE INDEX "profiles_manager_idx" ON "profiles" USING btree ("source_id","manager_external_id");