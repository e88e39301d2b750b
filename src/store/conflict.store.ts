/**
 * Conflict alerts (table conflict_alerts) and the counts their detection reads: negative messages per
 * sector × municipality and day, toxic messages per incident, one author's messages on one problem, the
 * first official reply of an incident. The alert settings are the `alerts` row of `settings`.
 */
import { and, desc, eq, gt, inArray, isNull, or, sql } from 'drizzle-orm';
import { DEFAULT_ALERT_SETTINGS, type AlertSettings } from '../domain/conflicts.ts';
import type { Database } from './db.ts';
import * as s from './schema.ts';

export type ConflictAlertRow = typeof s.conflictAlerts.$inferSelect;
export type ConflictAlertInsert = typeof s.conflictAlerts.$inferInsert;

export interface AlertFilter {
  status: 'open' | 'all';
  kinds?: string[];
  /** Staff scopes (one per grant, OR-ed; a grant with no scope means everything). */
  scope?: { sector: string | null; agencyId: string | null; municipality: string | null }[];
  limit: number;
  offset: number;
}

export interface ConflictStore {
  /**
   * Writes the alert unless one with its key was raised within `windowHours` (null: ever). Returns the new
   * row, or `{ duplicate }` with the existing one.
   */
  raise(
    alert: ConflictAlertInsert,
    windowHours: number | null,
  ): Promise<{ created: ConflictAlertRow } | { duplicate: ConflictAlertRow }>;
  get(id: number): Promise<(ConflictAlertRow & { agencyId: string | null }) | undefined>;
  list(f: AlertFilter): Promise<{ total: number; items: ConflictAlertRow[] }>;
  /** Marks the alert acknowledged; undefined when it already was (or does not exist). */
  acknowledge(id: number, actor: string, at?: Date): Promise<ConflictAlertRow | undefined>;
  settings(): Promise<AlertSettings>;
  saveSettings(v: AlertSettings): Promise<void>;
  /**
   * Negative messages per sector × municipality and day back from `now` (day 0: the last 24 h, 1..7 the
   * days before), by the time the citizen wrote; only pairs with at least `minToday` in day 0.
   */
  negativeByDay(
    now: Date,
    minToday: number,
  ): Promise<{ sector: string; municipality: string; days: number[] }[]>;
  /** Toxic and all messages of each incident. */
  toxicCounts(incidentIds: readonly number[]): Promise<Map<number, { toxic: number; total: number }>>;
  /**
   * Of `incidentIds`, those with an author who wrote at least `min` messages (anywhere) since `since`: the
   * only ones where a repeat can be (most citizens write once, so most batches stop here).
   */
  repeatCandidates(incidentIds: readonly number[], since: Date, min: number): Promise<number[]>;
  /** Open or recent incidents of the same sector and municipality last touched after `since`. */
  neighbours(
    inc: { id: number; sector: string; municipality: string | null },
    since: Date,
  ): Promise<{ id: number; terms: string[] }[]>;
  /**
   * Authors who wrote to `incidentId` since `since`, with their messages in any of `incidentIds` since then,
   * where there are at least `min`.
   */
  repeatAuthors(
    incidentId: number,
    incidentIds: readonly number[],
    since: Date,
    min: number,
  ): Promise<{ authorId: number; messageIds: number[]; incidentIds: number[] }[]>;
  /** When the incident was first answered: the first response recorded or the first reply sent. */
  firstResponseAt(incidentId: number): Promise<Date | null>;
}

const num = (v: unknown) => Number(v);

export function createConflictStore(database: Database): ConflictStore {
  const { db } = database;
  const t = s.conflictAlerts;

  return {
    async raise(alert, windowHours) {
      return db.transaction(async (tx) => {
        // Two workers seeing one situation at once raise it once.
        await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`conflict_alert:${alert.key}`}))`);
        const since = windowHours === null ? undefined : new Date(Date.now() - windowHours * 3_600_000);
        const [dup] = await tx
          .select()
          .from(t)
          .where(and(eq(t.key, alert.key), since ? gt(t.createdAt, since) : undefined))
          .orderBy(desc(t.createdAt))
          .limit(1);
        if (dup) return { duplicate: dup };
        const [row] = await tx.insert(t).values(alert).returning();
        return { created: row! };
      });
    },

    async get(id) {
      const [row] = await db
        .select({ a: t, agencyId: s.incidents.agencyId })
        .from(t)
        .leftJoin(s.incidents, eq(s.incidents.id, t.incidentId))
        .where(eq(t.id, id));
      return row ? { ...row.a, agencyId: row.agencyId } : undefined;
    },

    async list(f) {
      const where = and(
        f.status === 'open' ? isNull(t.acknowledgedAt) : undefined,
        f.kinds?.length ? inArray(t.kind, f.kinds) : undefined,
        f.scope
          ? or(
              ...f.scope.map(
                (g) =>
                  and(
                    g.sector === null ? undefined : eq(t.sector, g.sector),
                    g.municipality === null ? undefined : eq(t.municipality, g.municipality),
                    g.agencyId === null ? undefined : eq(s.incidents.agencyId, g.agencyId),
                  ) ?? sql`true`,
              ),
            )
          : undefined,
      );
      const [count] = await db
        .select({ n: sql<number>`count(*)`.mapWith(Number) })
        .from(t)
        .leftJoin(s.incidents, eq(s.incidents.id, t.incidentId))
        .where(where);
      const rows = await db
        .select({ a: t })
        .from(t)
        .leftJoin(s.incidents, eq(s.incidents.id, t.incidentId))
        .where(where)
        .orderBy(desc(t.createdAt), desc(t.id))
        .limit(f.limit)
        .offset(f.offset);
      return { total: count?.n ?? 0, items: rows.map((r) => r.a) };
    },

    async acknowledge(id, actor, at = new Date()) {
      const [row] = await db
        .update(t)
        .set({ acknowledgedBy: actor, acknowledgedAt: at })
        .where(and(eq(t.id, id), isNull(t.acknowledgedAt)))
        .returning();
      return row;
    },

    async settings() {
      const [row] = await db.select().from(s.settings).where(eq(s.settings.key, 'alerts'));
      return { ...DEFAULT_ALERT_SETTINGS, ...((row?.value ?? {}) as Partial<AlertSettings>) };
    },

    async saveSettings(v) {
      await db
        .insert(s.settings)
        .values({ key: 'alerts', value: v })
        .onConflictDoUpdate({ target: s.settings.key, set: { value: v } });
    },

    async negativeByDay(now, minToday) {
      // received_at bounds the scan by its index: a message is received after it is written.
      const rows = await database.query<{ sector: string; municipality: string; day: number; n: number }>(
        `select sector, coalesce(declared_municipality, municipality) as municipality,
                floor(extract(epoch from ($1::timestamptz - posted_at)) / 86400)::int as day, count(*)::int as n
         from messages
         where sentiment = 'negative' and sector is not null
           and coalesce(declared_municipality, municipality) is not null
           and received_at > $1::timestamptz - interval '9 days'
           and posted_at > $1::timestamptz - interval '8 days' and posted_at <= $1::timestamptz
         group by 1, 2, 3`,
        [now.toISOString()],
      );
      const pairs = new Map<string, { sector: string; municipality: string; days: number[] }>();
      for (const r of rows) {
        const k = `${r.sector}\u0000${r.municipality}`;
        let p = pairs.get(k);
        if (!p)
          pairs.set(k, (p = { sector: r.sector, municipality: r.municipality, days: Array(8).fill(0) }));
        const day = num(r.day);
        if (day >= 0 && day < 8) p.days[day]! += num(r.n);
      }
      return [...pairs.values()].filter((p) => p.days[0]! >= minToday);
    },

    async toxicCounts(incidentIds) {
      if (!incidentIds.length) return new Map();
      const rows = await database.query<{ incident_id: number; toxic: number; total: number }>(
        `select incident_id, (count(*) filter (where toxic))::int as toxic, count(*)::int as total
         from messages where incident_id = any($1::bigint[]) group by incident_id`,
        [[...incidentIds]],
      );
      return new Map(rows.map((r) => [num(r.incident_id), { toxic: num(r.toxic), total: num(r.total) }]));
    },

    async repeatCandidates(incidentIds, since, min) {
      if (!incidentIds.length) return [];
      const rows = await database.query<{ incident_id: number }>(
        `select distinct m.incident_id from messages m
         where m.incident_id = any($1::bigint[]) and m.author_id is not null and m.posted_at > $2
           and (select count(*) from messages o where o.author_id = m.author_id and o.posted_at > $2) >= $3`,
        [[...incidentIds], since.toISOString(), min],
      );
      return rows.map((r) => num(r.incident_id));
    },

    async neighbours(inc, since) {
      const rows = await database.query<{ id: number; terms: string[] }>(
        `select id, terms from incidents
         where sector = $1 and municipality is not distinct from $2 and id <> $3 and last_message_at > $4
         order by last_message_at desc limit 500`,
        [inc.sector, inc.municipality, inc.id, since.toISOString()],
      );
      return rows.map((r) => ({ id: num(r.id), terms: r.terms ?? [] }));
    },

    async repeatAuthors(incidentId, incidentIds, since, min) {
      const rows = await database.query<{ author_id: number; ids: number[]; incs: number[] }>(
        `select author_id, array_agg(id order by id) as ids, array_agg(distinct incident_id) as incs
         from messages
         where incident_id = any($2::bigint[]) and posted_at > $3 and author_id in (
           select author_id from messages where incident_id = $1 and author_id is not null and posted_at > $3)
         group by author_id having count(*) >= $4`,
        [incidentId, [...new Set([incidentId, ...incidentIds])], since.toISOString(), min],
      );
      return rows.map((r) => ({
        authorId: num(r.author_id),
        messageIds: r.ids.map(num),
        incidentIds: r.incs.map(num).sort((a, b) => a - b),
      }));
    },

    async firstResponseAt(incidentId) {
      const [row] = await database.query<{ at: Date | string | null }>(
        `select least(
           (select first_responded_at from incidents where id = $1),
           (select min(sent_at) from outbound_messages
            where incident_id = $1 and purpose = 'reply' and status = 'sent')) as at`,
        [incidentId],
      );
      return row?.at ? new Date(row.at) : null;
    },
  };
}
