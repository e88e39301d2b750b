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
  insertBatch(
    items: readonly InboundMessage[],
    platformOf: (source: string) => string,
  ): Promise<InsertResult[]>;
  get(id: number): Promise<MessageRow | undefined>;
  byIds(ids: readonly number[], state?: MessageState): Promise<MessageRow[]>;
  /** Writes analyses for messages still in `received`; returns the ids it updated. */
  saveAnalyses(updates: readonly AnalysisUpdate[]): Promise<number[]>;
  /** Messages that have sat in `state` since before `olderThan`, oldest first. */
  stuck(state: MessageState, olderThan: Date, limit: number): Promise<number[]>;
  markFailed(ids: readonly number[], reason: string): Promise<void>;
  countByState(): Promise<Record<string, number>>;
  /** The messages of an incident with their author's name and channel kind, oldest first. */
  byIncident(
    incidentId: number,
  ): Promise<{ row: MessageRow; authorName: string | null; channelKind: string }[]>;
}

export function createMessageStore(database: Database): MessageStore {
  const { db } = database;
  return {
    async insertBatch(items, platformOf) {
      if (items.length === 0) return [];
      // Hot path (every ingested message): plain SQL with one array parameter per column.
      // 1. Authors: insert the new ones; existing ones are read back in the same statement.
      const authorKey = (platform: string, ext: string) => `${platform}\u0000${ext}`;
      const authors = new Map<string, { platform: string; externalId: string; name: string | null }>();
      for (const m of items) {
        const platform = platformOf(m.source);
        const k = authorKey(platform, m.author.id);
        if (!authors.has(k))
          authors.set(k, { platform, externalId: m.author.id, name: m.author.name ?? null });
      }
      const al = [...authors.values()];
      const authorIds = new Map<string, number>();
      const readAuthors = async () => {
        const missing = al.filter((a) => !authorIds.has(authorKey(a.platform, a.externalId)));
        if (!missing.length) return;
        const rows = await database.query<{ id: number; platform: string; external_id: string }>(
          `with input as (select * from unnest($1::text[], $2::text[], $3::text[]) as t(platform, external_id, name)),
                ins as (insert into authors (platform, external_id, name)
                        select platform, external_id, name from input
                        on conflict (platform, external_id) do nothing
                        returning id, platform, external_id)
           select id, platform, external_id from ins
           union all
           select a.id, a.platform, a.external_id from authors a join input i using (platform, external_id)`,
          [missing.map((a) => a.platform), missing.map((a) => a.externalId), missing.map((a) => a.name)],
        );
        for (const r of rows) authorIds.set(authorKey(r.platform, r.external_id), Number(r.id));
      };
      await readAuthors();
      await readAuthors(); // an author inserted concurrently by another batch is visible now
      // 2. Messages, deduplicated within the batch; existing ones are looked up.
      const key = (source: string, ext: string) => `${source}\u0000${ext}`;
      const unique = new Map<string, InboundMessage>();
      for (const m of items)
        if (!unique.has(key(m.source, m.externalId))) unique.set(key(m.source, m.externalId), m);
      const ml = [...unique.values()];
      const inserted = await database.query<{ id: number; source_id: string; external_id: string }>(
        `insert into messages (source_id, external_id, author_id, text, posted_at, url, parent_external_id, attachments, raw,
                               chat_id, declared_municipality)
         select * from unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::timestamptz[], $6::text[],
                              $7::text[], $8::jsonb[], $9::jsonb[], $10::text[], $11::text[])
         on conflict (source_id, external_id) do nothing
         returning id, source_id, external_id`,
        [
          ml.map((m) => m.source),
          ml.map((m) => m.externalId),
          ml.map((m) => authorIds.get(authorKey(platformOf(m.source), m.author.id)) ?? null),
          ml.map((m) => m.text),
          ml.map((m) => m.postedAt.toISOString()),
          ml.map((m) => m.url ?? null),
          ml.map((m) => m.parentExternalId ?? null),
          ml.map((m) => JSON.stringify(m.attachments ?? [])),
          ml.map((m) => (m.raw === undefined ? null : JSON.stringify(m.raw))),
          ml.map((m) => m.chatId ?? null),
          ml.map((m) => m.municipality ?? null),
        ],
      );
      const ids = new Map(inserted.map((r) => [key(r.source_id, r.external_id), Number(r.id)]));
      const created = new Set(ids.keys());
      const missing = ml.filter((m) => !ids.has(key(m.source, m.externalId)));
      if (missing.length) {
        const existing = await database.query<{ id: number; source_id: string; external_id: string }>(
          `select m.id, m.source_id, m.external_id from messages m
           join unnest($1::text[], $2::text[]) as t(source_id, external_id) using (source_id, external_id)`,
          [missing.map((m) => m.source), missing.map((m) => m.externalId)],
        );
        for (const r of existing) ids.set(key(r.source_id, r.external_id), Number(r.id));
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
          municipality = coalesce(m.declared_municipality, v.municipality), address = v.address, terms = v.terms, model = v.model,
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

    async byIncident(incidentId) {
      const rows = await db
        .select({ row: s.messages, authorName: s.authors.name, channelKind: s.sources.channelKind })
        .from(s.messages)
        .leftJoin(s.authors, eq(s.authors.id, s.messages.authorId))
        .innerJoin(s.sources, eq(s.sources.id, s.messages.sourceId))
        .where(eq(s.messages.incidentId, incidentId))
        .orderBy(s.messages.id)
        .limit(500);
      return rows;
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
