-- Rows are deleted once published (the relay, outbox-relay.ts): the ones already published go now.
DELETE FROM "inventory"."outbox" WHERE "published_at" IS NOT NULL;--> statement-breakpoint
DELETE FROM "orders"."outbox" WHERE "published_at" IS NOT NULL;--> statement-breakpoint
DROP INDEX "inventory"."outbox_unpublished_idx";--> statement-breakpoint
DROP INDEX "orders"."outbox_unpublished_idx";--> statement-breakpoint
CREATE INDEX "outbox_seq_idx" ON "inventory"."outbox" USING btree ("seq");--> statement-breakpoint
CREATE INDEX "outbox_seq_idx" ON "orders"."outbox" USING btree ("seq");--> statement-breakpoint
ALTER TABLE "inventory"."outbox" DROP COLUMN "published_at";--> statement-breakpoint
ALTER TABLE "orders"."outbox" DROP COLUMN "published_at";