CREATE TABLE "inventory"."discount_products" (
	"discount_id" uuid NOT NULL,
	"product_id" uuid NOT NULL,
	CONSTRAINT "discount_products_discount_id_product_id_pk" PRIMARY KEY("discount_id","product_id")
);
--> statement-breakpoint
CREATE TABLE "inventory"."discounts" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"percent_off" integer NOT NULL,
	"starts_at" timestamp (3) with time zone NOT NULL,
	"ends_at" timestamp (3) with time zone NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "discounts_percent_off_range" CHECK ("inventory"."discounts"."percent_off" between 1 and 100),
	CONSTRAINT "discounts_window_order" CHECK ("inventory"."discounts"."ends_at" > "inventory"."discounts"."starts_at")
);
--> statement-breakpoint
CREATE TABLE "inventory"."reservation_lines" (
	"order_id" text NOT NULL,
	"product_id" uuid NOT NULL,
	"product_name" text NOT NULL,
	"quantity" integer NOT NULL,
	"unit_price_cents" bigint NOT NULL,
	"unit_discount_cents" bigint NOT NULL,
	CONSTRAINT "reservation_lines_order_id_product_id_pk" PRIMARY KEY("order_id","product_id")
);
--> statement-breakpoint
CREATE TABLE "inventory"."reservations" (
	"order_id" text PRIMARY KEY NOT NULL,
	"status" text NOT NULL,
	"expires_at" timestamp (3) with time zone NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	"updated_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "reservations_status_known" CHECK ("inventory"."reservations"."status" in ('reserved', 'confirmed', 'released'))
);
--> statement-breakpoint
ALTER TABLE "inventory"."discount_products" ADD CONSTRAINT "discount_products_discount_id_discounts_id_fk" FOREIGN KEY ("discount_id") REFERENCES "inventory"."discounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inventory"."discount_products" ADD CONSTRAINT "discount_products_product_id_products_id_fk" FOREIGN KEY ("product_id") REFERENCES "inventory"."products"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inventory"."reservation_lines" ADD CONSTRAINT "reservation_lines_order_id_reservations_order_id_fk" FOREIGN KEY ("order_id") REFERENCES "inventory"."reservations"("order_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "discount_products_product_idx" ON "inventory"."discount_products" USING btree ("product_id");--> statement-breakpoint
CREATE INDEX "discounts_window_idx" ON "inventory"."discounts" USING btree ("starts_at","ends_at");--> statement-breakpoint
CREATE INDEX "reservations_expiring_idx" ON "inventory"."reservations" USING btree ("expires_at") WHERE "inventory"."reservations"."status" = 'reserved';