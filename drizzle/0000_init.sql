CREATE SCHEMA "inventory";
--> statement-breakpoint
CREATE TABLE "inventory"."outbox" (
	"seq" bigint GENERATED ALWAYS AS IDENTITY (sequence name "inventory"."outbox_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"id" uuid PRIMARY KEY NOT NULL,
	"type" text NOT NULL,
	"subject" text NOT NULL,
	"payload" "bytea" NOT NULL,
	"occurred_at" timestamp with time zone DEFAULT now() NOT NULL,
	"published_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "inventory"."products" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"category" text DEFAULT '' NOT NULL,
	"price_cents" bigint NOT NULL,
	"stock" integer NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	"updated_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "products_stock_not_negative" CHECK ("inventory"."products"."stock" >= 0),
	CONSTRAINT "products_price_not_negative" CHECK ("inventory"."products"."price_cents" >= 0)
);
--> statement-breakpoint
CREATE INDEX "outbox_unpublished_idx" ON "inventory"."outbox" USING btree ("seq") WHERE "inventory"."outbox"."published_at" is null;--> statement-breakpoint
CREATE INDEX "products_category_id_idx" ON "inventory"."products" USING btree ("category","id");--> statement-breakpoint
CREATE INDEX "products_price_id_idx" ON "inventory"."products" USING btree ("price_cents","id");