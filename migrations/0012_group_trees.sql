-- Group-scoped sources: where /groups/delta goes on for the chosen groups and the groups nested in them
-- (group_trees), and the direct members it last reported (group_tree_members), so that a run learns who joined
-- or left without listing every group's members. Owned by src/db/group-trees.ts.
CREATE TABLE "group_trees" (
	"source_id" uuid PRIMARY KEY NOT NULL,
	"chosen" text NOT NULL,
	"tracked" text[] NOT NULL,
	"delta_link" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "group_tree_members" (
	"source_id" uuid NOT NULL,
	"group_id" text NOT NULL,
	"member_id" text NOT NULL,
	"member_is_group" boolean NOT NULL,
	CONSTRAINT "group_tree_members_source_id_group_id_member_id_pk" PRIMARY KEY("source_id","group_id","member_id")
);
--> statement-breakpoint
ALTER TABLE "group_trees" ADD CONSTRAINT "group_trees_source_id_sources_id_fk" FOREIGN KEY ("source_id") REFERENCES "public"."sources"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "group_tree_members" ADD CONSTRAINT "group_tree_members_source_id_sources_id_fk" FOREIGN KEY ("source_id") REFERENCES "public"."sources"("id") ON DELETE cascade ON UPDATE no action;
