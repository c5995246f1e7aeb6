CREATE TABLE "orders"."stock_commands" (
	"order_id" uuid NOT NULL,
	"action" text NOT NULL,
	"due_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "stock_commands_order_id_action_pk" PRIMARY KEY("order_id","action"),
	CONSTRAINT "stock_commands_action_known" CHECK ("orders"."stock_commands"."action" in ('confirm', 'release'))
);
--> statement-breakpoint
CREATE INDEX "stock_commands_due_idx" ON "orders"."stock_commands" USING btree ("due_at");