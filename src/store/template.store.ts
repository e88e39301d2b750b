/** The reply template library as the draft step reads it (cached briefly; staff edit the table). */
import { eq } from 'drizzle-orm';
import type { DraftKind, ReplyTemplate } from '../responders/reply-templates.ts';
import type { Database } from './db.ts';
import * as s from './schema.ts';

export function createTemplateStore(
  database: Database,
  ttlMs = 30_000,
): () => Promise<readonly ReplyTemplate[]> {
  let cache: { at: number; rows: ReplyTemplate[] } | undefined;
  return async () => {
    if (cache && Date.now() - cache.at < ttlMs) return cache.rows;
    const rows = await database.db
      .select()
      .from(s.replyTemplates)
      .where(eq(s.replyTemplates.active, true))
      .orderBy(s.replyTemplates.id);
    cache = {
      at: Date.now(),
      rows: rows.map((r) => ({ id: r.id, kind: r.kind as DraftKind, sector: r.sector, text: r.text })),
    };
    return cache.rows;
  };
}
