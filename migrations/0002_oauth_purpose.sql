ALTER TABLE "oauth_requests" ALTER COLUMN "pkce_verifier" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "oauth_requests" ALTER COLUMN "nonce" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "oauth_requests" ADD COLUMN "purpose" text DEFAULT 'setup' NOT NULL;--> statement-breakpoint
ALTER TABLE "oauth_requests" ADD CONSTRAINT "oauth_requests_purpose_check" CHECK (purpose in ('setup', 'reauthorize'));