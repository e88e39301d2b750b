/**
 * Messages: idempotent batch insert (unique on source + external id), analysis results, pipeline states.
 */
import { and, eq, inArray, lt, sql } from 'drizzle-orm';
import type { Analysis, InboundMessage, MessageState } from '../domain/types.ts';
import type { Database } from './db.ts';
import * as s from './schema.ts';

export type MessageRow = typeof s.messages.$inferSelect;

export interface InsertResult {
  id: number;
  /** false when the same source + external id was already stored. */
  created: boolean;
}

export interface AnalysisUpdate {
  id: number;
  analysis: Analysis;
  needsReview: boolean;
}

export interface MessageStore {
  /** Stores messages (authors upserted on the way); returns one result per input, in input order. */
  insertBatch(items: readonly InboundMessage[], platformOf: (source: string) => string): Promise<InsertResult[]>;
  get(id: number): Promise<MessageRow | undefined>;
  byIds(ids: readonly number[], state?: MessageState): Promise<MessageRow[]>;
  /** Writes analyses for messages still in `received`; returns the ids it updated. */
  saveAnalyses(updates: readonly AnalysisUpdate[]): Promise<number[]>;
  /** Messages that have sat in `state` since before `olderThan`, oldest first. */
  stuck(state: MessageState, olderThan: Date, limit: number): Promise<number[]>;
  markFailed(ids: readonly number[], reason: string): Promise<void>;
  countByState(): Promise<Record<string, number>>;
}

export function createMessageStore(database: Database): MessageStore {
  const { db } = database;
  return {
    async insertBatch(items, platformOf) {
      if (items.length === 0) return [];
      // 1. Authors, deduplicated (one INSERT may not touch a row twice).
      const authorKey = (m: InboundMessage) => `${platformOf(m.source)}\u0000${m.author.id}`;
      const authors = new Map<string, { platform: string; externalId: string; name: string | null }>();
      for (const m of items) {
        const k = authorKey(m);
        const prev = authors.get(k);
        if (!prev || (!prev.name && m.author.name))
          authors.set(k, { platform: platformOf(m.source), externalId: m.author.id, name: m.author.name ?? null });
      }
      const authorRows = await db
        .insert(s.authors)
        .values([...authors.values()])
        .onConflictDoUpdate({
          target: [s.authors.platform, s.authors.externalId],
          set: { name: sql`coalesce(excluded.name, ${s.authors.name})` },
        })
        .returning({ id: s.authors.id, platform: s.authors.platform, externalId: s.authors.externalId });
      const authorIds = new Map(authorRows.map((r) => [`${r.platform}\u0000${r.externalId}`, r.id]));

      // 2. Messages, deduplicated within the batch; existing ones are looked up.
      const key = (source: string, ext: string) => `${source}\u0000${ext}`;
      const unique = new Map<string, InboundMessage>();
      for (const m of items) if (!unique.has(key(m.source, m.externalId))) unique.set(key(m.source, m.externalId), m);
      const inserted = await db
        .insert(s.messages)
        .values(
          [...unique.values()].map((m) => ({
            sourceId: m.source,
            externalId: m.externalId,
            authorId: authorIds.get(authorKey(m)) ?? null,
            text: m.text,
            postedAt: m.postedAt,
            url: m.url ?? null,
            parentExternalId: m.parentExternalId ?? null,
            attachments: m.attachments ?? [],
            raw: m.raw ?? null,
          })),
        )
        .onConflictDoNothing({ target: [s.messages.sourceId, s.messages.externalId] })
        .returning({ id: s.messages.id, sourceId: s.messages.sourceId, externalId: s.messages.externalId });
      const ids = new Map(inserted.map((r) => [key(r.sourceId, r.externalId), r.id]));
      const created = new Set(ids.keys());
      const missing = [...unique.values()].filter((m) => !ids.has(key(m.source, m.externalId)));
      if (missing.length) {
        const existing = await db
          .select({ id: s.messages.id, sourceId: s.messages.sourceId, externalId: s.messages.externalId })
          .from(s.messages)
          .where(
            sql`(${s.messages.sourceId}, ${s.messages.externalId}) in (${sql.join(
              missing.map((m) => sql`(${m.source}, ${m.externalId})`),
              sql`, `,
            )})`,
          );
        for (const r of existing) ids.set(key(r.sourceId, r.externalId), r.id);
      }
      const seen = new Set<string>();
      return items.map((m) => {
        const k = key(m.source, m.externalId);
        const id = ids.get(k);
        if (id === undefined) throw new Error(`message ${k} was neither inserted nor found`);
        const first = created.has(k) && !seen.has(k);
        seen.add(k);
        return { id, created: first };
      });
    },

    async get(id) {
      const [row] = await db.select().from(s.messages).where(eq(s.messages.id, id));
      return row;
    },

    async byIds(ids, state) {
      if (ids.length === 0) return [];
      const cond = inArray(s.messages.id, [...ids]);
      return db
        .select()
        .from(s.messages)
        .where(state ? and(cond, eq(s.messages.state, state)) : cond)
        .orderBy(s.messages.id);
    },

    async saveAnalyses(updates) {
      if (updates.length === 0) return [];
      const values = sql.join(
        updates.map(
          ({ id, analysis: a, needsReview }) =>
            sql`(${id}::bigint, ${a.sector}, ${a.sectorScore}::real, ${a.sentiment}, ${a.sentimentScore}::real, ${a.toxic}::boolean, ${a.toxicScore}::real, ${a.municipality}::text, ${a.address}::text, ${JSON.stringify(a.terms)}::jsonb, ${a.model}, ${needsReview}::boolean)`,
        ),
        sql`, `,
      );
      const rows = await database.rows<{ id: number }>(sql`
        update messages m set
          sector = v.sector, sector_score = v.sector_score, sentiment = v.sentiment,
          sentiment_score = v.sentiment_score, toxic = v.toxic, toxic_score = v.toxic_score,
          municipality = v.municipality, address = v.address, terms = v.terms, model = v.model,
          needs_review = v.needs_review, analyzed_at = now(), state = 'analyzed', state_changed_at = now()
        from (values ${values}) as v(id, sector, sector_score, sentiment, sentiment_score, toxic, toxic_score,
                                     municipality, address, terms, model, needs_review)
        where m.id = v.id and m.state = 'received'
        returning m.id`);
      return rows.map((r) => Number(r.id));
    },

    async stuck(state, olderThan, limit) {
      const rows = await db
        .select({ id: s.messages.id })
        .from(s.messages)
        .where(and(eq(s.messages.state, state), lt(s.messages.stateChangedAt, olderThan)))
        .orderBy(s.messages.stateChangedAt)
        .limit(limit);
      return rows.map((r) => r.id);
    },

    async markFailed(ids, reason) {
      if (ids.length === 0) return;
      await db
        .update(s.messages)
        .set({ state: 'failed', stateChangedAt: new Date(), lastError: reason })
        .where(inArray(s.messages.id, [...ids]));
    },

    async countByState() {
      const rows = await db
        .select({ state: s.messages.state, n: sql<number>`count(*)`.mapWith(Number) })
        .from(s.messages)
        .groupBy(s.messages.state);
      return Object.fromEntries(rows.map((r) => [r.state, r.n]));
    },
  };
}
