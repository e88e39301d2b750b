/**
 * Outbox tables written by responders: staff notifications and reply drafts.
 * Inserts are idempotent by key, so a re-run job never produces a second card or draft.
 */
import { and, asc, desc, eq, inArray, isNull, lt, sql } from 'drizzle-orm';
import type { Database } from './db.ts';
import { scopeCondition, type StaffScope } from './incident.store.ts';
import * as s from './schema.ts';

export type NotificationRow = typeof s.notifications.$inferSelect;
export type ReplyDraftRow = typeof s.replyDrafts.$inferSelect;

export interface DraftFilter {
  status?: string[];
  sector?: string[];
  incidentId?: number;
  /** The caller's grants: only drafts of incidents they reach (see scopeCondition). */
  scope?: StaffScope;
  limit: number;
  offset: number;
}

export interface OutboxStore {
  /** true when a new notification was written, false when the key was already there. */
  addNotification(n: typeof s.notifications.$inferInsert): Promise<boolean>;
  notifications(incidentId: number): Promise<NotificationRow[]>;
  addDraft(d: typeof s.replyDrafts.$inferInsert): Promise<boolean>;
  drafts(incidentId: number): Promise<ReplyDraftRow[]>;
  draft(id: number): Promise<ReplyDraftRow | undefined>;
  listDrafts(f: DraftFilter): Promise<{ total: number; items: (ReplyDraftRow & { sector: string })[] }>;
  /** Changes a draft only if it is still in `from` (a concurrent decision loses); returns the new row. */
  decideDraft(
    id: number,
    from: readonly string[],
    patch: Partial<typeof s.replyDrafts.$inferInsert>,
  ): Promise<ReplyDraftRow | undefined>;
  /** Drafts marked `sent` before `before` whose delivery to citizens never finished (oldest first). */
  undeliveredDrafts(before: Date, limit: number): Promise<ReplyDraftRow[]>;
  markDraftDelivered(id: number, at?: Date): Promise<void>;
  /** Approved or sent drafts with their incident's sector and terms (for «similar approved replies»). */
  approvedDrafts(
    limit: number,
  ): Promise<
    { id: number; incidentId: number; kind: string; sector: string; text: string; terms: string[] }[]
  >;
}

export function createOutboxStore(database: Database): OutboxStore {
  const { db } = database;
  return {
    async addNotification(n) {
      const rows = await db
        .insert(s.notifications)
        .values(n)
        .onConflictDoNothing({ target: s.notifications.idempotencyKey })
        .returning({ id: s.notifications.id });
      return rows.length > 0;
    },
    notifications: (incidentId) =>
      db
        .select()
        .from(s.notifications)
        .where(eq(s.notifications.incidentId, incidentId))
        .orderBy(s.notifications.id),
    async addDraft(d) {
      const rows = await db
        .insert(s.replyDrafts)
        .values({ ...d, key: d.key ?? `${d.incidentId}:${d.kind}` })
        .onConflictDoNothing({ target: s.replyDrafts.key })
        .returning({ id: s.replyDrafts.id });
      return rows.length > 0;
    },
    async draft(id) {
      const [row] = await db.select().from(s.replyDrafts).where(eq(s.replyDrafts.id, id));
      return row;
    },
    async listDrafts(f) {
      const conds = [];
      if (f.status?.length) conds.push(inArray(s.replyDrafts.status, f.status));
      if (f.sector?.length) conds.push(inArray(s.incidents.sector, f.sector));
      if (f.incidentId) conds.push(eq(s.replyDrafts.incidentId, f.incidentId));
      const inScope = f.scope ? scopeCondition(f.scope) : undefined;
      if (inScope) conds.push(inScope);
      const where = conds.length ? and(...conds) : undefined;
      const [items, [count]] = await Promise.all([
        db
          .select({ d: s.replyDrafts, sector: s.incidents.sector })
          .from(s.replyDrafts)
          .innerJoin(s.incidents, eq(s.incidents.id, s.replyDrafts.incidentId))
          .where(where)
          .orderBy(asc(s.replyDrafts.id))
          .limit(f.limit)
          .offset(f.offset),
        db
          .select({ n: sql<number>`count(*)`.mapWith(Number) })
          .from(s.replyDrafts)
          .innerJoin(s.incidents, eq(s.incidents.id, s.replyDrafts.incidentId))
          .where(where),
      ]);
      return { total: count?.n ?? 0, items: items.map((r) => ({ ...r.d, sector: r.sector })) };
    },
    async decideDraft(id, from, patch) {
      const [row] = await db
        .update(s.replyDrafts)
        .set(patch)
        .where(and(eq(s.replyDrafts.id, id), inArray(s.replyDrafts.status, [...from])))
        .returning();
      return row;
    },
    undeliveredDrafts: (before, limit) =>
      db
        .select()
        .from(s.replyDrafts)
        .where(
          and(
            eq(s.replyDrafts.status, 'sent'),
            isNull(s.replyDrafts.deliveredAt),
            lt(s.replyDrafts.sentAt, before),
          ),
        )
        .orderBy(s.replyDrafts.sentAt)
        .limit(limit),
    async markDraftDelivered(id, at = new Date()) {
      await db.update(s.replyDrafts).set({ deliveredAt: at }).where(eq(s.replyDrafts.id, id));
    },
    async approvedDrafts(limit) {
      const rows = await db
        .select({
          id: s.replyDrafts.id,
          incidentId: s.replyDrafts.incidentId,
          kind: s.replyDrafts.kind,
          sector: s.incidents.sector,
          text: s.replyDrafts.text,
          terms: s.incidents.terms,
        })
        .from(s.replyDrafts)
        .innerJoin(s.incidents, eq(s.incidents.id, s.replyDrafts.incidentId))
        .where(inArray(s.replyDrafts.status, ['approved', 'sent']))
        .orderBy(desc(s.replyDrafts.id))
        .limit(limit);
      return rows;
    },
    drafts: (incidentId) =>
      db
        .select()
        .from(s.replyDrafts)
        .where(and(eq(s.replyDrafts.incidentId, incidentId)))
        .orderBy(desc(s.replyDrafts.id)),
  };
}
