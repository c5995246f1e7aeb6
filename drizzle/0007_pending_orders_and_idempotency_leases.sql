CREATE TABLE "orders"."pending_counts" (
	"user_id" text PRIMARY KEY NOT NULL,
	"pending" integer NOT NULL,
	CONSTRAINT "pending_counts_not_negative" CHECK ("orders"."pending_counts"."pending" >= 0)
);
--> statement-breakpoint
ALTER TABLE "orders"."idempotency_keys" ADD COLUMN "claim_id" uuid;--> statement-breakpoint
CREATE INDEX "orders_pending_oldest_idx" ON "orders"."orders" USING btree ("created_at") WHERE "orders"."orders"."status" = 'pending';--> statement-breakpoint
-- Written by hand (data, not schema): the pending orders that exist already are counted.
INSERT INTO "orders"."pending_counts" ("user_id", "pending")
SELECT "user_id", count(*) FROM "orders"."orders" WHERE "status" = 'pending' GROUP BY "user_id";
