/**
 * Audience and campaigns (tables of migration 0009): segments as rules over the subscribers, campaigns and
 * their states, and the per-recipient deliveries the broadcast engine works through. A delivery is claimed
 * (pending → sending, attempt + 1) right before the platform is called and marked with the platform's
 * answer right after, so a crash leaves at most the rows then in flight in `sending`.
 */
import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Database } from './db.ts';
import {
  campaigns,
  segments,
  type CampaignButton,
  type CampaignStatus,
  type DeliveryStatus,
  type SegmentRules,
} from './outreach.schema.ts';

export type SegmentRow = typeof segments.$inferSelect;
export type CampaignRow = typeof campaigns.$inferSelect;
export type CampaignInsert = typeof campaigns.$inferInsert;
export const CAMPAIGN_CHANNELS = ['telegram', 'vk', 'all'] as const;
export type CampaignChannel = (typeof CAMPAIGN_CHANNELS)[number];

export interface AudienceCount {
  total: number;
  telegram: number;
  vk: number;
}

export interface CampaignStats {
  recipients: number;
  pending: number;
  sending: number;
  sent: number;
  failed: number;
  blocked: number;
  skipped: number;
  uncertain: number;
  /** Recipients who opened at least one link button. */
  clicked: number;
  /** All link opens. */
  clicks: number;
  /** clicked / sent (null before anything was sent). */
  clickRate: number | null;
}

/** A delivery as the engine needs it. */
export interface DeliveryRef {
  id: number;
  authorId: number;
  sourceId: string;
  chatId: string;
  clickToken: string;
  attempts: number;
}

export interface DeliveryListItem extends DeliveryRef {
  platform: string;
  status: DeliveryStatus;
  externalId: string | null;
  error: string | null;
  sentAt: Date | null;
  clicks: number;
}

export type ClaimResult = 'sending' | 'skipped' | 'blocked' | null;

/**
 * A campaign or poll whose audience will still be read from its segment and whose content someone has
 * approved or is approving: while one exists, the segment's rules must not change.
 */
export interface SegmentUse {
  kind: 'campaign' | 'poll';
  id: number;
  title: string;
  status: string;
}

/**
 * Campaigns waiting for approval, approved, or paused before their start (the audience is expanded from the
 * segment at the start), and polls waiting for approval (their audience is chosen at approval).
 */
const SEGMENT_USES = `
  select 'campaign' as kind, c.id, c.title, c.status, c.segment_id from campaigns c
  where c.started_at is null and c.status in ('pending_approval', 'approved', 'paused')
  union all
  select 'poll' as kind, p.id, p.question as title, p.status, p.segment_id from polls p
  where p.status = 'pending_approval' and p.segment_id is not null`;

export interface OutreachStore {
  listSegments(): Promise<SegmentRow[]>;
  segment(id: number): Promise<SegmentRow | undefined>;
  createSegment(v: { name: string; rules: SegmentRules; createdBy: string }): Promise<SegmentRow>;
  /**
   * Changes a segment. A change of its rules is refused while a campaign or poll uses it (see
   * `SegmentUse`), checked in the same statement: `{ inUse }` then, undefined when there is no such segment.
   */
  updateSegment(
    id: number,
    patch: { name?: string; rules?: SegmentRules },
  ): Promise<SegmentRow | { inUse: SegmentUse[] } | undefined>;
  /** For each of the segments (all when not given), the campaigns and polls that freeze its rules now. */
  segmentUses(ids?: readonly number[]): Promise<Map<number, SegmentUse[]>>;
  /** Subscribers the rules select right now (and the campaign channel, when given). */
  countAudience(rules: SegmentRules, channel?: CampaignChannel): Promise<AudienceCount>;

  listCampaigns(f: { status?: CampaignStatus[]; limit: number; offset: number }): Promise<{
    total: number;
    items: CampaignRow[];
  }>;
  campaign(id: number): Promise<CampaignRow | undefined>;
  createCampaign(v: CampaignInsert): Promise<CampaignRow>;
  /** Changes the campaign if its status is one of `from`; undefined otherwise (or when it does not exist). */
  updateCampaign(
    id: number,
    from: readonly CampaignStatus[],
    patch: Partial<CampaignInsert>,
  ): Promise<CampaignRow | undefined>;
  /** Active staff other than `login` who hold one of `roles`. */
  otherStaffWithRoles(login: string, roles: readonly string[]): Promise<number>;
  stats(ids: readonly number[]): Promise<Map<number, CampaignStats>>;
  deliveries(
    campaignId: number,
    f: { status?: DeliveryStatus; limit: number; offset: number },
  ): Promise<{ total: number; items: DeliveryListItem[] }>;

  /** Approved campaigns whose time has come (or none was set), and running ones: what the engine must work on. */
  activeCampaigns(now: Date): Promise<number[]>;
  /**
   * approved → running: the segment is expanded into one delivery per subscriber (unique campaign ×
   * author, so a repeat adds nothing), in one transaction. Returns the number of recipients, or null when
   * the campaign was not approved.
   */
  start(id: number): Promise<number | null>;
  /**
   * After a crash, rows left in `sending`: VK ones go back to pending (resent with the same random_id, which
   * VK drops as a repeat), Telegram ones become `uncertain` (no idempotency key: never sent twice).
   */
  recoverSending(campaignId: number): Promise<{ requeued: number; uncertain: number }>;
  /** Sources (bots, communities) with pending deliveries. */
  pendingSources(campaignId: number): Promise<string[]>;
  pendingPage(campaignId: number, sourceId: string, afterId: number, limit: number): Promise<DeliveryRef[]>;
  /**
   * pending → sending (attempt + 1) when the campaign is running and the person is still subscribed and
   * reachable; → skipped (unsubscribed or consent withdrawn) or → blocked otherwise. null: not claimable.
   */
  claim(deliveryId: number): Promise<ClaimResult>;
  markSent(deliveryId: number, externalId: string): Promise<void>;
  /** The same for many at once (the engine batches these writes). */
  markSentMany(items: readonly { id: number; externalId: string }[]): Promise<void>;
  /** The delivery and the person: the platform says they blocked the bot. */
  markBlocked(deliveryId: number, error: string): Promise<void>;
  markFailed(deliveryId: number, error: string): Promise<void>;
  markUncertain(deliveryId: number, error: string): Promise<void>;
  /**
   * sending → pending (a «slow down» answer or a temporary fault: the message is tried again); `refund` gives
   * the claim's try back (a platform outage is not the message's fault).
   */
  release(deliveryId: number, error: string, refund?: boolean): Promise<void>;
  /** All pending deliveries through `sourceId` fail (no bot or community is configured for it). */
  failSource(campaignId: number, sourceId: string, error: string): Promise<number>;
  status(id: number): Promise<CampaignStatus | undefined>;
  /** running → done when nothing is pending or in flight. */
  finishIfDone(id: number): Promise<boolean>;
  /**
   * A link button opened: counts the click and returns the button's URL (undefined for an unknown token or
   * button). A click proves delivery, so an `uncertain` delivery becomes `sent`.
   */
  click(token: string, n: number): Promise<string | undefined>;
}

const STATS_ZERO: CampaignStats = {
  recipients: 0,
  pending: 0,
  sending: 0,
  sent: 0,
  failed: 0,
  blocked: 0,
  skipped: 0,
  uncertain: 0,
  clicked: 0,
  clicks: 0,
  clickRate: null,
};

/**
 * The audience as SQL over `authors a`, parameters numbered from `start`: subscribed through a bot (chat
 * known), consenting, not blocked, and every given rule holds (municipality one of, a topic in common,
 * platform one of, language one of). A subscriber of «весь край» (no municipality) matches no municipality rule.
 */
export function audienceWhere(rules: SegmentRules, channel: CampaignChannel, start: number) {
  const conds = [
    'a.subscribed',
    'a.consent_personal_data',
    'not a.blocked',
    'a.subscription_source is not null',
    'a.subscription_chat is not null',
  ];
  const params: unknown[] = [];
  const add = (cond: (p: string) => string, value: unknown) => {
    params.push(value);
    conds.push(cond(`$${start + params.length - 1}`));
  };
  if (channel !== 'all') add((p) => `a.platform = ${p}`, channel);
  if (rules.platforms?.length) add((p) => `a.platform = any(${p}::text[])`, rules.platforms);
  if (rules.municipalities?.length) add((p) => `a.municipality = any(${p}::text[])`, rules.municipalities);
  if (rules.languages?.length) add((p) => `a.language = any(${p}::text[])`, rules.languages);
  if (rules.topics?.length)
    add(
      (p) =>
        `exists (select 1 from jsonb_array_elements_text(a.subscription_topics) t(v) where t.v = any(${p}::text[]))`,
      rules.topics,
    );
  return { where: conds.join(' and '), params };
}

const n = (v: unknown) => Number(v ?? 0);
const date = (v: unknown) =>
  v === null || v === undefined ? null : v instanceof Date ? v : new Date(String(v));

export function createOutreachStore(database: Database): OutreachStore {
  const { db } = database;
  const q = <T>(text: string, params: unknown[]) => database.query<T>(text, params);

  const ref = (r: Record<string, unknown>): DeliveryRef => ({
    id: n(r.id),
    authorId: n(r.author_id),
    sourceId: String(r.source_id),
    chatId: String(r.chat_id),
    clickToken: String(r.click_token),
    attempts: n(r.attempts),
  });

  async function segmentUses(ids?: readonly number[]): Promise<Map<number, SegmentUse[]>> {
    const rows = await q<{
      kind: SegmentUse['kind'];
      id: unknown;
      title: string;
      status: string;
      segment_id: unknown;
    }>(
      `select * from (${SEGMENT_USES}) u
       where $1::bigint[] is null or u.segment_id = any($1::bigint[]) order by u.kind, u.id`,
      [ids ? [...ids] : null],
    );
    const out = new Map<number, SegmentUse[]>();
    for (const r of rows) {
      const list = out.get(n(r.segment_id)) ?? [];
      list.push({ kind: r.kind, id: n(r.id), title: r.title, status: r.status });
      out.set(n(r.segment_id), list);
    }
    return out;
  }

  return {
    listSegments: () => db.select().from(segments).orderBy(segments.name, segments.id),
    async segment(id) {
      const [r] = await db.select().from(segments).where(eq(segments.id, id));
      return r;
    },
    async createSegment(v) {
      const [r] = await db.insert(segments).values(v).returning();
      return r!;
    },
    async updateSegment(id, patch) {
      const guard = patch.rules
        ? sql`not exists (select 1 from (${sql.raw(SEGMENT_USES)}) u where u.segment_id = ${id})`
        : undefined;
      // Twice at most: a use that ended between the update and the look-up is no reason to refuse.
      for (let attempt = 0; attempt < 2; attempt++) {
        const [r] = await db
          .update(segments)
          .set({ ...patch, updatedAt: new Date() })
          .where(and(eq(segments.id, id), guard))
          .returning();
        if (r) return r;
        const inUse = (await segmentUses([id])).get(id) ?? [];
        if (inUse.length) return { inUse };
        if (!guard) break;
      }
      return undefined;
    },
    segmentUses,
    async countAudience(rules, channel = 'all') {
      const a = audienceWhere(rules, channel, 1);
      const [r] = await q<{ total: unknown; telegram: unknown; vk: unknown }>(
        `select count(*) as total, count(*) filter (where a.platform = 'telegram') as telegram,
                count(*) filter (where a.platform = 'vk') as vk
         from authors a where ${a.where}`,
        a.params,
      );
      return { total: n(r?.total), telegram: n(r?.telegram), vk: n(r?.vk) };
    },

    async listCampaigns(f) {
      const where = f.status?.length ? inArray(campaigns.status, [...f.status]) : undefined;
      const [items, [total]] = await Promise.all([
        db.select().from(campaigns).where(where).orderBy(desc(campaigns.id)).limit(f.limit).offset(f.offset),
        db
          .select({ n: sql<number>`count(*)`.mapWith(Number) })
          .from(campaigns)
          .where(where),
      ]);
      return { total: total?.n ?? 0, items };
    },
    async campaign(id) {
      const [r] = await db.select().from(campaigns).where(eq(campaigns.id, id));
      return r;
    },
    async createCampaign(v) {
      const [r] = await db.insert(campaigns).values(v).returning();
      return r!;
    },
    async updateCampaign(id, from, patch) {
      const [r] = await db
        .update(campaigns)
        .set({ ...patch, updatedAt: new Date() })
        .where(and(eq(campaigns.id, id), inArray(campaigns.status, [...from])))
        .returning();
      return r;
    },
    async otherStaffWithRoles(login, roles) {
      const [r] = await q<{ n: unknown }>(
        `select count(distinct u.id) as n from staff_users u join staff_roles r on r.user_id = u.id
         where u.active and u.login <> $1 and r.role = any($2::text[])`,
        [login, [...roles]],
      );
      return n(r?.n);
    },
    async stats(ids) {
      const out = new Map<number, CampaignStats>();
      if (!ids.length) return out;
      const rows = await q<Record<string, unknown>>(
        `select campaign_id, count(*) as recipients,
                count(*) filter (where status = 'pending') as pending,
                count(*) filter (where status = 'sending') as sending,
                count(*) filter (where status = 'sent') as sent,
                count(*) filter (where status = 'failed') as failed,
                count(*) filter (where status = 'blocked') as blocked,
                count(*) filter (where status = 'skipped') as skipped,
                count(*) filter (where status = 'uncertain') as uncertain,
                count(*) filter (where clicks > 0) as clicked,
                coalesce(sum(clicks), 0) as clicks
         from campaign_deliveries where campaign_id = any($1::bigint[]) group by campaign_id`,
        [[...ids]],
      );
      for (const id of ids) out.set(id, { ...STATS_ZERO });
      for (const r of rows) {
        const s: CampaignStats = {
          recipients: n(r.recipients),
          pending: n(r.pending),
          sending: n(r.sending),
          sent: n(r.sent),
          failed: n(r.failed),
          blocked: n(r.blocked),
          skipped: n(r.skipped),
          uncertain: n(r.uncertain),
          clicked: n(r.clicked),
          clicks: n(r.clicks),
          clickRate: null,
        };
        s.clickRate = s.sent ? s.clicked / s.sent : null;
        out.set(n(r.campaign_id), s);
      }
      return out;
    },
    async deliveries(campaignId, f) {
      const params: unknown[] = [campaignId];
      let where = 'd.campaign_id = $1';
      if (f.status) {
        params.push(f.status);
        where += ` and d.status = $${params.length}`;
      }
      const [[total], rows] = await Promise.all([
        q<{ n: unknown }>(`select count(*) as n from campaign_deliveries d where ${where}`, params),
        q<Record<string, unknown>>(
          `select d.*, a.platform from campaign_deliveries d join authors a on a.id = d.author_id
           where ${where} order by d.id limit ${Math.trunc(f.limit)} offset ${Math.trunc(f.offset)}`,
          params,
        ),
      ]);
      return {
        total: n(total?.n),
        items: rows.map((r) => ({
          ...ref(r),
          platform: String(r.platform),
          status: r.status as DeliveryStatus,
          externalId: (r.external_id as string | null) ?? null,
          error: (r.error as string | null) ?? null,
          sentAt: date(r.sent_at),
          clicks: n(r.clicks),
        })),
      };
    },

    async activeCampaigns(now) {
      const rows = await q<{ id: unknown }>(
        `select id from campaigns
         where status = 'running' or (status = 'approved' and (scheduled_at is null or scheduled_at <= $1))
         order by id`,
        [now],
      );
      return rows.map((r) => n(r.id));
    },
    async start(id) {
      const [c] = await db
        .select({ segmentId: campaigns.segmentId, channel: campaigns.channel, status: campaigns.status })
        .from(campaigns)
        .where(eq(campaigns.id, id));
      if (c?.status !== 'approved') return null;
      const [seg] = await db.select().from(segments).where(eq(segments.id, c.segmentId));
      const a = audienceWhere(seg?.rules ?? {}, c.channel as CampaignChannel, 2);
      // One statement, so the state change and the expansion commit together. The click token is 16
      // random bytes, base64url.
      const [r] = await q<{ started: unknown }>(
        `with c as (
           update campaigns set status = 'running', started_at = now(), updated_at = now()
           where id = $1 and status = 'approved' returning id),
         ins as (
           insert into campaign_deliveries (campaign_id, author_id, source_id, chat_id, click_token)
           select $1, a.id, a.subscription_source, a.subscription_chat,
                  rtrim(translate(encode(uuid_send(gen_random_uuid()), 'base64'), '+/', '-_'), '=')
           from authors a where exists (select 1 from c) and ${a.where}
           on conflict (campaign_id, author_id) do nothing)
         select (select count(*) from c) as started`,
        [id, ...a.params],
      );
      if (!n(r?.started)) return null;
      const [cnt] = await q<{ n: unknown }>(
        `select count(*) as n from campaign_deliveries where campaign_id = $1`,
        [id],
      );
      return n(cnt?.n);
    },
    async recoverSending(campaignId) {
      const rows = await q<{ status: string }>(
        `update campaign_deliveries
         set status = case when source_id like 'vk:%' then 'pending' else 'uncertain' end,
             error = case when source_id like 'vk:%' then 'interrupted mid-send; resent with the same random_id'
                          else 'interrupted mid-send; Telegram has no idempotency key, so it is not resent' end,
             updated_at = now()
         where campaign_id = $1 and status = 'sending'
         returning status`,
        [campaignId],
      );
      return {
        requeued: rows.filter((r) => r.status === 'pending').length,
        uncertain: rows.filter((r) => r.status === 'uncertain').length,
      };
    },
    async pendingSources(campaignId) {
      const rows = await q<{ source_id: string }>(
        `select distinct source_id from campaign_deliveries where campaign_id = $1 and status = 'pending'`,
        [campaignId],
      );
      return rows.map((r) => r.source_id).sort();
    },
    async pendingPage(campaignId, sourceId, afterId, limit) {
      const rows = await q<Record<string, unknown>>(
        `select id, author_id, source_id, chat_id, click_token, attempts from campaign_deliveries
         where campaign_id = $1 and status = 'pending' and source_id = $2 and id > $3
         order by id limit $4`,
        [campaignId, sourceId, afterId, limit],
      );
      return rows.map(ref);
    },
    async claim(deliveryId) {
      const [r] = await q<{ status: ClaimResult }>(
        `update campaign_deliveries d set
           status = case when a.blocked then 'blocked'
                         when a.subscribed and a.consent_personal_data then 'sending' else 'skipped' end,
           attempts = d.attempts + case when not a.blocked and a.subscribed and a.consent_personal_data
                                        then 1 else 0 end,
           error = case when a.blocked then 'the person had blocked the bot'
                        when a.subscribed and a.consent_personal_data then d.error
                        else 'unsubscribed before their turn' end,
           updated_at = now()
         from authors a, campaigns c
         where d.id = $1 and d.status = 'pending' and a.id = d.author_id
           and c.id = d.campaign_id and c.status = 'running'
         returning d.status`,
        [deliveryId],
      );
      return r?.status ?? null;
    },
    async markSent(deliveryId, externalId) {
      await q(
        `update campaign_deliveries set status = 'sent', external_id = $2, sent_at = now(), error = null,
           updated_at = now()
         where id = $1 and status in ('sending', 'uncertain')`,
        [deliveryId, externalId],
      );
    },
    async markSentMany(items) {
      if (!items.length) return;
      await q(
        `update campaign_deliveries d set status = 'sent', external_id = v.ext, sent_at = now(), error = null,
           updated_at = now()
         from unnest($1::bigint[], $2::text[]) as v(id, ext)
         where d.id = v.id and d.status in ('sending', 'uncertain')`,
        [items.map((i) => i.id), items.map((i) => i.externalId)],
      );
    },
    async markBlocked(deliveryId, error) {
      await q(
        `with d as (
           update campaign_deliveries set status = 'blocked', error = $2, updated_at = now()
           where id = $1 and status = 'sending' returning author_id)
         update authors set blocked = true, blocked_at = now() where id in (select author_id from d)`,
        [deliveryId, error.slice(0, 500)],
      );
    },
    async markFailed(deliveryId, error) {
      await q(
        `update campaign_deliveries set status = 'failed', error = $2, updated_at = now()
         where id = $1 and status in ('sending', 'pending')`,
        [deliveryId, error.slice(0, 500)],
      );
    },
    async markUncertain(deliveryId, error) {
      await q(
        `update campaign_deliveries set status = 'uncertain', error = $2, updated_at = now()
         where id = $1 and status = 'sending'`,
        [deliveryId, error.slice(0, 500)],
      );
    },
    async release(deliveryId, error, refund = false) {
      await q(
        `update campaign_deliveries
         set status = 'pending', error = $2, updated_at = now(),
             attempts = greatest(attempts - case when $3 then 1 else 0 end, 0)
         where id = $1 and status = 'sending'`,
        [deliveryId, error.slice(0, 500), refund],
      );
    },
    async failSource(campaignId, sourceId, error) {
      const rows = await q(
        `update campaign_deliveries set status = 'failed', error = $3, updated_at = now()
         where campaign_id = $1 and source_id = $2 and status = 'pending' returning id`,
        [campaignId, sourceId, error.slice(0, 500)],
      );
      return rows.length;
    },
    async status(id) {
      const [r] = await q<{ status: CampaignStatus }>(`select status from campaigns where id = $1`, [id]);
      return r?.status;
    },
    async finishIfDone(id) {
      const rows = await q(
        `update campaigns set status = 'done', finished_at = now(), updated_at = now()
         where id = $1 and status = 'running'
           and not exists (select 1 from campaign_deliveries
                           where campaign_id = $1 and status in ('pending', 'sending'))
         returning id`,
        [id],
      );
      return rows.length > 0;
    },
    async click(token, i) {
      const [r] = await q<{ buttons: CampaignButton[] }>(
        `select c.buttons from campaign_deliveries d join campaigns c on c.id = d.campaign_id
         where d.click_token = $1`,
        [token],
      );
      const url = r?.buttons?.[i]?.url;
      if (!url) return undefined;
      await q(
        `update campaign_deliveries set clicks = clicks + 1, clicked_at = coalesce(clicked_at, now()),
           status = case when status = 'uncertain' then 'sent' else status end,
           error = case when status = 'uncertain' then 'delivered: a link in it was opened' else error end,
           updated_at = now()
         where click_token = $1`,
        [token],
      );
      return url;
    },
  };
}
