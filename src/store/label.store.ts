/**
 * Labels: staff corrections of a message's sector or sentiment. A correction updates the message's
 * analysis, adjusts its incident's negative count and writes an `analysis_corrected` event to the incident,
 * all in one transaction; the latest correction per message and task is exported as training data.
 */
import fs from 'node:fs';
import path from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { SECTOR_CODES, SENTIMENTS } from '../domain/types.ts';
import type { Database } from './db.ts';
import { ERASED_MARKER, RETENTION_MARKER } from './privacy.store.ts';
import * as s from './schema.ts';

export type LabelRow = typeof s.labels.$inferSelect;

export const LABEL_TASKS = ['sector', 'sentiment'] as const;
export type LabelTask = (typeof LABEL_TASKS)[number];

export function isLabelTask(v: unknown): v is LabelTask {
  return typeof v === 'string' && (LABEL_TASKS as readonly string[]).includes(v);
}

/** The values a label of `task` may take: sector codes, or negative / neutral / positive. */
export function labelValues(task: LabelTask): readonly string[] {
  return task === 'sector' ? SECTOR_CODES : SENTIMENTS;
}

export interface CorrectionInput {
  messageId: number;
  task: LabelTask;
  /** Must be one of `labelValues(task)`; the caller validates it. */
  label: string;
  actor: string;
}

export type CorrectionResult =
  | { ok: true; label: LabelRow; incidentId: number | null }
  | { ok: false; reason: 'not_found' | 'not_analyzed' };

/** One line of the training export. */
export interface ExportedLabel {
  task: LabelTask;
  text: string;
  label: string;
}

export interface LabelStore {
  /** Records a correction and applies it to the message (and its incident) in one transaction. */
  correct(input: CorrectionInput): Promise<CorrectionResult>;
  /** The tasks of one message that were corrected, with how many corrections each. */
  correctionsOf(messageId: number): Promise<Partial<Record<LabelTask, number>>>;
  /** The latest correction per message and task, in message order: the rows for retraining. */
  exportLatest(): Promise<ExportedLabel[]>;
}

export function createLabelStore(database: Database): LabelStore {
  const { db } = database;
  return {
    async correct({ messageId, task, label, actor }) {
      if (!labelValues(task).includes(label)) throw new Error(`label "${label}" is not valid for ${task}`);
      return db.transaction(async (tx) => {
        // The lock orders us with the route worker, which locks the messages it groups the same way.
        const [m] = await tx
          .select({
            sector: s.messages.sector,
            sentiment: s.messages.sentiment,
            analyzedAt: s.messages.analyzedAt,
            incidentId: s.messages.incidentId,
          })
          .from(s.messages)
          .where(eq(s.messages.id, messageId))
          .for('update');
        if (!m) return { ok: false as const, reason: 'not_found' as const };
        // Before the analysis there is nothing to correct, and the analysis would overwrite the label.
        if (!m.analyzedAt) return { ok: false as const, reason: 'not_analyzed' as const };
        const previous = task === 'sector' ? m.sector : m.sentiment;
        const [row] = await tx
          .insert(s.labels)
          .values({ messageId, task, label, previous, actor })
          .returning();
        await tx
          .update(s.messages)
          // A staff member looked at the sector: the message no longer waits for review.
          .set(task === 'sector' ? { sector: label, needsReview: false } : { sentiment: label })
          .where(eq(s.messages.id, messageId));
        if (m.incidentId !== null) {
          const delta =
            task === 'sentiment' ? Number(label === 'negative') - Number(previous === 'negative') : 0;
          if (delta !== 0)
            await tx
              .update(s.incidents)
              .set({ negativeCount: sql`greatest(0, ${s.incidents.negativeCount} + ${delta})` })
              .where(eq(s.incidents.id, m.incidentId));
          await tx.insert(s.incidentEvents).values({
            incidentId: m.incidentId,
            type: 'analysis_corrected',
            actor,
            at: row!.createdAt,
            data: { messageId, labelId: row!.id, task, from: previous, to: label },
          });
        }
        return { ok: true as const, label: row!, incidentId: m.incidentId };
      });
    },

    async correctionsOf(messageId) {
      const rows = await db
        .select({ task: s.labels.task, n: sql<number>`count(*)`.mapWith(Number) })
        .from(s.labels)
        .where(eq(s.labels.messageId, messageId))
        .groupBy(s.labels.task);
      return Object.fromEntries(rows.filter((r) => isLabelTask(r.task)).map((r) => [r.task, r.n]));
    },

    async exportLatest() {
      const rows = await database.rows<{ task: LabelTask; text: string; label: string }>(sql`
        select distinct on (l.message_id, l.task) l.task, m.text, l.label
        from labels l join messages m on m.id = l.message_id
        -- Words erased on request or past their retention are not training data.
        where m.text not in (${RETENTION_MARKER}, ${ERASED_MARKER})
        order by l.message_id, l.task, l.id desc`);
      return rows.map((r) => ({ task: r.task, text: r.text, label: r.label }));
    },
  };
}

/** JSON Lines of the export, one `{"task","text","label"}` per line (empty string when there are none). */
export function labelsToJsonl(rows: readonly ExportedLabel[]): string {
  return rows.map((r) => `${JSON.stringify({ task: r.task, text: r.text, label: r.label })}\n`).join('');
}

/** Writes the export to `file` whole or not at all (a temp file renamed over it); returns what it wrote. */
export async function writeLabelsFile(store: LabelStore, file: string): Promise<ExportedLabel[]> {
  const rows = await store.exportLatest();
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, labelsToJsonl(rows));
    fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  return rows;
}

/** «sector: 2, sentiment: 1» — the export's size per task, for reports. */
export function countByTask(rows: readonly ExportedLabel[]): string {
  return LABEL_TASKS.map((t) => `${t}: ${rows.filter((r) => r.task === t).length}`).join(', ');
}
