-- An approved reply is marked `sent` first (so a concurrent rejection or second approval loses), then its
-- messages to citizens are queued. `delivered_at` says the second step finished: a process that died between
-- the two leaves it null, and the sweeper completes the delivery (the outbox keys make a repeat harmless).
ALTER TABLE "reply_drafts" ADD COLUMN "delivered_at" timestamp with time zone;--> statement-breakpoint
UPDATE "reply_drafts" SET "delivered_at" = coalesce("sent_at", now()) WHERE "status" = 'sent';--> statement-breakpoint
CREATE INDEX "reply_drafts_undelivered_idx" ON "reply_drafts" USING btree ("sent_at") WHERE "status" = 'sent' AND "delivered_at" IS NULL;
