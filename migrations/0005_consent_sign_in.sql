ALTER TABLE "oauth_requests" ADD COLUMN "consent_tenant_id" text;
