/**
 * Outbox tables written by responders: staff notifications and reply drafts.
 * Inserts are idempotent by key, so a re-run job never produces a second card or draft.
 */
import { and, desc, eq } from 'drizzle-orm';
import type { Database } from './db.ts';
import * as s from './schema.ts';

export type NotificationRow = typeof s.notifications.$inferSelect;
export type ReplyDraftRow = typeof s.replyDrafts.$inferSelect;

export interface OutboxStore {
  /** true when a new notification was written, false when the key was already there. */
  addNotification(n: typeof s.notifications.$inferInsert): Promise<boolean>;
  notifications(incidentId: number): Promise<NotificationRow[]>;
  addDraft(d: typeof s.replyDrafts.$inferInsert): Promise<boolean>;
  drafts(incidentId: number): Promise<ReplyDraftRow[]>;
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
        .values(d)
        .onConflictDoNothing({ target: [s.replyDrafts.incidentId, s.replyDrafts.kind] })
        .returning({ id: s.replyDrafts.id });
      return rows.length > 0;
    },
    drafts: (incidentId) =>
      db
        .select()
        .from(s.replyDrafts)
        .where(and(eq(s.replyDrafts.incidentId, incidentId)))
        .orderBy(desc(s.replyDrafts.id)),
  };
}
