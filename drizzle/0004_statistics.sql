CREATE SCHEMA "statistics";
--> statement-breakpoint
CREATE TABLE "statistics"."inbox" (
	"event_id" uuid PRIMARY KEY NOT NULL,
	"applied_at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "statistics"."parked_events" (
	"event_id" uuid PRIMARY KEY NOT NULL,
	"subject" text NOT NULL,
	"type" text NOT NULL,
	"reason" text NOT NULL,
	"payload" text NOT NULL,
	"parked_at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "statistics"."store_totals" (
	"id" smallint PRIMARY KEY NOT NULL,
	"total_users" integer DEFAULT 0 NOT NULL,
	"total_products" integer DEFAULT 0 NOT NULL,
	"total_orders" integer DEFAULT 0 NOT NULL,
	"revenue_cents" bigint DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "statistics"."user_order_stats" (
	"user_id" text PRIMARY KEY NOT NULL,
	"total_orders" integer DEFAULT 0 NOT NULL,
	"cancelled_orders" integer DEFAULT 0 NOT NULL,
	"total_spent_cents" bigint DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "statistics"."user_orders_by_hour" (
	"user_id" text NOT NULL,
	"hour" smallint NOT NULL,
	"count" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "user_orders_by_hour_user_id_hour_pk" PRIMARY KEY("user_id","hour")
);
