-- Personal data (152-ФЗ): an author anonymised by the retention job or erased on request keeps its row (the
-- analytics count distinct authors and keep satisfaction scores and poll votes), with the moment and the reason.
ALTER TABLE "authors" ADD COLUMN "anonymized_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "authors" ADD COLUMN "anonymized_reason" text;--> statement-breakpoint
-- The retention job walks messages to citizens by age.
CREATE INDEX "outbound_created_idx" ON "outbound_messages" USING btree ("created_at");
