-- Analytics rollups (see the comment at the top of src/store/analytics.store.ts). Statement-level triggers on
-- messages and incidents append signed deltas to two change logs (append-only, so writers never wait on each
-- other); analytics_fold(), called before each read, moves the logs into the daily rollups; reads add what is
-- still in the logs, so an answer always equals the raw SQL over the same snapshot.
CREATE TABLE "analytics_message_log" (
	"day" date NOT NULL,
	"source_id" text NOT NULL,
	"sector" text,
	"municipality" text,
	"sentiment" text,
	"agency_id" text,
	"status" text,
	"author_id" bigint,
	"n" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "analytics_authors_daily" (
	"day" date NOT NULL,
	"source_id" text NOT NULL,
	"sector" text,
	"municipality" text,
	"sentiment" text,
	"agency_id" text,
	"status" text,
	"author_id" bigint,
	"n" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "analytics_messages_daily" (
	"day" date NOT NULL,
	"source_id" text NOT NULL,
	"sector" text,
	"municipality" text,
	"sentiment" text,
	"agency_id" text,
	"status" text,
	"n" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "analytics_incident_log" (
	"day" date NOT NULL,
	"sector" text,
	"municipality" text,
	"agency_id" text,
	"channel_kind" text,
	"sentiment" text,
	"status" text,
	"n" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "analytics_incidents_daily" (
	"day" date NOT NULL,
	"sector" text,
	"municipality" text,
	"agency_id" text,
	"channel_kind" text,
	"sentiment" text,
	"status" text,
	"n" integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "analytics_authors_daily_uq" ON "analytics_authors_daily" USING btree ("day","source_id","sector","municipality","sentiment","agency_id","status","author_id") NULLS NOT DISTINCT;
--> statement-breakpoint
CREATE UNIQUE INDEX "analytics_messages_daily_uq" ON "analytics_messages_daily" USING btree ("day","source_id","sector","municipality","sentiment","agency_id","status") NULLS NOT DISTINCT;
--> statement-breakpoint
CREATE UNIQUE INDEX "analytics_incidents_daily_uq" ON "analytics_incidents_daily" USING btree ("day","sector","municipality","agency_id","channel_kind","sentiment","status") NULLS NOT DISTINCT;
--> statement-breakpoint
-- The local (Barnaul) day of a timestamp, as the slices bucket time.
CREATE FUNCTION "analytics_day"(t timestamptz) RETURNS date LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT (t AT TIME ZONE 'Asia/Barnaul')::date $$;
--> statement-breakpoint
-- The sentiment of an incident: negative when at least half of its messages are.
CREATE FUNCTION "analytics_incident_sentiment"(negative integer, total integer) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE WHEN negative * 2 >= total THEN 'negative' ELSE 'not_negative' END $$;
--> statement-breakpoint
-- Messages are counted under their incident's current agency and status (looked up by index, once per incident).
-- The trigger functions look rows up by id and incident id only: `enable_seqscan = off` keeps their cached plans
-- on the indexes even when they were first planned while the tables were still empty.
CREATE FUNCTION "analytics_messages_inserted"() RETURNS trigger LANGUAGE plpgsql SET enable_seqscan = off AS $$
BEGIN
  INSERT INTO analytics_message_log (day, source_id, sector, municipality, sentiment, agency_id, status, author_id, n)
  SELECT analytics_day(m.received_at), m.source_id, m.sector, m.municipality, m.sentiment, i.agency_id, i.status, m.author_id, count(*)
  FROM analytics_new m
  LEFT JOIN (SELECT id, agency_id, status FROM incidents WHERE id IN (SELECT incident_id FROM analytics_new)) i ON i.id = m.incident_id
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION "analytics_messages_deleted"() RETURNS trigger LANGUAGE plpgsql SET enable_seqscan = off AS $$
BEGIN
  INSERT INTO analytics_message_log (day, source_id, sector, municipality, sentiment, agency_id, status, author_id, n)
  SELECT analytics_day(m.received_at), m.source_id, m.sector, m.municipality, m.sentiment, i.agency_id, i.status, m.author_id, -count(*)
  FROM analytics_old m
  LEFT JOIN (SELECT id, agency_id, status FROM incidents WHERE id IN (SELECT incident_id FROM analytics_old)) i ON i.id = m.incident_id
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION "analytics_messages_updated"() RETURNS trigger LANGUAGE plpgsql SET enable_seqscan = off AS $$
BEGIN
  -- A message changed inside its incident (a staff correction) is counted under the incident's agency and
  -- status as they are now: lock the incident so that a concurrent status change or reassignment, which moves
  -- the incident's messages, is ordered with this change. (Attaching a message to an incident happens with the
  -- incident already locked: routing updates the incident's counters first.)
  PERFORM 1 FROM incidents i
  WHERE i.id IN (
    SELECT n.incident_id FROM analytics_old o JOIN analytics_new n ON n.id = o.id
    WHERE n.incident_id = o.incident_id
      AND (o.received_at, o.source_id, o.sector, o.municipality, o.sentiment, o.author_id)
          IS DISTINCT FROM (n.received_at, n.source_id, n.sector, n.municipality, n.sentiment, n.author_id))
  ORDER BY i.id
  FOR NO KEY UPDATE;
  WITH c AS (
    SELECT o.received_at AS o_at, o.source_id AS o_source, o.sector AS o_sector, o.municipality AS o_municipality,
           o.sentiment AS o_sentiment, o.incident_id AS o_incident, o.author_id AS o_author,
           n.received_at AS n_at, n.source_id AS n_source, n.sector AS n_sector, n.municipality AS n_municipality,
           n.sentiment AS n_sentiment, n.incident_id AS n_incident, n.author_id AS n_author
    FROM analytics_old o JOIN analytics_new n ON n.id = o.id
    WHERE (o.received_at, o.source_id, o.sector, o.municipality, o.sentiment, o.incident_id, o.author_id)
          IS DISTINCT FROM (n.received_at, n.source_id, n.sector, n.municipality, n.sentiment, n.incident_id, n.author_id)
  ), d AS (
    SELECT o_at AS at, o_source AS source_id, o_sector AS sector, o_municipality AS municipality, o_sentiment AS sentiment,
           o_incident AS incident_id, o_author AS author_id, -1 AS n
    FROM c
    UNION ALL
    SELECT n_at, n_source, n_sector, n_municipality, n_sentiment, n_incident, n_author, 1 FROM c
  )
  INSERT INTO analytics_message_log (day, source_id, sector, municipality, sentiment, agency_id, status, author_id, n)
  SELECT analytics_day(d.at), d.source_id, d.sector, d.municipality, d.sentiment, i.agency_id, i.status, d.author_id, sum(d.n)
  FROM d
  LEFT JOIN (SELECT id, agency_id, status FROM incidents WHERE id IN (SELECT incident_id FROM d)) i ON i.id = d.incident_id
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
  HAVING sum(d.n) <> 0;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION "analytics_incidents_inserted"() RETURNS trigger LANGUAGE plpgsql SET enable_seqscan = off AS $$
BEGIN
  INSERT INTO analytics_incident_log (day, sector, municipality, agency_id, channel_kind, sentiment, status, n)
  SELECT analytics_day(created_at), sector, municipality, agency_id, channel_kind,
         analytics_incident_sentiment(negative_count, message_count), status, count(*)
  FROM analytics_new
  GROUP BY 1, 2, 3, 4, 5, 6, 7;
  -- Messages that already pointed at the new id were counted without an incident (the app never does this: it
  -- opens the incident first).
  WITH mm AS (
    SELECT m.received_at, m.source_id, m.sector, m.municipality, m.sentiment, m.author_id, n.agency_id, n.status
    FROM analytics_new n JOIN messages m ON m.incident_id = n.id
  ), d AS (
    SELECT received_at, source_id, sector, municipality, sentiment, NULL::text AS agency_id, NULL::text AS status, author_id, -1 AS n FROM mm
    UNION ALL
    SELECT received_at, source_id, sector, municipality, sentiment, agency_id, status, author_id, 1 FROM mm
  )
  INSERT INTO analytics_message_log (day, source_id, sector, municipality, sentiment, agency_id, status, author_id, n)
  SELECT analytics_day(received_at), source_id, sector, municipality, sentiment, agency_id, status, author_id, sum(n)
  FROM d GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 HAVING sum(n) <> 0;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION "analytics_incidents_deleted"() RETURNS trigger LANGUAGE plpgsql SET enable_seqscan = off AS $$
BEGIN
  INSERT INTO analytics_incident_log (day, sector, municipality, agency_id, channel_kind, sentiment, status, n)
  SELECT analytics_day(created_at), sector, municipality, agency_id, channel_kind,
         analytics_incident_sentiment(negative_count, message_count), status, -count(*)
  FROM analytics_old
  GROUP BY 1, 2, 3, 4, 5, 6, 7;
  WITH mm AS (
    SELECT m.received_at, m.source_id, m.sector, m.municipality, m.sentiment, m.author_id, o.agency_id, o.status
    FROM analytics_old o JOIN messages m ON m.incident_id = o.id
  ), d AS (
    SELECT received_at, source_id, sector, municipality, sentiment, agency_id, status, author_id, -1 AS n FROM mm
    UNION ALL
    SELECT received_at, source_id, sector, municipality, sentiment, NULL::text, NULL::text, author_id, 1 FROM mm
  )
  INSERT INTO analytics_message_log (day, source_id, sector, municipality, sentiment, agency_id, status, author_id, n)
  SELECT analytics_day(received_at), source_id, sector, municipality, sentiment, agency_id, status, author_id, sum(n)
  FROM d GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 HAVING sum(n) <> 0;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION "analytics_incidents_updated"() RETURNS trigger LANGUAGE plpgsql SET enable_seqscan = off AS $$
BEGIN
  WITH c AS (
    SELECT o.created_at AS o_at, o.sector AS o_sector, o.municipality AS o_municipality, o.agency_id AS o_agency,
           o.channel_kind AS o_channel, analytics_incident_sentiment(o.negative_count, o.message_count) AS o_sentiment,
           o.status AS o_status,
           n.created_at AS n_at, n.sector AS n_sector, n.municipality AS n_municipality, n.agency_id AS n_agency,
           n.channel_kind AS n_channel, analytics_incident_sentiment(n.negative_count, n.message_count) AS n_sentiment,
           n.status AS n_status
    FROM analytics_old o JOIN analytics_new n ON n.id = o.id
  ), ch AS (
    SELECT * FROM c
    WHERE (o_at, o_sector, o_municipality, o_agency, o_channel, o_sentiment, o_status)
          IS DISTINCT FROM (n_at, n_sector, n_municipality, n_agency, n_channel, n_sentiment, n_status)
  ), d AS (
    SELECT o_at AS at, o_sector AS sector, o_municipality AS municipality, o_agency AS agency_id, o_channel AS channel_kind,
           o_sentiment AS sentiment, o_status AS status, -1 AS n
    FROM ch
    UNION ALL
    SELECT n_at, n_sector, n_municipality, n_agency, n_channel, n_sentiment, n_status, 1 FROM ch
  )
  INSERT INTO analytics_incident_log (day, sector, municipality, agency_id, channel_kind, sentiment, status, n)
  SELECT analytics_day(at), sector, municipality, agency_id, channel_kind, sentiment, status, sum(n)
  FROM d GROUP BY 1, 2, 3, 4, 5, 6, 7 HAVING sum(n) <> 0;
  -- The incident's messages follow its agency and status.
  WITH c AS (
    SELECT n.id, o.agency_id AS o_agency, o.status AS o_status, n.agency_id AS n_agency, n.status AS n_status
    FROM analytics_old o JOIN analytics_new n ON n.id = o.id
    WHERE (o.agency_id, o.status) IS DISTINCT FROM (n.agency_id, n.status)
  ), mm AS (
    SELECT m.received_at, m.source_id, m.sector, m.municipality, m.sentiment, m.author_id,
           c.o_agency, c.o_status, c.n_agency, c.n_status
    FROM c JOIN messages m ON m.incident_id = c.id
  ), d AS (
    SELECT received_at, source_id, sector, municipality, sentiment, o_agency AS agency_id, o_status AS status, author_id, -1 AS n FROM mm
    UNION ALL
    SELECT received_at, source_id, sector, municipality, sentiment, n_agency, n_status, author_id, 1 FROM mm
  )
  INSERT INTO analytics_message_log (day, source_id, sector, municipality, sentiment, agency_id, status, author_id, n)
  SELECT analytics_day(received_at), source_id, sector, municipality, sentiment, agency_id, status, author_id, sum(n)
  FROM d GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 HAVING sum(n) <> 0;
  RETURN NULL;
END $$;
--> statement-breakpoint
-- Recomputes every rollup from the raw tables (the migration fills them this way; TRUNCATE of a raw table too).
CREATE FUNCTION "analytics_rebuild"() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  LOCK TABLE messages, incidents IN SHARE MODE;
  PERFORM pg_advisory_xact_lock(1868, 6);
  DELETE FROM analytics_message_log;
  DELETE FROM analytics_incident_log;
  DELETE FROM analytics_authors_daily;
  DELETE FROM analytics_messages_daily;
  DELETE FROM analytics_incidents_daily;
  INSERT INTO analytics_authors_daily (day, source_id, sector, municipality, sentiment, agency_id, status, author_id, n)
  SELECT analytics_day(m.received_at), m.source_id, m.sector, m.municipality, m.sentiment, i.agency_id, i.status, m.author_id, count(*)
  FROM messages m LEFT JOIN incidents i ON i.id = m.incident_id
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8;
  INSERT INTO analytics_messages_daily (day, source_id, sector, municipality, sentiment, agency_id, status, n)
  SELECT day, source_id, sector, municipality, sentiment, agency_id, status, sum(n)
  FROM analytics_authors_daily
  GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY 1, 2, 3, 4, 5, 6, 7;
  INSERT INTO analytics_incidents_daily (day, sector, municipality, agency_id, channel_kind, sentiment, status, n)
  SELECT analytics_day(created_at), sector, municipality, agency_id, channel_kind,
         analytics_incident_sentiment(negative_count, message_count), status, count(*)
  FROM incidents
  GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY 1, 2, 3, 4, 5, 6, 7;
END $$;
--> statement-breakpoint
CREATE FUNCTION "analytics_truncated"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM analytics_rebuild();
  RETURN NULL;
END $$;
--> statement-breakpoint
-- Moves the change logs into the rollups (one folder at a time; returns -1 when another is at it) and removes
-- rollup rows that dropped to zero. Returns the number of log rows moved.
CREATE FUNCTION "analytics_fold"() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  moved_messages integer;
  moved_incidents integer;
  zero_authors tid[];
  zero_messages tid[];
  zero_incidents tid[];
BEGIN
  IF NOT pg_try_advisory_xact_lock(1868, 6) THEN
    RETURN -1;
  END IF;
  WITH d AS (
    DELETE FROM analytics_message_log RETURNING *
  ), a AS (
    INSERT INTO analytics_authors_daily AS r (day, source_id, sector, municipality, sentiment, agency_id, status, author_id, n)
    SELECT day, source_id, sector, municipality, sentiment, agency_id, status, author_id, sum(n)
    FROM d GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 HAVING sum(n) <> 0 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8
    ON CONFLICT (day, source_id, sector, municipality, sentiment, agency_id, status, author_id) DO UPDATE SET n = r.n + excluded.n
    RETURNING r.ctid, r.n
  ), m AS (
    INSERT INTO analytics_messages_daily AS r (day, source_id, sector, municipality, sentiment, agency_id, status, n)
    SELECT day, source_id, sector, municipality, sentiment, agency_id, status, sum(n)
    FROM d GROUP BY 1, 2, 3, 4, 5, 6, 7 HAVING sum(n) <> 0 ORDER BY 1, 2, 3, 4, 5, 6, 7
    ON CONFLICT (day, source_id, sector, municipality, sentiment, agency_id, status) DO UPDATE SET n = r.n + excluded.n
    RETURNING r.ctid, r.n
  )
  SELECT (SELECT count(*) FROM d), (SELECT array_agg(ctid) FROM a WHERE n = 0), (SELECT array_agg(ctid) FROM m WHERE n = 0)
  INTO moved_messages, zero_authors, zero_messages;
  IF zero_authors IS NOT NULL THEN
    DELETE FROM analytics_authors_daily WHERE ctid = ANY (zero_authors);
  END IF;
  IF zero_messages IS NOT NULL THEN
    DELETE FROM analytics_messages_daily WHERE ctid = ANY (zero_messages);
  END IF;
  WITH d AS (
    DELETE FROM analytics_incident_log RETURNING *
  ), i AS (
    INSERT INTO analytics_incidents_daily AS r (day, sector, municipality, agency_id, channel_kind, sentiment, status, n)
    SELECT day, sector, municipality, agency_id, channel_kind, sentiment, status, sum(n)
    FROM d GROUP BY 1, 2, 3, 4, 5, 6, 7 HAVING sum(n) <> 0 ORDER BY 1, 2, 3, 4, 5, 6, 7
    ON CONFLICT (day, sector, municipality, agency_id, channel_kind, sentiment, status) DO UPDATE SET n = r.n + excluded.n
    RETURNING r.ctid, r.n
  )
  SELECT (SELECT count(*) FROM d), (SELECT array_agg(ctid) FROM i WHERE n = 0)
  INTO moved_incidents, zero_incidents;
  IF zero_incidents IS NOT NULL THEN
    DELETE FROM analytics_incidents_daily WHERE ctid = ANY (zero_incidents);
  END IF;
  RETURN moved_messages + moved_incidents;
END $$;
--> statement-breakpoint
CREATE TRIGGER "analytics_messages_ins" AFTER INSERT ON "messages" REFERENCING NEW TABLE AS analytics_new FOR EACH STATEMENT EXECUTE FUNCTION analytics_messages_inserted();
--> statement-breakpoint
CREATE TRIGGER "analytics_messages_upd" AFTER UPDATE ON "messages" REFERENCING OLD TABLE AS analytics_old NEW TABLE AS analytics_new FOR EACH STATEMENT EXECUTE FUNCTION analytics_messages_updated();
--> statement-breakpoint
CREATE TRIGGER "analytics_messages_del" AFTER DELETE ON "messages" REFERENCING OLD TABLE AS analytics_old FOR EACH STATEMENT EXECUTE FUNCTION analytics_messages_deleted();
--> statement-breakpoint
CREATE TRIGGER "analytics_messages_trunc" AFTER TRUNCATE ON "messages" FOR EACH STATEMENT EXECUTE FUNCTION analytics_truncated();
--> statement-breakpoint
CREATE TRIGGER "analytics_incidents_ins" AFTER INSERT ON "incidents" REFERENCING NEW TABLE AS analytics_new FOR EACH STATEMENT EXECUTE FUNCTION analytics_incidents_inserted();
--> statement-breakpoint
CREATE TRIGGER "analytics_incidents_upd" AFTER UPDATE ON "incidents" REFERENCING OLD TABLE AS analytics_old NEW TABLE AS analytics_new FOR EACH STATEMENT EXECUTE FUNCTION analytics_incidents_updated();
--> statement-breakpoint
CREATE TRIGGER "analytics_incidents_del" AFTER DELETE ON "incidents" REFERENCING OLD TABLE AS analytics_old FOR EACH STATEMENT EXECUTE FUNCTION analytics_incidents_deleted();
--> statement-breakpoint
CREATE TRIGGER "analytics_incidents_trunc" AFTER TRUNCATE ON "incidents" FOR EACH STATEMENT EXECUTE FUNCTION analytics_truncated();
--> statement-breakpoint
SELECT analytics_rebuild();
