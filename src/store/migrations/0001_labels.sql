CREATE TABLE "labels" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "labels_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"message_id" bigint NOT NULL,
	"task" text NOT NULL,
	"label" text NOT NULL,
	"previous" text,
	"actor" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "labels_task_ck" CHECK ("labels"."task" in ('sector', 'sentiment'))
);
--> statement-breakpoint
ALTER TABLE "labels" ADD CONSTRAINT "labels_message_id_messages_id_fk" FOREIGN KEY ("message_id") REFERENCES "public"."messages"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "labels_message_task_idx" ON "labels" USING btree ("message_id","task","id");