ALTER TABLE "discussions" ADD COLUMN "published_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "discussions" ADD COLUMN "closed_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "polls" ADD COLUMN "closed_at" timestamp with time zone;--> statement-breakpoint
CREATE TABLE "discussion_messages" (
	"message_id" bigint PRIMARY KEY NOT NULL REFERENCES "messages"("id"),
	"discussion_id" bigint NOT NULL REFERENCES "discussions"("id"),
	"routed" boolean DEFAULT false NOT NULL,
	"linked_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "discussion_messages_discussion_idx" ON "discussion_messages" USING btree ("discussion_id","message_id");
