/**
 * The outbox of messages to citizens (table outbound_messages). Rows are written first (idempotent by key)
 * and sent by the `send` queue; the sweeper re-enqueues pending rows whose job was lost with Redis.
 *
 * Status: pending → sending (claimed right before the platform is called) → sent | failed, or back to
 * pending when the platform answered with an error. A row left `sending` by a process that died mid-send is
 * in doubt: resent where the platform drops a repeat (VK, edits), else `uncertain` and never resent.
 */
import { and, asc, eq, inArray, lt, sql } from 'drizzle-orm';
import type { Database } from './db.ts';
import * as s from './schema.ts';

export type OutboundRow = typeof s.outboundMessages.$inferSelect;
export type OutboundInsert = typeof s.outboundMessages.$inferInsert;

export interface OutboundStore {
  /** Writes the row unless its key exists; returns the row id either way and whether it is new. */
  add(row: OutboundInsert): Promise<{ id: number; created: boolean }>;
  get(id: number): Promise<OutboundRow | undefined>;
  /** Counts one more try (for the audit of a row that needed retries). */
  attempt(id: number, error?: string): Promise<void>;
  /** pending (or sending, for a resend) → sending; false when the row is in neither. */
  claim(id: number): Promise<boolean>;
  /** sending → pending: the platform answered with an error (counted in `attempts`), the row is tried again. */
  release(id: number, error: string): Promise<void>;
  /** Delivered (from pending, sending, or uncertain when a late answer settles the doubt). */
  markSent(id: number, externalId: string): Promise<void>;
  markFailed(id: number, reason: string): Promise<void>;
  /** sending → uncertain: a send interrupted mid-way that cannot be repeated safely (no idempotency key). */
  markUncertain(id: number, reason: string): Promise<void>;
  /** Pending rows created before `olderThan`, oldest first. */
  pendingBefore(olderThan: Date, limit: number): Promise<number[]>;
  /** Rows left `sending` (a process died mid-send); not indexed, looked at once per worker start. */
  inFlight(limit: number): Promise<number[]>;
  byIncident(incidentId: number): Promise<OutboundRow[]>;
  byKeys(keys: readonly string[]): Promise<OutboundRow[]>;
  countByStatus(): Promise<Record<string, number>>;
}

export function createOutboundStore(database: Database): OutboundStore {
  const { db } = database;
  const t = s.outboundMessages;
  return {
    async add(row) {
      const ins = await db
        .insert(t)
        .values(row)
        .onConflictDoNothing({ target: t.idempotencyKey })
        .returning({ id: t.id });
      if (ins[0]) return { id: ins[0].id, created: true };
      const [old] = await db.select({ id: t.id }).from(t).where(eq(t.idempotencyKey, row.idempotencyKey));
      if (!old) throw new Error(`outbound row ${row.idempotencyKey} was neither inserted nor found`);
      return { id: old.id, created: false };
    },
    async get(id) {
      const [row] = await db.select().from(t).where(eq(t.id, id));
      return row;
    },
    async attempt(id, error) {
      await db
        .update(t)
        .set({ attempts: sql`${t.attempts} + 1`, ...(error ? { lastError: error.slice(0, 500) } : {}) })
        .where(eq(t.id, id));
    },
    async claim(id) {
      const rows = await db
        .update(t)
        .set({ status: 'sending' })
        .where(and(eq(t.id, id), inArray(t.status, ['pending', 'sending'])))
        .returning({ id: t.id });
      return rows.length > 0;
    },
    async release(id, error) {
      await db
        .update(t)
        .set({ status: 'pending', attempts: sql`${t.attempts} + 1`, lastError: error.slice(0, 500) })
        .where(and(eq(t.id, id), eq(t.status, 'sending')));
    },
    async markSent(id, externalId) {
      await db
        .update(t)
        .set({ status: 'sent', externalId, sentAt: new Date(), lastError: null })
        .where(and(eq(t.id, id), inArray(t.status, ['pending', 'sending', 'uncertain'])));
    },
    async markFailed(id, reason) {
      await db
        .update(t)
        .set({ status: 'failed', lastError: reason.slice(0, 500) })
        .where(and(eq(t.id, id), inArray(t.status, ['pending', 'sending'])));
    },
    async markUncertain(id, reason) {
      await db
        .update(t)
        .set({ status: 'uncertain', lastError: reason.slice(0, 500) })
        .where(and(eq(t.id, id), eq(t.status, 'sending')));
    },
    async pendingBefore(olderThan, limit) {
      const rows = await db
        .select({ id: t.id })
        .from(t)
        .where(and(eq(t.status, 'pending'), lt(t.createdAt, olderThan)))
        .orderBy(asc(t.createdAt))
        .limit(limit);
      return rows.map((r) => r.id);
    },
    async inFlight(limit) {
      const rows = await db.select({ id: t.id }).from(t).where(eq(t.status, 'sending')).limit(limit);
      return rows.map((r) => r.id);
    },
    byIncident: (incidentId) => db.select().from(t).where(eq(t.incidentId, incidentId)).orderBy(t.id),
    async byKeys(keys) {
      if (!keys.length) return [];
      return db
        .select()
        .from(t)
        .where(inArray(t.idempotencyKey, [...keys]))
        .orderBy(t.id);
    },
    async countByStatus() {
      const rows = await db
        .select({ status: t.status, n: sql<number>`count(*)`.mapWith(Number) })
        .from(t)
        .groupBy(t.status);
      return Object.fromEntries(rows.map((r) => [r.status, r.n]));
    },
  };
}
