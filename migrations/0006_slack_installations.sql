CREATE TABLE "slack_installations" (
	"id" text PRIMARY KEY NOT NULL,
	"team_id" text,
	"enterprise_id" text,
	"is_enterprise_install" boolean DEFAULT false NOT NULL,
	"app_id" text,
	"bot_id" text NOT NULL,
	"bot_user_id" text NOT NULL,
	"bot_scopes" text DEFAULT '' NOT NULL,
	"bot_token" text NOT NULL,
	"bot_refresh_token" text,
	"bot_expires_at" timestamp with time zone,
	"installed_by" text,
	"installed_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "slack_installations_key_check" CHECK ((is_enterprise_install and id = enterprise_id) or (not is_enterprise_install and id = team_id))
);
--> statement-breakpoint
CREATE INDEX "slack_installations_enterprise_idx" ON "slack_installations" USING btree ("enterprise_id");
