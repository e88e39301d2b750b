/**
 * Personal data (152-ФЗ) in the store: the retention settings, the retention pass (anonymise what has
 * outlived its period), and a citizen's data on request (find, export, erase).
 *
 * Anonymising never touches what the analytics count by. A message keeps its source, times, sector,
 * sentiment, municipality, address, terms, incident and author link (so the rollup triggers of migration
 * 0006 see no change of a dimension and add no delta); its text becomes a marker and raw payload,
 * attachments, link, chat and platform ids go. An author keeps its row (distinct authors, satisfaction scores
 * and poll votes stay countable) without name, platform id, consent, subscription or municipality — a new
 * message from the same account finds no author and starts with a fresh consent.
 *
 * Every statement works in batches and only on rows not done yet, so a pass is idempotent and two passes at
 * once do no harm. Messages and messages to citizens are walked by age from a cursor (`privacy.state` in
 * settings) kept at the oldest row still to do, so a pass does not re-read years of anonymised rows.
 */
import { sql, type SQL } from 'drizzle-orm';
import { INCIDENT_STATUSES, isOpenStatus } from '../domain/incident-status.ts';
import type { Database } from './db.ts';

export const RETENTION_MARKER = '[удалено по сроку хранения]';
export const ERASED_MARKER = '[удалено по запросу гражданина]';
const MARKERS = [RETENTION_MARKER, ERASED_MARKER];
const OPEN = INCIDENT_STATUSES.filter((s) => isOpenStatus(s));
/** Purposes of outbound rows addressed to citizens (the others are staff cards, reports, channel posts). */
export const CITIZEN_PURPOSES = ['prompt', 'confirmation', 'status', 'reply', 'survey', 'poll'];

export interface PrivacySettings {
  /** Messages, messages to citizens, satisfaction comments, staff cards and alerts quoting them. */
  messageRetentionDays: number;
  /** Unfinished bot conversations (an appeal waiting for its municipality, a subscription menu). */
  dialogRetentionDays: number;
  /** Entries of the audit trail. */
  auditRetentionDays: number;
}

export const DEFAULT_PRIVACY_SETTINGS: PrivacySettings = {
  messageRetentionDays: 1095,
  dialogRetentionDays: 30,
  auditRetentionDays: 1095,
};

export const PRIVACY_LIMITS: Record<keyof PrivacySettings, { minimum: number; maximum: number }> = {
  messageRetentionDays: { minimum: 30, maximum: 3650 },
  dialogRetentionDays: { minimum: 1, maximum: 365 },
  auditRetentionDays: { minimum: 365, maximum: 3650 },
};

export interface RetentionCounts {
  messages: number;
  authors: number;
  outbound: number;
  incidents: number;
  satisfaction: number;
  notifications: number;
  alerts: number;
  pollMessages: number;
  deliveries: number;
  dialogs: number;
  audit: number;
}

export interface CitizenSummary {
  id: number;
  platform: string;
  externalId: string;
  name: string | null;
  consentPersonalData: boolean;
  subscribed: boolean;
  messages: number;
  firstMessageAt: string | null;
  lastMessageAt: string | null;
  createdAt: string;
  anonymizedAt: string | null;
  anonymizedReason: string | null;
}

export interface CitizenExport {
  exportedAt: string;
  profile: {
    id: number;
    platform: string;
    externalId: string;
    name: string | null;
    language: string;
    municipality: string | null;
    blocked: boolean;
    blockedAt: string | null;
    createdAt: string;
    anonymizedAt: string | null;
    anonymizedReason: string | null;
  };
  consents: { personalData: boolean; givenAt: string | null };
  subscriptions: {
    subscribed: boolean;
    topics: string[];
    source: string | null;
    chat: string | null;
    subscribedAt: string | null;
    unsubscribedAt: string | null;
  };
  messages: Record<string, unknown>[];
  replies: Record<string, unknown>[];
  votes: Record<string, unknown>[];
  satisfaction: Record<string, unknown>[];
  dialogs: Record<string, unknown>[];
  campaigns: Record<string, unknown>[];
}

export interface ErasureCounts {
  messages: number;
  replies: number;
  incidents: number;
  dialogs: number;
  satisfaction: number;
  votes: number;
  pollMessages: number;
  deliveries: number;
}

export interface PrivacyStore {
  settings(): Promise<PrivacySettings>;
  saveSettings(s: PrivacySettings): Promise<void>;
  /** One retention pass at `now`, `batch` rows per statement. */
  applyRetention(s: PrivacySettings, now: Date, opts?: { batch?: number }): Promise<RetentionCounts>;
  findCitizens(q: { platform: string; externalId: string } | { authorId: number }): Promise<CitizenSummary[]>;
  exportCitizen(authorId: number): Promise<CitizenExport | undefined>;
  eraseCitizen(authorId: number): Promise<ErasureCounts | undefined>;
}

/** Where the last pass stopped (see the top of the file). */
interface PassState {
  messagesFrom?: string;
  outboundFrom?: string;
  /** The last walk over every author. */
  authorsAt?: string;
}

const iso = (v: unknown): string | null =>
  v === null || v === undefined ? null : new Date(v as string | Date).toISOString();
const num = (v: unknown) => Number(v);
const json = <T>(v: unknown): T => (typeof v === 'string' ? (JSON.parse(v) as T) : (v as T));
/** `summary` of an incident as incident.store.ts makes it from the message that opened it. */
const summarise = (text: string) => {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length <= 160 ? t : `${t.slice(0, 157).replace(/\s+\S*$/, '')}…`;
};
/** A set of ids as one bound parameter (works the same on both drivers). */
const idSet = (ids: readonly number[]) =>
  sql`(select (jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb))::bigint)`;
const textSet = (xs: readonly string[]) =>
  sql`(select jsonb_array_elements_text(${JSON.stringify(xs)}::jsonb))`;

export function createPrivacyStore(database: Database): PrivacyStore {
  const q = <T = Record<string, unknown>>(text: string, params: unknown[] = []) =>
    database.query<T>(text, params);

  async function state(): Promise<PassState> {
    const [r] = await q<{ value: unknown }>(`select value from settings where key = 'privacy.state'`);
    return r ? json(r.value) : {};
  }
  async function saveState(v: PassState) {
    await q(
      `insert into settings (key, value) values ('privacy.state', $1::jsonb)
       on conflict (key) do update set value = excluded.value`,
      [JSON.stringify(v)],
    );
  }

  /** Runs `step` (one batch, returns the rows it changed) until a batch changes fewer than `batch`. */
  async function drain(batch: number, step: () => Promise<number>): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await step();
      total += n;
      if (n < batch) return total;
    }
  }

  return {
    async settings() {
      const [r] = await q<{ value: unknown }>(`select value from settings where key = 'privacy'`);
      return { ...DEFAULT_PRIVACY_SETTINGS, ...(r ? json<Partial<PrivacySettings>>(r.value) : {}) };
    },

    async saveSettings(v) {
      await q(
        `insert into settings (key, value) values ('privacy', $1::jsonb)
         on conflict (key) do update set value = excluded.value`,
        [JSON.stringify(v)],
      );
    },

    async applyRetention(s, now, opts = {}) {
      const batch = opts.batch ?? 500;
      const day = 86_400_000;
      const cutoff = new Date(now.getTime() - s.messageRetentionDays * day).toISOString();
      const st = await state();
      const from = (k: 'messagesFrom' | 'outboundFrom') => st[k] ?? '-infinity';

      // Messages (of incidents no longer open: handlers still read an open one).
      const authorsTouched = new Set<number>();
      const messages = await drain(batch, async () => {
        const rows = await q<{ author_id: unknown }>(
          `with b as (
             select m.id from messages m
             where m.received_at >= $1::timestamptz and m.received_at < $2::timestamptz
               and m.text <> all($3::text[])
               and not exists (select 1 from incidents i where i.id = m.incident_id and i.status = any($4::text[]))
             order by m.received_at
             limit $5
             for update of m skip locked)
           update messages m
              set text = $6, raw = null, attachments = '[]'::jsonb, url = null, chat_id = null,
                  parent_external_id = null, last_error = null,
                  external_id = 'anon:' || m.id || ':' || substr(md5(random()::text), 1, 8)
             from b where m.id = b.id
           returning m.author_id`,
          [from('messagesFrom'), cutoff, MARKERS, OPEN, batch, RETENTION_MARKER],
        );
        for (const r of rows) if (r.author_id !== null) authorsTouched.add(num(r.author_id));
        return rows.length;
      });
      // The cursor: the oldest message still to do (of an open incident, or locked just now), else the cutoff.
      const [mc] = await q<{ at: string }>(
        `select coalesce(min(received_at), $2::timestamptz)::text as at from messages
         where received_at >= $1::timestamptz and received_at < $2::timestamptz and text <> all($3::text[])`,
        [from('messagesFrom'), cutoff, MARKERS],
      );

      // Messages to citizens (bot prompts, confirmations, status changes, official replies, surveys, polls).
      const outbound = await drain(batch, async () => {
        const rows = await q(
          `with b as (
             select id from outbound_messages
             where created_at >= $1::timestamptz and created_at < $2::timestamptz
               and purpose = any($3::text[]) and text <> all($4::text[])
             order by created_at
             limit $5
             for update skip locked)
           update outbound_messages o
              set text = $6, chat_id = 'anon:' || o.id, idempotency_key = 'anon:' || o.id,
                  reply_to_external_id = null, edit_external_id = null, buttons = null, external_id = null,
                  last_error = null, status = case when o.status = 'pending' then 'failed' else o.status end
             from b where o.id = b.id
           returning o.id`,
          [from('outboundFrom'), cutoff, CITIZEN_PURPOSES, MARKERS, batch, RETENTION_MARKER],
        );
        return rows.length;
      });
      const [oc] = await q<{ at: string }>(
        `select coalesce(min(created_at), $2::timestamptz)::text as at from outbound_messages
         where created_at >= $1::timestamptz and created_at < $2::timestamptz
           and purpose = any($3::text[]) and text <> all($4::text[])`,
        [from('outboundFrom'), cutoff, CITIZEN_PURPOSES, MARKERS],
      );

      // Summaries of closed incidents (a copy of the first message), and the staff cards and alerts quoting them.
      const incidents = await drain(batch, async () => {
        const rows = await q(
          `with b as (
             select id, summary from incidents
             where created_at < $1::timestamptz and last_message_at < $1::timestamptz
               and status <> all($2::text[]) and summary <> all($3::text[])
             limit $4
             for update skip locked),
           n as (update notifications x set text = replace(x.text, b.summary, $5)
                   from b where x.incident_id = b.id and length(b.summary) > 0),
           a as (update conflict_alerts x set text = replace(x.text, b.summary, $5)
                   from b where x.incident_id = b.id and length(b.summary) > 0)
           update incidents i set summary = $5 from b where i.id = b.id
           returning i.id`,
          [cutoff, OPEN, MARKERS, batch, RETENTION_MARKER],
        );
        return rows.length;
      });
      // Staff cards and alerts left (no incident, or quoting messages): by their own age.
      const notifications = await drain(batch, async () => {
        const rows = await q(
          `update notifications set text = $2
           where id in (select id from notifications
                        where created_at < $1::timestamptz and status <> 'pending' and text <> $2 limit $3)
           returning id`,
          [cutoff, RETENTION_MARKER, batch],
        );
        return rows.length;
      });
      const alerts = await drain(batch, async () => {
        const rows = await q(
          `update conflict_alerts set text = $2
           where id in (select id from conflict_alerts where created_at < $1::timestamptz and text <> $2 limit $3)
           returning id`,
          [cutoff, RETENTION_MARKER, batch],
        );
        return rows.length;
      });
      const satisfaction = await drain(batch, async () => {
        const rows = await q(
          `update satisfaction set comment = null
           where id in (select id from satisfaction
                        where created_at < $1::timestamptz and comment is not null limit $2)
           returning id`,
          [cutoff, batch],
        );
        return rows.length;
      });
      // The comment's copy in the incident's timeline (the satisfaction_comment event) goes with it.
      await drain(batch, async () => {
        const rows = await q(
          `update incident_events set data = jsonb_set(data, '{comment}', to_jsonb($2::text))
           where id in (select id from incident_events
                        where type = 'satisfaction_comment' and at < $1::timestamptz
                          and data->>'comment' <> $2 limit $3)
           returning id`,
          [cutoff, RETENTION_MARKER, batch],
        );
        return rows.length;
      });
      // Chats that polls and campaigns went to, once the poll or campaign ended before the cutoff.
      const pollMessages = await drain(batch, async () => {
        const rows = await q(
          `update poll_messages set chat_id = 'anon:' || id, external_id = null
           where id in (select pm.id from poll_messages pm join polls p on p.id = pm.poll_id
                        where coalesce(p.closed_at, p.closes_at) < $1::timestamptz
                          and p.status in ('closed', 'cancelled') and pm.chat_id not like 'anon:%'
                        limit $2)
           returning id`,
          [cutoff, batch],
        );
        return rows.length;
      });
      const deliveries = await drain(batch, async () => {
        const rows = await q(
          `update campaign_deliveries set chat_id = 'anon:' || id, external_id = null, error = null
           where id in (select d.id from campaign_deliveries d join campaigns c on c.id = d.campaign_id
                        where coalesce(c.finished_at, c.updated_at) < $1::timestamptz
                          and c.status in ('done', 'cancelled') and d.chat_id not like 'anon:%'
                        limit $2)
           returning id`,
          [cutoff, batch],
        );
        return rows.length;
      });

      // Authors with nothing left to process: every message anonymised, no recent consent, subscription,
      // vote or score. Subscribers stay (news are a purpose of their own, with its own consent). Those whose
      // messages this pass anonymised are looked at now; every author once a day (walked by id).
      const fullAuthors = !st.authorsAt || now.getTime() - new Date(st.authorsAt).getTime() >= day;
      let authors = 0;
      const touched = [...authorsTouched];
      for (let after = 0, i = 0; ;) {
        const ids = fullAuthors ? null : touched.slice(i, (i += batch));
        if (ids && !ids.length) break;
        const [r] = await q<{ last: unknown; seen: unknown; changed: unknown }>(
          `with c as (
             select x.id from authors x
             where x.anonymized_at is null and not x.subscribed
               and ($4::bigint[] is null and x.id > $5 or x.id = any($4::bigint[]))
             order by x.id limit $3),
           e as (
             select x.id from authors x join c using (id)
             where greatest(x.created_at, x.consent_at, x.subscribed_at, x.unsubscribed_at, x.blocked_at) < $1::timestamptz
               and not exists (select 1 from messages m where m.author_id = x.id and m.text <> all($2::text[]))
               and not exists (select 1 from poll_votes v where v.author_id = x.id and v.voted_at >= $1::timestamptz)
               and not exists (select 1 from satisfaction s where s.author_id = x.id and s.created_at >= $1::timestamptz)),
           u as (
             update authors a
                set name = null, external_id = 'anon:' || gen_random_uuid(), consent_personal_data = false,
                    subscription_topics = '[]'::jsonb, municipality = null, subscription_source = null,
                    subscription_chat = null, blocked = false, anonymized_at = now(), anonymized_reason = 'retention'
               from e where a.id = e.id
             returning a.id)
           select (select max(id) from c) as last, (select count(*) from c) as seen, (select count(*) from u) as changed`,
          [cutoff, MARKERS, batch, ids, after],
        );
        authors += num(r?.changed ?? 0);
        if (!ids) {
          if (num(r?.seen ?? 0) < batch) break;
          after = num(r!.last);
        }
      }

      await saveState({
        messagesFrom: mc!.at,
        outboundFrom: oc!.at,
        authorsAt: fullAuthors ? now.toISOString() : st.authorsAt,
      });

      const dialogCutoff = new Date(now.getTime() - s.dialogRetentionDays * day).toISOString();
      const dialogs = await drain(batch, async () => {
        const rows = await q(
          `delete from bot_dialogs
           where (source_id, chat_id) in (select source_id, chat_id from bot_dialogs
                                          where updated_at < $1::timestamptz limit $2)
           returning chat_id`,
          [dialogCutoff, batch],
        );
        return rows.length;
      });
      const auditCutoff = new Date(now.getTime() - s.auditRetentionDays * day).toISOString();
      const audit = await drain(batch, async () => {
        const rows = await q(
          `delete from audit_log where id in (select id from audit_log where at < $1::timestamptz limit $2)
           returning id`,
          [auditCutoff, batch],
        );
        return rows.length;
      });

      return {
        messages,
        authors,
        outbound,
        incidents,
        satisfaction,
        notifications,
        alerts,
        pollMessages,
        deliveries,
        dialogs,
        audit,
      };
    },

    async findCitizens(f) {
      const where =
        'authorId' in f ? `a.id = $1` : `a.platform = $1 and a.external_id = $2 and a.anonymized_at is null`;
      const rows = await q<Record<string, unknown>>(
        `select a.*, (select count(*) from messages m where m.author_id = a.id) as messages,
                (select min(received_at) from messages m where m.author_id = a.id) as first_at,
                (select max(received_at) from messages m where m.author_id = a.id) as last_at
         from authors a where ${where} order by a.id`,
        'authorId' in f ? [f.authorId] : [f.platform, f.externalId],
      );
      return rows.map((r) => ({
        id: num(r.id),
        platform: r.platform as string,
        externalId: r.external_id as string,
        name: r.name as string | null,
        consentPersonalData: r.consent_personal_data as boolean,
        subscribed: r.subscribed as boolean,
        messages: num(r.messages),
        firstMessageAt: iso(r.first_at),
        lastMessageAt: iso(r.last_at),
        createdAt: iso(r.created_at)!,
        anonymizedAt: iso(r.anonymized_at),
        anonymizedReason: r.anonymized_reason as string | null,
      }));
    },

    async exportCitizen(authorId) {
      const [a] = await q<Record<string, unknown>>(`select * from authors where id = $1`, [authorId]);
      if (!a) return undefined;
      const messages = await q<Record<string, unknown>>(
        `select m.id, m.source_id, m.external_id, m.text, m.posted_at, m.received_at, m.url, m.parent_external_id,
                m.chat_id, m.attachments, m.raw, m.declared_municipality, m.sector, m.sentiment, m.municipality,
                m.address, m.incident_id, i.status as incident_status
         from messages m left join incidents i on i.id = m.incident_id
         where m.author_id = $1 order by m.id`,
        [authorId],
      );
      const replies = await q<Record<string, unknown>>(
        `select id, source_id, chat_id, purpose, text, status, incident_id, message_id, created_at, sent_at
         from outbound_messages o
         where o.message_id in (select id from messages where author_id = $1)
            or (o.source_id, o.chat_id) in (${CHATS_SQL})
         order by o.id`,
        [authorId],
      );
      const votes = await q<Record<string, unknown>>(
        `select v.poll_id, p.question, v.option, p.options ->> v.option as option_text, v.municipality, v.voted_at
         from poll_votes v join polls p on p.id = v.poll_id where v.author_id = $1 order by v.voted_at`,
        [authorId],
      );
      const satisfaction = await q<Record<string, unknown>>(
        `select incident_id, score, unresolved, comment, created_at from satisfaction where author_id = $1 order by id`,
        [authorId],
      );
      const dialogs = await q<Record<string, unknown>>(
        `select source_id, chat_id, state, data, updated_at from bot_dialogs
         where (source_id, chat_id) in (${CHATS_SQL}) order by updated_at`,
        [authorId],
      );
      const campaigns = await q<Record<string, unknown>>(
        `select d.campaign_id, c.title, d.source_id, d.chat_id, d.status, d.sent_at, d.clicks, d.clicked_at
         from campaign_deliveries d join campaigns c on c.id = d.campaign_id where d.author_id = $1 order by d.id`,
        [authorId],
      );
      return {
        exportedAt: new Date().toISOString(),
        profile: {
          id: num(a.id),
          platform: a.platform as string,
          externalId: a.external_id as string,
          name: a.name as string | null,
          language: a.language as string,
          municipality: a.municipality as string | null,
          blocked: a.blocked as boolean,
          blockedAt: iso(a.blocked_at),
          createdAt: iso(a.created_at)!,
          anonymizedAt: iso(a.anonymized_at),
          anonymizedReason: a.anonymized_reason as string | null,
        },
        consents: { personalData: a.consent_personal_data as boolean, givenAt: iso(a.consent_at) },
        subscriptions: {
          subscribed: a.subscribed as boolean,
          topics: json<string[]>(a.subscription_topics) ?? [],
          source: a.subscription_source as string | null,
          chat: a.subscription_chat as string | null,
          subscribedAt: iso(a.subscribed_at),
          unsubscribedAt: iso(a.unsubscribed_at),
        },
        messages: messages.map((m) => ({
          id: num(m.id),
          source: m.source_id,
          externalId: m.external_id,
          text: m.text,
          postedAt: iso(m.posted_at),
          receivedAt: iso(m.received_at),
          url: m.url,
          parentExternalId: m.parent_external_id,
          chatId: m.chat_id,
          attachments: json(m.attachments) ?? [],
          raw: json(m.raw) ?? null,
          declaredMunicipality: m.declared_municipality,
          sector: m.sector,
          sentiment: m.sentiment,
          municipality: m.municipality,
          address: m.address,
          incidentId: m.incident_id === null ? null : num(m.incident_id),
          incidentStatus: m.incident_status,
        })),
        replies: replies.map((r) => ({
          id: num(r.id),
          source: r.source_id,
          chatId: r.chat_id,
          purpose: r.purpose,
          text: r.text,
          status: r.status,
          incidentId: r.incident_id === null ? null : num(r.incident_id),
          messageId: r.message_id === null ? null : num(r.message_id),
          createdAt: iso(r.created_at),
          sentAt: iso(r.sent_at),
        })),
        votes: votes.map((v) => ({
          pollId: num(v.poll_id),
          question: v.question,
          option: num(v.option),
          optionText: v.option_text,
          municipality: v.municipality,
          votedAt: iso(v.voted_at),
        })),
        satisfaction: satisfaction.map((x) => ({
          incidentId: num(x.incident_id),
          score: num(x.score),
          unresolved: x.unresolved,
          comment: x.comment,
          createdAt: iso(x.created_at),
        })),
        dialogs: dialogs.map((d) => ({
          source: d.source_id,
          chatId: d.chat_id,
          state: d.state,
          data: json(d.data) ?? {},
          updatedAt: iso(d.updated_at),
        })),
        campaigns: campaigns.map((c) => ({
          campaignId: num(c.campaign_id),
          title: c.title,
          source: c.source_id,
          chatId: c.chat_id,
          status: c.status,
          sentAt: iso(c.sent_at),
          clicks: num(c.clicks),
          clickedAt: iso(c.clicked_at),
        })),
      };
    },

    async eraseCitizen(authorId) {
      return database.db.transaction(async (tx) => {
        const rows = async <T>(query: SQL) => ((await tx.execute(query)) as unknown as { rows: T[] }).rows;
        const [a] = await rows<{ id: unknown }>(
          sql`select id from authors where id = ${authorId} for update`,
        );
        if (!a) return undefined;
        const chats = sql.raw(CHATS_SQL.replaceAll('$1', String(Math.trunc(authorId))));

        // The incidents whose summary is a copy of one of this citizen's messages (or that one of them opened).
        const msgs = await rows<{ id: unknown; text: string; incident_id: unknown }>(
          sql`select id, text, incident_id from messages where author_id = ${authorId} and text <> all(array${textSet(MARKERS)})`,
        );
        const incidentIds = [
          ...new Set(msgs.filter((m) => m.incident_id !== null).map((m) => num(m.incident_id))),
        ];
        const copies = [...new Set(msgs.map((m) => summarise(m.text)))];
        let incidents = 0;
        if (incidentIds.length) {
          const own = await rows<{ id: unknown; summary: string }>(
            sql`select i.id, i.summary from incidents i
                where i.id in ${idSet(incidentIds)} and i.summary <> all(array${textSet(MARKERS)})
                  and (i.summary in ${textSet(copies)}
                       or (select m.author_id from messages m where m.incident_id = i.id order by m.id limit 1) = ${authorId})
                for update`,
          );
          for (const i of own) {
            const marker = ERASED_MARKER;
            await tx.execute(
              sql`update notifications set text = replace(text, ${i.summary}, ${marker})
                  where incident_id = ${num(i.id)} and length(${i.summary}) > 0`,
            );
            await tx.execute(
              sql`update conflict_alerts set text = replace(text, ${i.summary}, ${marker})
                  where incident_id = ${num(i.id)} and length(${i.summary}) > 0`,
            );
            await tx.execute(sql`update incidents set summary = ${marker} where id = ${num(i.id)}`);
          }
          incidents = own.length;
        }

        // Messages to them: replies to their messages (in a thread too) and everything sent to their chats.
        const replies = await rows(
          sql`update outbound_messages o
                 set text = ${ERASED_MARKER}, chat_id = 'anon:' || o.id, idempotency_key = 'anon:' || o.id,
                     reply_to_external_id = null, edit_external_id = null, buttons = null, external_id = null,
                     last_error = null, status = case when o.status = 'pending' then 'failed' else o.status end
               where (o.message_id in (select id from messages where author_id = ${authorId})
                      or (o.source_id, o.chat_id) in (${chats}))
                 and o.text <> all(array${textSet(MARKERS)})
               returning o.id`,
        );
        const dialogs = await rows(
          sql`delete from bot_dialogs where (source_id, chat_id) in (${chats}) returning chat_id`,
        );
        const messages = await rows(
          sql`update messages m
                 set text = ${ERASED_MARKER}, raw = null, attachments = '[]'::jsonb, url = null, chat_id = null,
                     parent_external_id = null, last_error = null,
                     external_id = 'anon:' || m.id || ':' || substr(md5(random()::text), 1, 8)
               where m.author_id = ${authorId} and m.text <> ${ERASED_MARKER}
               returning m.id`,
        );
        const satisfaction = await rows(
          sql`update satisfaction set comment = null where author_id = ${authorId} and comment is not null returning id`,
        );
        // Their comments' copies in incident timelines (satisfaction_comment events carry the author).
        await tx.execute(
          sql`update incident_events set data = jsonb_set(data, '{comment}', to_jsonb(${ERASED_MARKER}::text))
               where type = 'satisfaction_comment' and data->>'authorId' = ${String(authorId)}`,
        );
        const pollMessages = await rows(
          sql`update poll_messages set chat_id = 'anon:' || id, external_id = null
               where author_id = ${authorId} and chat_id not like 'anon:%' returning id`,
        );
        const deliveries = await rows(
          sql`update campaign_deliveries
                 set chat_id = 'anon:' || id, external_id = null, error = null,
                     status = case when status in ('pending', 'sending') then 'skipped' else status end
               where author_id = ${authorId} and chat_id not like 'anon:%' returning id`,
        );
        const [votes] = await rows<{ n: unknown }>(
          sql`select count(*) as n from poll_votes where author_id = ${authorId}`,
        );
        // Updates of theirs a long poll set aside (kept whole in the audit trail for the administrators).
        await tx.execute(
          sql`update audit_log set after = after - 'payload' || jsonb_build_object('payload', ${ERASED_MARKER}::text)
               where action = 'connector.update_set_aside'
                 and after->>'author' = (select platform || ':' || external_id from authors where id = ${authorId})`,
        );
        await tx.execute(
          sql`update authors
                 set name = null, external_id = 'anon:' || gen_random_uuid(), consent_personal_data = false,
                     subscribed = false, subscription_topics = '[]'::jsonb, municipality = null,
                     subscription_source = null, subscription_chat = null, blocked = false,
                     unsubscribed_at = case when subscribed then now() else unsubscribed_at end,
                     anonymized_at = now(), anonymized_reason = 'request'
               where id = ${authorId}`,
        );
        return {
          messages: messages.length,
          replies: replies.length,
          incidents,
          dialogs: dialogs.length,
          satisfaction: satisfaction.length,
          // Votes stay (poll results), tied to the anonymised author only.
          votes: num(votes?.n ?? 0),
          pollMessages: pollMessages.length,
          deliveries: deliveries.length,
        };
      });
    },
  };
}

/** Names of the citizens who wrote in each incident, to mask them in summaries and quotes. */
export async function incidentAuthorNames(
  database: Database,
  incidentIds: readonly number[],
): Promise<Map<number, string[]>> {
  const ids = [...new Set(incidentIds)].filter((id) => Number.isSafeInteger(id));
  if (!ids.length) return new Map();
  const rows = await database.query<{ incident_id: unknown; names: string[] | string }>(
    `select m.incident_id, array_agg(distinct a.name) as names
     from messages m join authors a on a.id = m.author_id
     where m.incident_id = any($1::bigint[]) and a.name is not null
     group by m.incident_id`,
    [ids],
  );
  return new Map(rows.map((r) => [num(r.incident_id), Array.isArray(r.names) ? r.names : []]));
}

/**
 * The citizen's own chats with the bots (`$1` = author id): private chats, whose id is the account's id on
 * Telegram and VK, of every bot of the platform they wrote to, and the chat their subscription goes to.
 */
const CHATS_SQL = `
  select m.source_id, m.chat_id from messages m join authors a on a.id = m.author_id
  where a.id = $1 and m.chat_id = a.external_id
  union select so.id, a.external_id from authors a join sources so on so.platform = a.platform where a.id = $1
  union select a.subscription_source, a.subscription_chat from authors a
  where a.id = $1 and a.subscription_source is not null and a.subscription_chat is not null`;
