ALTER TABLE "inventory"."outbox" ADD COLUMN "trace_context" text;--> statement-breakpoint
ALTER TABLE "orders"."outbox" ADD COLUMN "trace_context" text;