CREATE TABLE "conflict_alerts" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "conflict_alerts_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"kind" text NOT NULL,
	"severity" text NOT NULL,
	"key" text NOT NULL,
	"sector" text,
	"municipality" text,
	"incident_id" bigint,
	"text" text NOT NULL,
	"details" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"acknowledged_by" text,
	"acknowledged_at" timestamp with time zone,
	CONSTRAINT "conflict_alerts_kind_ck" CHECK ("conflict_alerts"."kind" in ('spike', 'toxic_thread', 'repeat_author', 'rude_reply', 'late_reply'))
);
--> statement-breakpoint
ALTER TABLE "conflict_alerts" ADD CONSTRAINT "conflict_alerts_incident_id_incidents_id_fk" FOREIGN KEY ("incident_id") REFERENCES "public"."incidents"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "conflict_alerts_key_idx" ON "conflict_alerts" USING btree ("key","created_at");--> statement-breakpoint
CREATE INDEX "conflict_alerts_created_idx" ON "conflict_alerts" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "conflict_alerts_open_idx" ON "conflict_alerts" USING btree ("created_at") WHERE "conflict_alerts"."acknowledged_at" is null;
