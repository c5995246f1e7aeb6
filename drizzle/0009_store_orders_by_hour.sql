CREATE TABLE "statistics"."store_orders_by_hour" (
	"hour" smallint PRIMARY KEY NOT NULL,
	"count" integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
-- The orders already counted per user, summed per hour: the store's hours as if the table had
-- always existed (written by hand; drizzle-kit generates only the table).
INSERT INTO "statistics"."store_orders_by_hour" ("hour", "count")
SELECT "hour", sum("count")::integer FROM "statistics"."user_orders_by_hour" GROUP BY "hour";
