ALTER TABLE "sync_runs" DROP CONSTRAINT "sync_runs_trigger_check";--> statement-breakpoint
ALTER TABLE "sync_runs" ADD CONSTRAINT "sync_runs_trigger_check" CHECK (trigger in ('schedule', 'manual', 'setup', 'cli', 'notification'));--> statement-breakpoint
CREATE TABLE "graph_subscriptions" (
	"source_id" uuid NOT NULL,
	"resource" text NOT NULL,
	"subscription_id" text,
	"client_state" text,
	"expires_at" timestamp with time zone,
	"status" text DEFAULT 'pending' NOT NULL,
	"problem" text,
	"last_attempt_at" timestamp with time zone,
	"last_notified_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "graph_subscriptions_source_id_resource_pk" PRIMARY KEY("source_id","resource"),
	CONSTRAINT "graph_subscriptions_resource_check" CHECK (resource in ('users', 'groups')),
	CONSTRAINT "graph_subscriptions_status_check" CHECK (status in ('pending', 'active', 'unreachable', 'forbidden', 'failing'))
);
--> statement-breakpoint
ALTER TABLE "graph_subscriptions" ADD CONSTRAINT "graph_subscriptions_source_id_sources_id_fk" FOREIGN KEY ("source_id") REFERENCES "public"."sources"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "graph_subscriptions_subscription_uq" ON "graph_subscriptions" USING btree ("subscription_id");
