-- What /whois shows Slack guests (multi- and single-channel): nothing by default, a reduced card, or the full card.
ALTER TABLE "sources" ADD COLUMN "guest_whois" text DEFAULT 'none' NOT NULL;--> statement-breakpoint
ALTER TABLE "sources" ADD CONSTRAINT "sources_guest_whois_check" CHECK ("sources"."guest_whois" in ('none', 'reduced', 'full'));
