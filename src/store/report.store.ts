/**
 * Stored governor's reports (table `reports`): the summary as JSON plus the PDF and XLSX bytes exactly as
 * they were posted, so a report can be downloaded again later and reads the same. A scheduled report is
 * unique per period (a second pass of the schedule or a second worker stores and posts nothing twice).
 */
import { desc, eq, sql } from 'drizzle-orm';
import { bigint, customType, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import type { Database } from './db.ts';

const bytea = customType<{ data: Buffer; driverData: Buffer | Uint8Array }>({
  dataType: () => 'bytea',
  // node-postgres answers a Buffer, PGlite a Uint8Array: both become a Buffer.
  fromDriver: (v) => (Buffer.isBuffer(v) ? v : Buffer.from(v)),
});

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const reports = pgTable('reports', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  kind: text('kind').notNull().default('weekly'),
  periodFrom: ts('period_from').notNull(),
  periodTo: ts('period_to').notNull(),
  /** schedule | manual */
  trigger: text('trigger').notNull(),
  createdBy: text('created_by'),
  createdAt: ts('created_at').notNull().defaultNow(),
  summary: jsonb('summary').$type<Record<string, unknown>>().notNull(),
  pdf: bytea('pdf').notNull(),
  xlsx: bytea('xlsx').notNull(),
});

export type ReportRow = typeof reports.$inferSelect;
export type ReportListItem = Omit<ReportRow, 'pdf' | 'xlsx' | 'summary'> & {
  pdfBytes: number;
  xlsxBytes: number;
};

export interface ReportStore {
  /** Stores a report; for a scheduled one returns undefined when its period is stored already. */
  add(row: typeof reports.$inferInsert): Promise<ReportRow | undefined>;
  get(id: number): Promise<ReportRow | undefined>;
  scheduled(kind: string, periodFrom: Date): Promise<ReportRow | undefined>;
  list(limit: number): Promise<ReportListItem[]>;
}

export function createReportStore(database: Database): ReportStore {
  const { db } = database;
  const t = reports;
  return {
    async add(row) {
      const ins = await db.insert(t).values(row).onConflictDoNothing().returning();
      return ins[0];
    },
    async get(id) {
      const [row] = await db.select().from(t).where(eq(t.id, id));
      return row;
    },
    async scheduled(kind, periodFrom) {
      const [row] = await db
        .select()
        .from(t)
        .where(sql`${t.kind} = ${kind} and ${t.periodFrom} = ${periodFrom} and ${t.trigger} = 'schedule'`);
      return row;
    },
    async list(limit) {
      return db
        .select({
          id: t.id,
          kind: t.kind,
          periodFrom: t.periodFrom,
          periodTo: t.periodTo,
          trigger: t.trigger,
          createdBy: t.createdBy,
          createdAt: t.createdAt,
          pdfBytes: sql<number>`octet_length(${t.pdf})::int`,
          xlsxBytes: sql<number>`octet_length(${t.xlsx})::int`,
        })
        .from(t)
        .orderBy(desc(t.createdAt), desc(t.id))
        .limit(limit);
    },
  };
}
