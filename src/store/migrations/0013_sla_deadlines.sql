-- Each deadline breaches (and escalates) once on its own: the first response and the resolution have
-- their own marks instead of the single `breached_at` (kept: the first breach of either, for history).
-- A reopened incident gets a fresh resolution deadline counted from the reopening (`resolution_started_at`,
-- null while the clock runs from the first message).
ALTER TABLE "incidents" ADD COLUMN "first_response_breached_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "incidents" ADD COLUMN "resolution_breached_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "incidents" ADD COLUMN "resolution_started_at" timestamp with time zone;--> statement-breakpoint
UPDATE "incidents" i SET "first_response_breached_at" = i."breached_at"
WHERE i."breached_at" IS NOT NULL AND EXISTS (
  SELECT 1 FROM "incident_events" e
  WHERE e."incident_id" = i."id" AND e."type" = 'sla_breached' AND e."data"->>'which' = 'first_response'
);--> statement-breakpoint
UPDATE "incidents" i SET "resolution_breached_at" = i."breached_at"
WHERE i."breached_at" IS NOT NULL AND (
  EXISTS (
    SELECT 1 FROM "incident_events" e
    WHERE e."incident_id" = i."id" AND e."type" = 'sla_breached' AND e."data"->>'which' = 'resolution'
  )
  OR (i."first_response_breached_at" IS NULL AND i."resolution_due" <= i."breached_at")
);--> statement-breakpoint
UPDATE "incidents" SET "first_response_breached_at" = "breached_at"
WHERE "breached_at" IS NOT NULL AND "first_response_breached_at" IS NULL AND "resolution_breached_at" IS NULL;
--> statement-breakpoint
-- The old single mark escalated once: an incident escalated for its first response whose resolution is
-- already past is taken as escalated for both, so the first pass after the upgrade sends no burst of old news.
UPDATE "incidents" SET "resolution_breached_at" = "breached_at"
WHERE "breached_at" IS NOT NULL AND "resolution_breached_at" IS NULL AND "resolution_due" <= now();
