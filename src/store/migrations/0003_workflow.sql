CREATE TABLE "reply_templates" (
	"id" text PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"sector" text,
	"text" text NOT NULL,
	"active" boolean DEFAULT true NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "satisfaction" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "satisfaction_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"incident_id" bigint NOT NULL,
	"author_id" bigint NOT NULL,
	"score" integer NOT NULL,
	"unresolved" boolean DEFAULT false NOT NULL,
	"comment" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "satisfaction_score_ck" CHECK ("satisfaction"."score" between 1 and 5)
);
--> statement-breakpoint
CREATE TABLE "staff_tokens" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "staff_tokens_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"user_id" bigint NOT NULL,
	"token_hash" text NOT NULL,
	"name" text NOT NULL,
	"revoked" boolean DEFAULT false NOT NULL,
	"last_used_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "staff_tokens_token_hash_unique" UNIQUE("token_hash")
);
--> statement-breakpoint
DROP INDEX "reply_drafts_incident_kind_uq";--> statement-breakpoint
ALTER TABLE "incidents" ADD COLUMN "paused_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "incidents" ADD COLUMN "pauses" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "incidents" ADD COLUMN "sensitive" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "incidents" ADD COLUMN "result" text;--> statement-breakpoint
ALTER TABLE "outbound_messages" ADD COLUMN "edit_external_id" text;--> statement-breakpoint
ALTER TABLE "reply_drafts" ADD COLUMN "key" text;--> statement-breakpoint
UPDATE "reply_drafts" SET "key" = "incident_id" || ':' || "kind" WHERE "key" IS NULL;--> statement-breakpoint
ALTER TABLE "reply_drafts" ADD COLUMN "original_text" text;--> statement-breakpoint
ALTER TABLE "reply_drafts" ADD COLUMN "template_id" text;--> statement-breakpoint
ALTER TABLE "reply_drafts" ADD COLUMN "suggestions" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "reply_drafts" ADD COLUMN "requires_second_approval" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "reply_drafts" ADD COLUMN "approvals" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "reply_drafts" ADD COLUMN "rejected_reason" text;--> statement-breakpoint
ALTER TABLE "reply_drafts" ADD COLUMN "decided_by" text;--> statement-breakpoint
ALTER TABLE "reply_drafts" ADD COLUMN "decided_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "reply_drafts" ADD COLUMN "sent_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "satisfaction" ADD CONSTRAINT "satisfaction_incident_id_incidents_id_fk" FOREIGN KEY ("incident_id") REFERENCES "public"."incidents"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "satisfaction" ADD CONSTRAINT "satisfaction_author_id_authors_id_fk" FOREIGN KEY ("author_id") REFERENCES "public"."authors"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "staff_tokens" ADD CONSTRAINT "staff_tokens_user_id_staff_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."staff_users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "satisfaction_incident_author_uq" ON "satisfaction" USING btree ("incident_id","author_id");--> statement-breakpoint
CREATE UNIQUE INDEX "reply_drafts_key_uq" ON "reply_drafts" USING btree ("key");--> statement-breakpoint
CREATE INDEX "reply_drafts_status_idx" ON "reply_drafts" USING btree ("status");