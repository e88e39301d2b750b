/**
 * What the bots know about citizens: consent (152-ФЗ), subscriptions, the state of each conversation, and the
 * read side of «/status». Nothing is written for a person before they consent (see the citizen dialog).
 */
import { and, eq, sql } from 'drizzle-orm';
import type { Attachment } from '../domain/types.ts';
import type { Database } from './db.ts';
import { ERASED_MARKER, RETENTION_MARKER } from './privacy.store.ts';
import * as s from './schema.ts';

export type AuthorRow = typeof s.authors.$inferSelect;
export type DialogRow = typeof s.botDialogs.$inferSelect;

export interface AppealRow {
  id: number;
  postedAt: Date;
  state: string;
  incidentId: number | null;
  incidentStatus: string | null;
  agency: string | null;
  firstResponseDue: Date | null;
  resolutionDue: Date | null;
}

/** A stored message that was changed after it came: its appeal number and incident. */
export interface AmendedMessage {
  messageId: number;
  /** The number the citizen knows: the appeal an answer to a question belongs to, else the message itself. */
  appealId: number;
  incidentId: number | null;
  /** False when the message already read so (a redelivered edit): nothing was written. */
  changed: boolean;
}

/**
 * A message put together from several messages of the citizen (an appeal completed while the bot asked for
 * the municipality, the items of an album) keeps its pieces in `raw.parts`, so an edit of any of them can be
 * applied; `raw.edits` keeps every earlier text (nothing a citizen wrote is lost).
 */
export interface MessagePart {
  externalId: string;
  text: string;
}

/** A citizen who wrote about an incident, and where to answer them. */
export interface Recipient {
  messageId: number;
  sourceId: string;
  channelKind: string;
  chatId: string;
  externalId: string;
  authorId: number | null;
}

export interface CitizenStore {
  author(platform: string, externalId: string): Promise<AuthorRow | undefined>;
  /** Records consent (creating the author); the moment is kept for the audit. */
  giveConsent(platform: string, externalId: string, name: string | null): Promise<AuthorRow>;
  /** Withdraws consent and every subscription; the dialog state is deleted. */
  withdrawConsent(platform: string, externalId: string): Promise<void>;
  /**
   * Subscribes (recording the bot and chat news go to, the language of address and the moment) or
   * unsubscribes (the moment kept in `unsubscribed_at`; running campaigns skip the person from then on).
   */
  setSubscription(
    platform: string,
    externalId: string,
    sub: {
      subscribed: boolean;
      topics: string[];
      municipality: string | null;
      /** ISO 639-1; unchanged when absent. */
      language?: string;
      /** The bot's messenger source id and the chat, where campaigns reach the citizen. */
      source?: string;
      chat?: string;
    },
  ): Promise<void>;
  /** The citizen wrote again after the platform had said they blocked the bot: reachable again. */
  clearBlocked(platform: string, externalId: string): Promise<void>;
  dialog(sourceId: string, chatId: string): Promise<DialogRow | undefined>;
  setDialog(sourceId: string, chatId: string, state: string, data?: Record<string, unknown>): Promise<void>;
  clearDialog(sourceId: string, chatId: string): Promise<void>;
  /** The citizen's latest appeals through bots of `platform`, newest first. */
  appeals(platform: string, authorExternalId: string, limit: number): Promise<AppealRow[]>;
  /** Municipality codes by number of messages in the last 90 days, then by population. */
  topMunicipalities(limit: number): Promise<string[]>;
  /** Messages of an incident that came through a bot or community and can be answered there. */
  recipients(incidentId: number): Promise<Recipient[]>;
  /** An incident waiting for this citizen's details (clock paused), with their message in it. */
  waitingIncident(
    platform: string,
    authorExternalId: string,
  ): Promise<
    { incidentId: number; messageId: number; externalId: string; municipality: string | null } | undefined
  >;
  /** An entry in the incident's timeline (what staff see on the incident page). */
  addIncidentEvent(
    incidentId: number,
    type: string,
    actor: string,
    data?: Record<string, unknown>,
  ): Promise<void>;
  /**
   * The author changed a stored message (or one of its parts, see `MessagePart`): the text becomes the new
   * one, the previous text is kept in `raw.edits`. Analysis and routing stay as they were. With `authorId`
   * the parts of that author's messages are searched too. Undefined when no such message is stored (or it
   * was erased).
   */
  editMessage(
    sourceId: string,
    externalId: string,
    edit: { text: string; at: Date; authorId?: number },
  ): Promise<AmendedMessage | undefined>;
  /**
   * Adds a later piece to a stored message (the other items of an album): its attachments, and its text as
   * a new part. Undefined when the message is not stored (or was erased).
   */
  appendToMessage(
    sourceId: string,
    externalId: string,
    piece: { externalId: string; text: string; attachments: Attachment[] },
  ): Promise<AmendedMessage | undefined>;
  /** Stores (or replaces) the citizen's score of an incident. */
  /**
   * A rating (or its «solved?» answer, or comment) of the citizen for an incident they wrote about; false
   * when stored nothing: not an author of its messages, no such incident, no score given before.
   */
  saveSatisfaction(
    incidentId: number,
    platform: string,
    authorExternalId: string,
    patch: { score?: number; unresolved?: boolean; comment?: string },
  ): Promise<boolean>;
}

/** The text of a message made of parts: the non-empty ones, a blank line apart. */
export function joinParts(parts: readonly MessagePart[]): string {
  return parts
    .map((p) => p.text.trim())
    .filter(Boolean)
    .join('\n\n');
}

/** `raw` as an object we may add our own keys to (a platform payload that is not one is kept inside). */
function rawObject(raw: unknown): Record<string, unknown> {
  if (raw && typeof raw === 'object' && !Array.isArray(raw)) return { ...(raw as Record<string, unknown>) };
  return raw === null || raw === undefined ? {} : { original: raw };
}

function partsOf(raw: Record<string, unknown>): MessagePart[] | undefined {
  const p = raw.parts;
  if (!Array.isArray(p)) return undefined;
  return p
    .filter((x): x is MessagePart => typeof (x as MessagePart)?.externalId === 'string')
    .map((x) => ({ externalId: x.externalId, text: typeof x.text === 'string' ? x.text : '' }));
}

export function createCitizenStore(database: Database): CitizenStore {
  const { db } = database;
  const a = s.authors;
  const d = s.botDialogs;
  let topCache: { at: number; codes: string[] } | undefined;

  /**
   * Changes one stored message under a row lock: `change` gets the row (raw as an object, its parts) and
   * answers the new values, or null for «nothing to do». Erased or anonymised messages are never changed.
   */
  async function amend(
    sourceId: string,
    externalId: string,
    authorId: number | undefined,
    change: (
      row: { text: string; attachments: unknown[]; raw: Record<string, unknown> },
      parts: MessagePart[] | undefined,
    ) => { text: string; attachments?: unknown[]; raw: Record<string, unknown> } | null,
  ): Promise<AmendedMessage | undefined> {
    return db.transaction(async (tx) => {
      const m = s.messages;
      const byPart =
        authorId === undefined
          ? sql`false`
          : sql`(${m.authorId} = ${authorId} and ${m.raw} -> 'parts' @> ${JSON.stringify([{ externalId }])}::jsonb)`;
      const [row] = await tx
        .select({
          id: m.id,
          text: m.text,
          attachments: m.attachments,
          raw: m.raw,
          incidentId: m.incidentId,
          parent: m.parentExternalId,
        })
        .from(m)
        .where(and(eq(m.sourceId, sourceId), sql`(${m.externalId} = ${externalId} or ${byPart})`))
        .orderBy(m.id)
        .limit(1)
        .for('update');
      if (!row || row.text === ERASED_MARKER || row.text === RETENTION_MARKER) return undefined;
      const raw = rawObject(row.raw);
      const next = change({ text: row.text, attachments: row.attachments, raw }, partsOf(raw));
      if (next) {
        await tx
          .update(m)
          .set({
            text: next.text,
            raw: next.raw,
            ...(next.attachments ? { attachments: next.attachments } : {}),
          })
          .where(eq(m.id, row.id));
      }
      const [parent] = row.parent
        ? await tx
            .select({ id: m.id })
            .from(m)
            .where(and(eq(m.sourceId, sourceId), eq(m.externalId, row.parent)))
        : [];
      return {
        messageId: row.id,
        appealId: parent?.id ?? row.id,
        incidentId: row.incidentId,
        changed: next !== null,
      };
    });
  }

  return {
    async author(platform, externalId) {
      const [row] = await db
        .select()
        .from(a)
        .where(and(eq(a.platform, platform), eq(a.externalId, externalId)));
      return row;
    },
    async giveConsent(platform, externalId, name) {
      const now = new Date();
      const [row] = await db
        .insert(a)
        .values({ platform, externalId, name, consentPersonalData: true, consentAt: now })
        .onConflictDoUpdate({
          target: [a.platform, a.externalId],
          set: { consentPersonalData: true, consentAt: now, ...(name ? { name } : {}) },
        })
        .returning();
      return row!;
    },
    async withdrawConsent(platform, externalId) {
      await db
        .update(a)
        .set({
          consentPersonalData: false,
          consentAt: null,
          subscribed: false,
          subscriptionTopics: [],
          unsubscribedAt: sql`case when ${a.subscribed} then now() else ${a.unsubscribedAt} end`,
        })
        .where(and(eq(a.platform, platform), eq(a.externalId, externalId)));
    },
    async setSubscription(platform, externalId, sub) {
      const now = new Date();
      await db
        .update(a)
        .set({
          subscribed: sub.subscribed,
          subscriptionTopics: sub.topics,
          municipality: sub.municipality,
          ...(sub.language ? { language: sub.language } : {}),
          ...(sub.subscribed
            ? {
                subscribedAt: now,
                unsubscribedAt: null,
                ...(sub.source && sub.chat
                  ? { subscriptionSource: sub.source, subscriptionChat: sub.chat }
                  : {}),
              }
            : { unsubscribedAt: sql`case when ${a.subscribed} then now() else ${a.unsubscribedAt} end` }),
        })
        .where(and(eq(a.platform, platform), eq(a.externalId, externalId)));
    },
    async clearBlocked(platform, externalId) {
      await db
        .update(a)
        .set({ blocked: false, blockedAt: null })
        .where(and(eq(a.platform, platform), eq(a.externalId, externalId), eq(a.blocked, true)));
    },
    async dialog(sourceId, chatId) {
      const [row] = await db
        .select()
        .from(d)
        .where(and(eq(d.sourceId, sourceId), eq(d.chatId, chatId)));
      return row;
    },
    async setDialog(sourceId, chatId, state, data = {}) {
      await db
        .insert(d)
        .values({ sourceId, chatId, state, data, updatedAt: new Date() })
        .onConflictDoUpdate({ target: [d.sourceId, d.chatId], set: { state, data, updatedAt: new Date() } });
    },
    async clearDialog(sourceId, chatId) {
      await db.delete(d).where(and(eq(d.sourceId, sourceId), eq(d.chatId, chatId)));
    },
    async appeals(platform, authorExternalId, limit) {
      const rows = await database.rows<{
        id: number;
        posted_at: string | Date;
        state: string;
        incident_id: number | null;
        status: string | null;
        agency: string | null;
        first_response_due: string | Date | null;
        resolution_due: string | Date | null;
      }>(sql`
        select m.id, m.posted_at, m.state, i.id as incident_id, i.status, ag.short_name as agency,
               i.first_response_due, i.resolution_due
        from messages m
        join authors au on au.id = m.author_id
        join sources so on so.id = m.source_id
        left join incidents i on i.id = m.incident_id
        left join agencies ag on ag.id = i.agency_id
        where au.platform = ${platform} and au.external_id = ${authorExternalId} and so.channel_kind = 'messenger'
          -- an answer to a question about an appeal belongs to that appeal, not a new one
          and m.parent_external_id is null
        order by m.id desc
        limit ${limit}`);
      const date = (v: string | Date | null) => (v === null ? null : new Date(v));
      return rows.map((r) => ({
        id: Number(r.id),
        postedAt: new Date(r.posted_at),
        state: r.state,
        incidentId: r.incident_id === null ? null : Number(r.incident_id),
        incidentStatus: r.status,
        agency: r.agency,
        firstResponseDue: date(r.first_response_due),
        resolutionDue: date(r.resolution_due),
      }));
    },
    async topMunicipalities(limit) {
      if (topCache && Date.now() - topCache.at < 10 * 60_000) return topCache.codes.slice(0, limit);
      const rows = await database.rows<{ code: string }>(sql`
        select mu.code
        from municipalities mu
        left join (select municipality, count(*) as n from messages
                   where municipality is not null and received_at > now() - interval '90 days'
                   group by municipality) c on c.municipality = mu.code
        order by coalesce(c.n, 0) desc, mu.population desc, mu.code
        limit 20`);
      topCache = { at: Date.now(), codes: rows.map((r) => r.code) };
      return topCache.codes.slice(0, limit);
    },
    async waitingIncident(platform, authorExternalId) {
      const [r] = await database.rows<{
        incident_id: number;
        id: number;
        external_id: string;
        municipality: string | null;
      }>(sql`
        select i.id as incident_id, m.id, m.external_id, i.municipality
        from incidents i
        join messages m on m.incident_id = i.id
        join authors au on au.id = m.author_id
        where i.paused_at is not null and au.platform = ${platform} and au.external_id = ${authorExternalId}
        order by i.paused_at desc, m.id
        limit 1`);
      return r
        ? {
            incidentId: Number(r.incident_id),
            messageId: Number(r.id),
            externalId: r.external_id,
            municipality: r.municipality,
          }
        : undefined;
    },
    async addIncidentEvent(incidentId, type, actor, data = {}) {
      await db.insert(s.incidentEvents).values({ incidentId, type, actor, data });
    },
    async editMessage(sourceId, externalId, edit) {
      return amend(sourceId, externalId, edit.authorId, (row, parts) => {
        const previous = row.text;
        let text = edit.text;
        if (parts) {
          const part = parts.find((p) => p.externalId === externalId);
          if (!part || part.text === edit.text) return null;
          part.text = edit.text;
          text = joinParts(parts);
        }
        if (text === previous) return null;
        const edits = Array.isArray(row.raw.edits) ? (row.raw.edits as unknown[]) : [];
        return {
          text,
          raw: {
            ...row.raw,
            ...(parts ? { parts } : {}),
            edits: [...edits, { at: edit.at.toISOString(), externalId, previousText: previous }],
          },
        };
      });
    },
    async appendToMessage(sourceId, externalId, piece) {
      return amend(sourceId, externalId, undefined, (row, stored) => {
        const parts = stored ?? [{ externalId, text: row.text }];
        if (parts.some((p) => p.externalId === piece.externalId)) return null; // redelivered
        parts.push({ externalId: piece.externalId, text: piece.text });
        return {
          text: joinParts(parts),
          attachments: [...row.attachments, ...piece.attachments],
          raw: { ...row.raw, parts },
        };
      });
    },
    async saveSatisfaction(incidentId, platform, authorExternalId, patch) {
      // The ids come from a button's data, which a modified client can forge: an id out of range, another
      // person's incident, one that does not exist. Only an author of the incident's messages (those the
      // survey went to) rates it; anything else stores nothing.
      if (!Number.isSafeInteger(incidentId) || incidentId < 1) return false;
      const author = await this.author(platform, authorExternalId);
      if (!author) return false;
      const t = s.satisfaction;
      if (patch.score !== undefined) {
        const rows = await database.rows<{ id: number }>(sql`
          insert into satisfaction (incident_id, author_id, score, unresolved)
          select ${incidentId}, ${author.id}, ${patch.score}, ${patch.unresolved ?? false}
          where exists (select 1 from messages where incident_id = ${incidentId} and author_id = ${author.id})
          on conflict (incident_id, author_id) do update set score = excluded.score, created_at = now()
          returning id`);
        return rows.length > 0;
      }
      const rows = await db
        .update(t)
        .set({
          ...(patch.unresolved !== undefined ? { unresolved: patch.unresolved } : {}),
          ...(patch.comment !== undefined ? { comment: patch.comment } : {}),
        })
        .where(and(eq(t.incidentId, incidentId), eq(t.authorId, author.id)))
        .returning({ id: t.id });
      return rows.length > 0;
    },
    async recipients(incidentId) {
      const rows = await database.rows<{
        id: number;
        source_id: string;
        channel_kind: string;
        chat_id: string;
        external_id: string;
        author_id: number | null;
      }>(sql`
        select m.id, m.source_id, so.channel_kind, m.chat_id, m.external_id, m.author_id
        from messages m join sources so on so.id = m.source_id
        where m.incident_id = ${incidentId} and m.chat_id is not null and so.platform in ('telegram', 'vk')
        order by m.id`);
      return rows.map((r) => ({
        messageId: Number(r.id),
        sourceId: r.source_id,
        channelKind: r.channel_kind,
        chatId: r.chat_id,
        externalId: r.external_id,
        authorId: r.author_id === null ? null : Number(r.author_id),
      }));
    },
  };
}
