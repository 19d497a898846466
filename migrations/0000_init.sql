CREATE EXTENSION IF NOT EXISTS pg_trgm;--> statement-breakpoint
CREATE TABLE "oauth_requests" (
	"id" text PRIMARY KEY NOT NULL,
	"source_id" uuid NOT NULL,
	"slack_user_id" text NOT NULL,
	"slack_team_id" text NOT NULL,
	"view_id" text,
	"auth_mode" text NOT NULL,
	"state" text NOT NULL,
	"pkce_verifier" text NOT NULL,
	"nonce" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"opened_at" timestamp with time zone,
	"consumed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "profile_photos" (
	"profile_id" bigint PRIMARY KEY NOT NULL,
	"content_type" text NOT NULL,
	"bytes" "bytea" NOT NULL,
	"etag" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "profiles" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"source_id" uuid NOT NULL,
	"external_id" text NOT NULL,
	"graph_id" text NOT NULL,
	"first_name" text NOT NULL,
	"last_name" text NOT NULL,
	"display_name" text NOT NULL,
	"email" text NOT NULL,
	"job_title" text,
	"department" text,
	"office" text,
	"business_phone" text,
	"mobile_phone" text,
	"employee_id" text,
	"manager_external_id" text,
	"extra" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"content_hash" text NOT NULL,
	"photo_etag" text,
	"slack_user_id" text,
	"slack_checked_at" timestamp with time zone,
	"active" boolean DEFAULT true NOT NULL,
	"first_synced_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_synced_at" timestamp with time zone DEFAULT now() NOT NULL,
	"removed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "source_groups" (
	"source_id" uuid NOT NULL,
	"group_id" text NOT NULL,
	"display_name" text NOT NULL,
	CONSTRAINT "source_groups_source_id_group_id_pk" PRIMARY KEY("source_id","group_id")
);
--> statement-breakpoint
CREATE TABLE "sources" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"slack_team_id" text NOT NULL,
	"tenant_id" text,
	"auth_mode" text DEFAULT 'delegated' NOT NULL,
	"authorized_by_upn" text,
	"authorized_by_slack_user" text,
	"authorized_at" timestamp with time zone,
	"home_account_id" text,
	"token_cache" text,
	"status" text DEFAULT 'setup' NOT NULL,
	"sync_enabled" boolean DEFAULT false NOT NULL,
	"photo_sync" boolean DEFAULT false NOT NULL,
	"admin_channel" text,
	"mapping" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"deletion_threshold" real DEFAULT 0.1 NOT NULL,
	"users_delta_link" text,
	"delta_scope" text,
	"last_full_sync_at" timestamp with time zone,
	"last_success_at" timestamp with time zone,
	"alert_channel" text,
	"alert_ts" text,
	"alert_code" text,
	"alert_count" integer DEFAULT 0 NOT NULL,
	"alert_last_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sources_status_check" CHECK (status in ('setup', 'active', 'disabled', 'needs_reauth', 'failing', 'held')),
	CONSTRAINT "sources_auth_mode_check" CHECK (auth_mode in ('delegated', 'application')),
	CONSTRAINT "sources_deletion_threshold_check" CHECK (deletion_threshold > 0 and deletion_threshold <= 1)
);
--> statement-breakpoint
CREATE TABLE "sync_runs" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"source_id" uuid NOT NULL,
	"trigger" text NOT NULL,
	"requested_by" text,
	"mode" text NOT NULL,
	"status" text DEFAULT 'running' NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	"heartbeat_at" timestamp with time zone DEFAULT now() NOT NULL,
	"read_count" integer DEFAULT 0 NOT NULL,
	"created_count" integer DEFAULT 0 NOT NULL,
	"updated_count" integer DEFAULT 0 NOT NULL,
	"unchanged_count" integer DEFAULT 0 NOT NULL,
	"removed_count" integer DEFAULT 0 NOT NULL,
	"ignored_count" integer DEFAULT 0 NOT NULL,
	"photos_count" integer DEFAULT 0 NOT NULL,
	"ignored_examples" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"details" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"error_code" text,
	"error_message" text,
	CONSTRAINT "sync_runs_trigger_check" CHECK (trigger in ('schedule', 'manual', 'setup', 'cli')),
	CONSTRAINT "sync_runs_mode_check" CHECK (mode in ('full', 'delta', 'preview')),
	CONSTRAINT "sync_runs_status_check" CHECK (status in ('running', 'succeeded', 'failed', 'held'))
);
--> statement-breakpoint
ALTER TABLE "oauth_requests" ADD CONSTRAINT "oauth_requests_source_id_sources_id_fk" FOREIGN KEY ("source_id") REFERENCES "public"."sources"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "profile_photos" ADD CONSTRAINT "profile_photos_profile_id_profiles_id_fk" FOREIGN KEY ("profile_id") REFERENCES "public"."profiles"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "profiles" ADD CONSTRAINT "profiles_source_id_sources_id_fk" FOREIGN KEY ("source_id") REFERENCES "public"."sources"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "source_groups" ADD CONSTRAINT "source_groups_source_id_sources_id_fk" FOREIGN KEY ("source_id") REFERENCES "public"."sources"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sync_runs" ADD CONSTRAINT "sync_runs_source_id_sources_id_fk" FOREIGN KEY ("source_id") REFERENCES "public"."sources"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "oauth_requests_state_uq" ON "oauth_requests" USING btree ("state");--> statement-breakpoint
CREATE INDEX "oauth_requests_source_idx" ON "oauth_requests" USING btree ("source_id");--> statement-breakpoint
CREATE UNIQUE INDEX "profiles_source_external_uq" ON "profiles" USING btree ("source_id","external_id");--> statement-breakpoint
CREATE INDEX "profiles_source_graph_idx" ON "profiles" USING btree ("source_id","graph_id");--> statement-breakpoint
CREATE INDEX "profiles_email_lower_idx" ON "profiles" USING btree (lower("email"));--> statement-breakpoint
CREATE INDEX "profiles_display_name_trgm" ON "profiles" USING gin (lower("display_name") gin_trgm_ops);--> statement-breakpoint
CREATE INDEX "profiles_full_name_trgm" ON "profiles" USING gin (lower("first_name" || ' ' || "last_name") gin_trgm_ops);--> statement-breakpoint
CREATE INDEX "profiles_email_trgm" ON "profiles" USING gin (lower("email") gin_trgm_ops);--> statement-breakpoint
CREATE INDEX "profiles_job_title_trgm" ON "profiles" USING gin (lower(coalesce("job_title", '')) gin_trgm_ops);--> statement-breakpoint
CREATE INDEX "profiles_slack_user_idx" ON "profiles" USING btree ("slack_user_id");--> statement-breakpoint
CREATE INDEX "sources_team_idx" ON "sources" USING btree ("slack_team_id");--> statement-breakpoint
CREATE UNIQUE INDEX "sync_runs_one_running_per_source" ON "sync_runs" USING btree ("source_id") WHERE status = 'running';--> statement-breakpoint
CREATE INDEX "sync_runs_source_started_idx" ON "sync_runs" USING btree ("source_id","started_at");