-- Outreach guard. A poll's messages are written to the outbox when the poll is approved and go out over
-- minutes (the send queue's limits); a citizen who unsubscribes (/stop, «Отписаться»), withdraws consent or
-- is found to have blocked the bot in between must not get one. The moment the author row changes that
-- way, their poll messages still waiting in the outbox become `skipped` (never sent; the send worker leaves
-- any status but pending alone), and their poll_messages rows too. Replies to appeals and every other
-- purpose are untouched. Campaign deliveries need nothing here: their claim re-checks the person.
CREATE INDEX "poll_messages_author_pending_idx" ON "poll_messages" USING btree ("author_id") WHERE "status" = 'pending';--> statement-breakpoint
CREATE OR REPLACE FUNCTION "outreach_skip_unsubscribed"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  reason text := CASE WHEN NEW."blocked" AND NOT OLD."blocked" THEN 'получатель заблокировал бота до отправки'
                      ELSE 'получатель отписался до отправки' END;
BEGIN
  UPDATE "outbound_messages" o SET "status" = 'skipped', "last_error" = reason
  FROM "poll_messages" pm
  WHERE pm."author_id" = NEW."id" AND pm."status" = 'pending'
    AND o."idempotency_key" = 'poll:' || pm."poll_id" || ':' || pm."id"
    AND o."status" = 'pending';
  UPDATE "poll_messages" SET "status" = 'skipped', "error" = reason
  WHERE "author_id" = NEW."id" AND "status" = 'pending';
  RETURN NULL;
END;
$$;--> statement-breakpoint
CREATE TRIGGER "authors_outreach_skip" AFTER UPDATE OF "subscribed", "blocked", "consent_personal_data" ON "authors"
FOR EACH ROW
WHEN ((OLD."subscribed" AND NOT NEW."subscribed") OR (NEW."blocked" AND NOT OLD."blocked")
      OR (OLD."consent_personal_data" AND NOT NEW."consent_personal_data"))
EXECUTE FUNCTION "outreach_skip_unsubscribed"();
