/**
 * Polls and public discussions (tables of migrations 0009/0010): drafts and their states, the audience of a
 * poll (subscribers selected by a segment), its per-chat messages written to the outbox in bulk (idempotent
 * by key), one vote per citizen (primary key poll × author), results by option and municipality; the
 * messages of a discussion's thread, found by walking up their parents to the published post.
 */
import { audienceWhere } from './outreach.store.ts';
import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Database } from './db.ts';
import * as o from './outreach.schema.ts';
import type { SegmentRules } from './outreach.schema.ts';
import type { Button } from '../domain/types.ts';
import type { PollRef } from './schema.ts';

export type PollRow = typeof o.polls.$inferSelect;
export type PollInsert = typeof o.polls.$inferInsert;
export type DiscussionRow = typeof o.discussions.$inferSelect;
export type DiscussionInsert = typeof o.discussions.$inferInsert;

export const POLL_STATUSES = ['draft', 'pending_approval', 'open', 'closed', 'cancelled'] as const;
export type PollStatus = (typeof POLL_STATUSES)[number];
export const POLL_CHANNELS = ['telegram', 'vk', 'all'] as const;
export type PollChannel = (typeof POLL_CHANNELS)[number];
export const POLL_MODES = ['buttons', 'native'] as const;
export type PollMode = (typeof POLL_MODES)[number];
export const DISCUSSION_STATUSES = ['draft', 'open', 'closed'] as const;

/** Idempotency keys of the outbox rows of polls and discussions (parsed back when a row was sent). */
export const pollMessageKey = (pollId: number, pollMessageId: number) => `poll:${pollId}:${pollMessageId}`;
export const pollCloseKey = (pollId: number, pollMessageId: number) =>
  `poll-close:${pollId}:${pollMessageId}`;
export const discussionPostKey = (discussionId: number) => `discussion:${discussionId}`;

export interface PollListItem extends PollRow {
  recipients: number;
  votes: number;
}

export interface DeliveryCounts {
  recipients: number;
  sent: number;
  failed: number;
  pending: number;
  /** Not sent: the citizen unsubscribed, withdrew consent or blocked the bot before their turn. */
  skipped: number;
}

export type VoteOutcome =
  | { kind: 'counted'; option: number }
  | { kind: 'duplicate'; option: number }
  | { kind: 'closed' }
  | { kind: 'unknown' };

export interface DiscussionComment {
  id: number;
  externalId: string;
  text: string;
  postedAt: Date;
  url: string | null;
  authorName: string | null;
  state: string;
  sector: string | null;
  sentiment: string | null;
  municipality: string | null;
  terms: string[];
  incidentId: number | null;
  /** The comment also became an appeal (negative and naming an address). */
  routed: boolean;
}

/** What the outbox rows of a poll carry: the same text, buttons and native-poll spec for every chat. */
export interface PollOutboxContent {
  text: string;
  /** The vote buttons and «Отписаться». */
  buttons: Button[][];
  /**
   * Set for native polls: Telegram chats get it instead of the vote buttons (VK always gets buttons), with
   * `nativeButtons` (only «Отписаться») under it.
   */
  native?: PollRef;
  nativeButtons?: Button[][];
}

export interface ParticipationStore {
  createPoll(row: PollInsert): Promise<PollRow>;
  poll(id: number): Promise<PollRow | undefined>;
  listPolls(f: { status?: string[]; limit: number; offset: number }): Promise<{
    total: number;
    items: PollListItem[];
  }>;
  /** Changes a poll only while it is in one of `from` (a concurrent change loses); the new row. */
  updatePoll(id: number, from: readonly string[], patch: Partial<PollInsert>): Promise<PollRow | undefined>;
  segmentRules(id: number): Promise<SegmentRules | undefined>;
  /** Subscribers a poll would reach now (consenting, subscribed, not blocked, with a chat to write to). */
  audienceCount(rules: SegmentRules | null, channel: PollChannel): Promise<number>;
  /** Writes one poll_messages row per chat of the audience (idempotent); the number of rows of the poll. */
  addPollRecipients(pollId: number, rules: SegmentRules | null, channel: PollChannel): Promise<number>;
  /**
   * Outbox rows for the poll's chats that have none yet (`poll:<poll>:<row>`); ids of the new rows. A chat
   * whose citizen unsubscribed, withdrew consent or blocked the bot since the audience was chosen gets none
   * (its poll_messages row becomes `skipped`).
   */
  queuePollMessages(pollId: number, content: PollOutboxContent): Promise<number[]>;
  /**
   * Edits of the sent poll messages at closing (`poll-close:…`: results text with `buttons`, or stopPoll);
   * new row ids.
   */
  queueCloseEdits(
    pollId: number,
    content: { text: string; buttons?: Button[][]; native?: PollRef },
  ): Promise<number[]>;
  /** Poll messages not sent yet are not sent any more (the poll closed first). */
  cancelPendingSends(pollId: number): Promise<number>;
  markPollMessageSent(pollMessageId: number, externalId: string, platformPollId?: string): Promise<void>;
  pollMessageByPlatformPoll(
    platformPollId: string,
  ): Promise<{ pollId: number; sourceId: string; chatId: string } | undefined>;
  /** One vote per citizen, only while the poll is open and before its closing time. */
  vote(pollId: number, authorId: number, option: number, municipality: string | null): Promise<VoteOutcome>;
  /** The option the citizen voted for, if they did. */
  voteOf(pollId: number, authorId: number): Promise<number | undefined>;
  votesBy(pollId: number): Promise<{ option: number; municipality: string | null; n: number }[]>;
  delivery(pollId: number): Promise<DeliveryCounts>;
  /** Open polls whose closing time has come. */
  duePolls(now: Date): Promise<number[]>;
  /** Polls approved or closed since `since` (their outbox work is re-checked by the tick). */
  recentPolls(since: Date): Promise<PollRow[]>;

  createDiscussion(row: DiscussionInsert): Promise<DiscussionRow>;
  discussion(id: number): Promise<DiscussionRow | undefined>;
  listDiscussions(f: { status?: string[]; limit: number; offset: number }): Promise<{
    total: number;
    items: (DiscussionRow & { comments: number })[];
  }>;
  updateDiscussion(
    id: number,
    from: readonly string[],
    patch: Partial<DiscussionInsert>,
  ): Promise<DiscussionRow | undefined>;
  /** Records the published post's platform id (the outbox row of the post was sent). */
  setDiscussionPost(id: number, postExternalId: string): Promise<void>;
  /**
   * Links analysed messages of a batch to the open discussion whose post heads their thread; those not
   * to be routed as appeals (`shouldRoute` false) are marked routed without an incident. Returns their ids.
   */
  divertDiscussionMessages(
    ids: readonly number[],
    shouldRoute: (m: { root: boolean; sentiment: string | null; address: string | null }) => boolean,
  ): Promise<number[]>;
  discussionComments(discussionId: number, postExternalId: string | null): Promise<DiscussionComment[]>;
  /** Bots and communities a discussion can be published through. */
  targets(): Promise<{ id: string; platform: string; name: string }[]>;
}

const num = (v: unknown) => Number(v);
const toDate = (v: unknown) => (v instanceof Date ? v : new Date(String(v)));

/**
 * A poll's audience: the campaigns' audience whose bot or community is registered (poll messages go through
 * the outbox, which refers to the source).
 */
function pollAudience(rules: SegmentRules | null, channel: PollChannel, start: number) {
  const a = audienceWhere(rules ?? {}, channel, start);
  return {
    ...a,
    where: `${a.where} and exists (select 1 from sources so where so.id = a.subscription_source)`,
  };
}

export function createParticipationStore(database: Database): ParticipationStore {
  const { db } = database;
  const q = database.query.bind(database);

  async function outboxInsert(sqlText: string, params: unknown[]): Promise<number[]> {
    const rows = await q<{ id: unknown }>(sqlText, params);
    return rows.map((r) => num(r.id));
  }

  return {
    async createPoll(row) {
      const [r] = await db.insert(o.polls).values(row).returning();
      return r!;
    },
    async poll(id) {
      const [r] = await db.select().from(o.polls).where(eq(o.polls.id, id));
      return r;
    },
    async listPolls(f) {
      const where = f.status?.length ? inArray(o.polls.status, f.status) : undefined;
      const [rows, [count]] = await Promise.all([
        db.select().from(o.polls).where(where).orderBy(desc(o.polls.id)).limit(f.limit).offset(f.offset),
        db
          .select({ n: sql<number>`count(*)`.mapWith(Number) })
          .from(o.polls)
          .where(where),
      ]);
      const ids = rows.map((r) => r.id);
      const counts = ids.length
        ? await q<{ id: unknown; recipients: unknown; votes: unknown }>(
            `select p.id,
                    (select count(*) from poll_messages pm where pm.poll_id = p.id) as recipients,
                    (select count(*) from poll_votes v where v.poll_id = p.id) as votes
             from polls p where p.id = any($1::bigint[])`,
            [ids],
          )
        : [];
      const byId = new Map(counts.map((c) => [num(c.id), c]));
      return {
        total: count?.n ?? 0,
        items: rows.map((r) => ({
          ...r,
          recipients: num(byId.get(r.id)?.recipients ?? 0),
          votes: num(byId.get(r.id)?.votes ?? 0),
        })),
      };
    },
    async updatePoll(id, from, patch) {
      const [r] = await db
        .update(o.polls)
        .set({ ...patch, updatedAt: new Date() })
        .where(and(eq(o.polls.id, id), inArray(o.polls.status, [...from])))
        .returning();
      return r;
    },
    async segmentRules(id) {
      const [r] = await db.select({ rules: o.segments.rules }).from(o.segments).where(eq(o.segments.id, id));
      return r?.rules;
    },
    async audienceCount(rules, channel) {
      const a = pollAudience(rules, channel, 1);
      const [r] = await q<{ n: unknown }>(`select count(*) as n from authors a where ${a.where}`, a.params);
      return num(r?.n ?? 0);
    },
    async addPollRecipients(pollId, rules, channel) {
      const a = pollAudience(rules, channel, 2);
      await q(
        `insert into poll_messages (poll_id, author_id, source_id, chat_id)
         select $1, a.id, a.subscription_source, a.subscription_chat from authors a where ${a.where}
         on conflict (poll_id, source_id, chat_id) do nothing`,
        [pollId, ...a.params],
      );
      const [r] = await q<{ n: unknown }>(`select count(*) as n from poll_messages where poll_id = $1`, [
        pollId,
      ]);
      return num(r?.n ?? 0);
    },
    async queuePollMessages(pollId, c) {
      // Who left since the audience was chosen gets nothing (later, the trigger of migration 0014 skips
      // their rows still waiting in the outbox).
      await q(
        `update poll_messages pm set status = 'skipped',
           error = case when a.blocked then 'получатель заблокировал бота до отправки'
                        else 'получатель отписался до отправки' end
         from authors a
         where pm.poll_id = $1 and pm.status = 'pending' and a.id = pm.author_id
           and not (a.subscribed and a.consent_personal_data and not a.blocked)`,
        [pollId],
      );
      // Telegram chats of a native poll get the poll itself (the row's text is its question) with
      // «Отписаться» under it; every other chat gets the text with the vote buttons and «Отписаться».
      return outboxInsert(
        `insert into outbound_messages (idempotency_key, source_id, chat_id, text, buttons, attachment, purpose)
         select 'poll:' || pm.poll_id || ':' || pm.id, pm.source_id, pm.chat_id,
                case when $4::jsonb is not null and pm.source_id like 'telegram:%' then $4::jsonb ->> 'question'
                     else $2 end,
                case when $4::jsonb is not null and pm.source_id like 'telegram:%' then $5::jsonb
                     else $3::jsonb end,
                case when pm.source_id like 'telegram:%' then $4::jsonb else null end,
                'poll'
         from poll_messages pm
         where pm.poll_id = $1 and pm.status = 'pending'
         order by pm.id
         on conflict (idempotency_key) do nothing
         returning id`,
        [
          pollId,
          c.text,
          JSON.stringify(c.buttons),
          c.native ? JSON.stringify(c.native) : null,
          c.nativeButtons ? JSON.stringify(c.nativeButtons) : null,
        ],
      );
    },
    queueCloseEdits(pollId, c) {
      // A stopped native poll keeps its message as it is; an edited button message gets `buttons`.
      return outboxInsert(
        `insert into outbound_messages (idempotency_key, source_id, chat_id, text, buttons, attachment,
                                        edit_external_id, purpose)
         select 'poll-close:' || pm.poll_id || ':' || pm.id, pm.source_id, pm.chat_id, $2,
                case when pm.platform_poll_id is not null then null else $4::jsonb end,
                case when pm.platform_poll_id is not null then $3::jsonb else null end,
                pm.external_id, 'poll'
         from poll_messages pm
         where pm.poll_id = $1 and pm.status = 'sent' and pm.external_id is not null
         order by pm.id
         on conflict (idempotency_key) do nothing
         returning id`,
        [
          pollId,
          c.text,
          c.native ? JSON.stringify(c.native) : null,
          c.buttons ? JSON.stringify(c.buttons) : null,
        ],
      );
    },
    async cancelPendingSends(pollId) {
      const rows = await q<{ id: unknown }>(
        `update outbound_messages o set status = 'failed', last_error = 'опрос закрыт до отправки'
         from poll_messages pm
         where pm.poll_id = $1 and o.idempotency_key = 'poll:' || pm.poll_id || ':' || pm.id
           and o.status = 'pending'
         returning o.id`,
        [pollId],
      );
      await q(`update poll_messages set status = 'cancelled' where poll_id = $1 and status = 'pending'`, [
        pollId,
      ]);
      return rows.length;
    },
    async markPollMessageSent(id, externalId, platformPollId) {
      await db
        .update(o.pollMessages)
        .set({ status: 'sent', externalId, platformPollId: platformPollId ?? null, sentAt: new Date() })
        .where(eq(o.pollMessages.id, id));
    },
    async pollMessageByPlatformPoll(platformPollId) {
      const [r] = await db
        .select({
          pollId: o.pollMessages.pollId,
          sourceId: o.pollMessages.sourceId,
          chatId: o.pollMessages.chatId,
        })
        .from(o.pollMessages)
        .where(eq(o.pollMessages.platformPollId, platformPollId))
        .limit(1);
      return r;
    },
    async vote(pollId, authorId, option, municipality) {
      // The insert itself checks that the poll is open: a vote never slips in after the closing time.
      const ins = await q<{ option: unknown }>(
        `insert into poll_votes (poll_id, author_id, option, municipality)
         select $1, $2, $3, $4
         where exists (select 1 from polls p where p.id = $1 and p.status = 'open' and p.closes_at > now())
         on conflict (poll_id, author_id) do nothing
         returning option`,
        [pollId, authorId, option, municipality],
      );
      if (ins[0]) return { kind: 'counted', option: num(ins[0].option) };
      const [had] = await q<{ option: unknown }>(
        `select option from poll_votes where poll_id = $1 and author_id = $2`,
        [pollId, authorId],
      );
      if (had) return { kind: 'duplicate', option: num(had.option) };
      const [p] = await q<{ status: string }>(`select status from polls where id = $1`, [pollId]);
      return p && p.status !== 'draft' && p.status !== 'pending_approval'
        ? { kind: 'closed' }
        : { kind: 'unknown' };
    },
    async voteOf(pollId, authorId) {
      const [had] = await q<{ option: unknown }>(
        `select option from poll_votes where poll_id = $1 and author_id = $2`,
        [pollId, authorId],
      );
      return had ? num(had.option) : undefined;
    },
    async votesBy(pollId) {
      const rows = await q<{ option: unknown; municipality: string | null; n: unknown }>(
        `select option, municipality, count(*) as n from poll_votes where poll_id = $1
         group by option, municipality order by option, municipality`,
        [pollId],
      );
      return rows.map((r) => ({ option: num(r.option), municipality: r.municipality, n: num(r.n) }));
    },
    async delivery(pollId) {
      const [r] = await q<{
        recipients: unknown;
        sent: unknown;
        failed: unknown;
        pending: unknown;
        skipped: unknown;
      }>(
        `select count(*) as recipients,
                count(*) filter (where o.status = 'sent') as sent,
                count(*) filter (where o.status = 'failed') as failed,
                count(*) filter (where o.status in ('pending', 'sending')
                                    or (o.id is null and pm.status = 'pending')) as pending,
                count(*) filter (where coalesce(o.status, pm.status) = 'skipped') as skipped
         from poll_messages pm
         left join outbound_messages o on o.idempotency_key = 'poll:' || pm.poll_id || ':' || pm.id
         where pm.poll_id = $1`,
        [pollId],
      );
      return {
        recipients: num(r?.recipients ?? 0),
        sent: num(r?.sent ?? 0),
        failed: num(r?.failed ?? 0),
        pending: num(r?.pending ?? 0),
        skipped: num(r?.skipped ?? 0),
      };
    },
    async duePolls(now) {
      const rows = await q<{ id: unknown }>(
        `select id from polls where status = 'open' and closes_at <= $1 order by id`,
        [now],
      );
      return rows.map((r) => num(r.id));
    },
    async recentPolls(since) {
      const at = since.toISOString();
      return db
        .select()
        .from(o.polls)
        .where(
          sql`(${o.polls.status} = 'open' and ${o.polls.approvedAt} >= ${at}::timestamptz)
              or (${o.polls.status} = 'closed' and ${o.polls.closedAt} >= ${at}::timestamptz)`,
        )
        .orderBy(o.polls.id);
    },

    async createDiscussion(row) {
      const [r] = await db.insert(o.discussions).values(row).returning();
      return r!;
    },
    async discussion(id) {
      const [r] = await db.select().from(o.discussions).where(eq(o.discussions.id, id));
      return r;
    },
    async listDiscussions(f) {
      const where = f.status?.length ? inArray(o.discussions.status, f.status) : undefined;
      const [rows, [count]] = await Promise.all([
        db
          .select()
          .from(o.discussions)
          .where(where)
          .orderBy(desc(o.discussions.id))
          .limit(f.limit)
          .offset(f.offset),
        db
          .select({ n: sql<number>`count(*)`.mapWith(Number) })
          .from(o.discussions)
          .where(where),
      ]);
      const ids = rows.map((r) => r.id);
      const counts = ids.length
        ? await q<{ discussion_id: unknown; n: unknown }>(
            `select dm.discussion_id, count(*) as n
             from discussion_messages dm
             join discussions d on d.id = dm.discussion_id
             join messages m on m.id = dm.message_id
             where dm.discussion_id = any($1::bigint[]) and m.external_id is distinct from d.post_external_id
             group by dm.discussion_id`,
            [ids],
          )
        : [];
      const byId = new Map(counts.map((c) => [num(c.discussion_id), num(c.n)]));
      return {
        total: count?.n ?? 0,
        items: rows.map((r) => ({ ...r, comments: byId.get(r.id) ?? 0 })),
      };
    },
    async updateDiscussion(id, from, patch) {
      const [r] = await db
        .update(o.discussions)
        .set({ ...patch, updatedAt: new Date() })
        .where(and(eq(o.discussions.id, id), inArray(o.discussions.status, [...from])))
        .returning();
      return r;
    },
    async setDiscussionPost(id, postExternalId) {
      await db
        .update(o.discussions)
        .set({ postExternalId, updatedAt: new Date() })
        .where(eq(o.discussions.id, id));
    },
    async divertDiscussionMessages(ids, shouldRoute) {
      if (!ids.length) return [];
      const open = await q<{ id: unknown; source_id: string; post_external_id: string }>(
        `select id, source_id, post_external_id from discussions
         where status = 'open' and post_external_id is not null`,
        [],
      );
      if (!open.length) return [];
      const publicSources = [...new Set(open.map((d) => `${d.source_id}:public`))];
      // Walk up each message's parents (stored ones; the last parent may be a post we never stored, e.g.
      // the community's own VK post) until an open discussion's post is met; depth 0 is the message itself.
      const found = await q<{
        id: unknown;
        discussion_id: unknown;
        external_id: string;
        post_external_id: string;
        sentiment: string | null;
        address: string | null;
      }>(
        `with recursive batch as (
           select id, source_id, external_id, sentiment, address from messages
           where id = any($1::bigint[]) and state = 'analyzed' and source_id = any($2::text[])
         ), up(id, source_id, ext, depth) as (
           select id, source_id, external_id, 0 from batch
           union all
           select up.id, up.source_id, p.parent_external_id, up.depth + 1
           from up join messages p on p.source_id = up.source_id and p.external_id = up.ext
           where p.parent_external_id is not null and up.depth < 50
         ), hit as (
           select distinct on (up.id) up.id, d.id as discussion_id, d.post_external_id
           from up join discussions d
             on d.status = 'open' and d.post_external_id = up.ext and d.source_id || ':public' = up.source_id
           order by up.id, up.depth
         )
         select hit.id, hit.discussion_id, hit.post_external_id, b.external_id, b.sentiment, b.address
         from hit join batch b on b.id = hit.id`,
        [[...ids], publicSources],
      );
      if (!found.length) return [];
      const rows = found.map((f) => {
        const root = f.external_id === f.post_external_id;
        return {
          messageId: num(f.id),
          discussionId: num(f.discussion_id),
          routed: shouldRoute({ root, sentiment: f.sentiment, address: f.address }),
        };
      });
      await db.insert(o.discussionMessages).values(rows).onConflictDoNothing();
      const keep = rows.filter((r) => !r.routed).map((r) => r.messageId);
      if (!keep.length) return [];
      const done = await q<{ id: unknown }>(
        `update messages set state = 'routed', state_changed_at = now(), routed_at = now()
         where id = any($1::bigint[]) and state = 'analyzed'
         returning id`,
        [keep],
      );
      return done.map((r) => num(r.id));
    },
    async discussionComments(discussionId, postExternalId) {
      const rows = await q<{
        id: unknown;
        external_id: string;
        text: string;
        posted_at: unknown;
        url: string | null;
        author_name: string | null;
        state: string;
        sector: string | null;
        sentiment: string | null;
        municipality: string | null;
        terms: unknown;
        incident_id: unknown;
        routed: boolean;
      }>(
        `select m.id, m.external_id, m.text, m.posted_at, m.url, a.name as author_name, m.state, m.sector,
                m.sentiment, m.municipality, m.terms, m.incident_id, dm.routed
         from discussion_messages dm
         join messages m on m.id = dm.message_id
         left join authors a on a.id = m.author_id
         where dm.discussion_id = $1 and m.external_id is distinct from $2
         order by m.posted_at, m.id`,
        [discussionId, postExternalId],
      );
      return rows.map((r) => ({
        id: num(r.id),
        externalId: r.external_id,
        text: r.text,
        postedAt: toDate(r.posted_at),
        url: r.url,
        authorName: r.author_name,
        state: r.state,
        sector: r.sector,
        sentiment: r.sentiment,
        municipality: r.municipality,
        terms:
          (typeof r.terms === 'string' ? (JSON.parse(r.terms) as string[]) : (r.terms as string[])) ?? [],
        incidentId: r.incident_id === null ? null : num(r.incident_id),
        routed: r.routed,
      }));
    },
    async targets() {
      const rows = await q<{ id: string; platform: string; name: string }>(
        `select id, platform, name from sources
         where channel_kind = 'messenger' and platform in ('telegram', 'vk') and active order by id`,
        [],
      );
      return rows;
    },
  };
}
