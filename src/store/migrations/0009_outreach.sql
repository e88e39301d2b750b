ALTER TABLE "authors" ADD COLUMN "subscription_source" text;--> statement-breakpoint
ALTER TABLE "authors" ADD COLUMN "subscription_chat" text;--> statement-breakpoint
ALTER TABLE "authors" ADD COLUMN "language" text DEFAULT 'ru' NOT NULL;--> statement-breakpoint
ALTER TABLE "authors" ADD COLUMN "subscribed_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "authors" ADD COLUMN "unsubscribed_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "authors" ADD COLUMN "blocked_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "authors_subscribed_idx" ON "authors" USING btree ("subscription_source") WHERE "subscribed" AND NOT "blocked";--> statement-breakpoint
CREATE TABLE "segments" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
	"name" text NOT NULL,
	"rules" jsonb NOT NULL,
	"created_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "campaigns" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
	"title" text NOT NULL,
	"text" text NOT NULL,
	"photo_url" text,
	"buttons" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"segment_id" bigint NOT NULL REFERENCES "segments"("id"),
	"channel" text NOT NULL,
	"scheduled_at" timestamp with time zone,
	"status" text DEFAULT 'draft' NOT NULL,
	"created_by" text,
	"approved_by" text,
	"approved_at" timestamp with time zone,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "campaigns_status_idx" ON "campaigns" USING btree ("status","scheduled_at");--> statement-breakpoint
CREATE TABLE "campaign_deliveries" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
	"campaign_id" bigint NOT NULL REFERENCES "campaigns"("id"),
	"author_id" bigint NOT NULL REFERENCES "authors"("id"),
	"source_id" text NOT NULL,
	"chat_id" text NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"external_id" text,
	"error" text,
	"click_token" text NOT NULL,
	"sent_at" timestamp with time zone,
	"clicked_at" timestamp with time zone,
	"clicks" integer DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "campaign_deliveries_uq" ON "campaign_deliveries" USING btree ("campaign_id","author_id");--> statement-breakpoint
CREATE UNIQUE INDEX "campaign_deliveries_click_uq" ON "campaign_deliveries" USING btree ("click_token");--> statement-breakpoint
CREATE INDEX "campaign_deliveries_pending_idx" ON "campaign_deliveries" USING btree ("campaign_id","id") WHERE "status" IN ('pending', 'sending');--> statement-breakpoint
CREATE TABLE "polls" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
	"question" text NOT NULL,
	"options" jsonb NOT NULL,
	"segment_id" bigint REFERENCES "segments"("id"),
	"channel" text NOT NULL,
	"mode" text DEFAULT 'buttons' NOT NULL,
	"status" text DEFAULT 'draft' NOT NULL,
	"closes_at" timestamp with time zone NOT NULL,
	"created_by" text,
	"approved_by" text,
	"approved_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "poll_messages" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
	"poll_id" bigint NOT NULL REFERENCES "polls"("id"),
	"author_id" bigint REFERENCES "authors"("id"),
	"source_id" text NOT NULL,
	"chat_id" text NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"external_id" text,
	"platform_poll_id" text,
	"error" text,
	"sent_at" timestamp with time zone
);
--> statement-breakpoint
CREATE UNIQUE INDEX "poll_messages_uq" ON "poll_messages" USING btree ("poll_id","source_id","chat_id");--> statement-breakpoint
CREATE INDEX "poll_messages_platform_idx" ON "poll_messages" USING btree ("platform_poll_id");--> statement-breakpoint
CREATE TABLE "poll_votes" (
	"poll_id" bigint NOT NULL REFERENCES "polls"("id"),
	"author_id" bigint NOT NULL REFERENCES "authors"("id"),
	"option" integer NOT NULL,
	"municipality" text,
	"voted_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "poll_votes_pk" PRIMARY KEY ("poll_id","author_id")
);
--> statement-breakpoint
CREATE TABLE "discussions" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
	"title" text NOT NULL,
	"text" text NOT NULL,
	"source_id" text NOT NULL,
	"chat_id" text NOT NULL,
	"post_external_id" text,
	"status" text DEFAULT 'draft' NOT NULL,
	"closes_at" timestamp with time zone,
	"created_by" text,
	"approved_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
