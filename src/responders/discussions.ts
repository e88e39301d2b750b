/**
 * Public discussions: a post on a topic whose comments are collected and summarised. On Telegram the bot
 * posts to a channel (the bot is its administrator and a member of the linked discussion group, where the
 * post's automatic copy heads the comments); on VK a community token cannot post on a wall, so staff publish
 * the post in VK and give its link, and the discussion collects the comments under it.
 *
 * While a discussion is open, the messages of its thread (found by walking up their parents to the post)
 * are analysed like any message (sector, sentiment, terms) but open no incidents: a proposal is not an
 * appeal. One exception: a negative comment that names an address (a concrete problem at a concrete place)
 * is routed as an appeal as well, and still counted in the summary. After closing, comments under the post
 * are ordinary public messages again.
 */
import type { Logger } from 'pino';
import { ConflictError, NotFoundError, ValidationError } from '../domain/errors.ts';
import { SECTORS, SENTIMENTS } from '../domain/types.ts';
import type { OutboundRow } from '../store/outbound.store.ts';
import {
  discussionPostKey,
  type DiscussionComment,
  type DiscussionRow,
  type ParticipationStore,
} from '../store/participation.store.ts';
import { SUBJECT_MIN_SHARED, SUBJECT_OVERLAP } from '../store/problems.store.ts';
import { queueOutbound, type OutboundDeps } from './outbound.ts';
import { sectorName, sentimentName } from './format.ts';

export const MAX_TITLE = 200;
/** The post is one Telegram message (4096 characters) with the title and the closing line. */
export const MAX_TEXT = 3500;

export interface DiscussionDraft {
  title: string;
  text: string;
  /** The bot (`telegram:<id>`) or community (`vk:<id>`) of the discussion. */
  sourceId: string;
  /** Telegram: the channel (`-100…` or `@name`) the bot posts to. */
  chatId?: string;
  /** VK: the link to the community's post (`https://vk.com/wall-123_45` or `wall-123_45`). */
  postUrl?: string;
}

export interface Proposal {
  count: number;
  /** Terms most of its comments share (normalised stems). */
  terms: string[];
  example: { id: number; text: string };
  messageIds: number[];
}

export interface DiscussionSummary {
  discussionId: number;
  status: string;
  total: number;
  /** Comments the text analysis has not reached yet are not linked yet; these are the analysed ones. */
  bySector: { sector: string; name: string; count: number }[];
  bySentiment: { sentiment: string; name: string; count: number }[];
  proposals: Proposal[];
  /** Comments that were also routed as appeals (negative, naming an address). */
  appeals: number;
  comments: (Omit<DiscussionComment, 'postedAt' | 'authorName'> & {
    postedAt: string;
    authorName: string | null;
  })[];
}

export interface DiscussionsDeps extends OutboundDeps {
  store: ParticipationStore;
  log: Logger;
}

export interface Discussions {
  targets(): Promise<{ id: string; platform: string; name: string }[]>;
  create(d: DiscussionDraft, actor: string): Promise<DiscussionRow>;
  get(id: number): Promise<DiscussionRow>;
  list: ParticipationStore['listDiscussions'];
  /** Opens collection; on Telegram the post goes out through the outbox (its id is stored once sent). */
  publish(id: number, actor: string): Promise<DiscussionRow>;
  /** Stops collecting (a draft is closed unpublished). */
  close(id: number, actor: string): Promise<DiscussionRow>;
  summary(id: number, opts: { names: boolean }): Promise<DiscussionSummary>;
  /** The route step's hook: messages of open discussions that must not become incidents (already marked). */
  divert(messageIds: readonly number[]): Promise<number[]>;
  onSent(row: OutboundRow, sent: { externalId: string }): Promise<void>;
}

export const postText = (d: Pick<DiscussionRow, 'title' | 'text'>) =>
  `${d.title}\n\n${d.text}\n\n💬 Обсуждение открыто: напишите в комментариях ваше мнение и предложения.`;

/** `https://vk.com/wall-123_45`, `vk.com/wall-123_45?reply=7`, `wall-123_45` → `wall-123_45`. */
export function vkPostId(url: string): string | undefined {
  const m = /(?:^|[/?=&])wall(-\d+)_(\d+)(?:$|[?&#/_])/.exec(url.trim());
  return m ? `wall${m[1]}_${m[2]}` : undefined;
}

/**
 * Recurring proposals: leader clustering of the comments in time order, with the subject rule of the top
 * problems (a comment joins the group whose core terms — those of most of its comments — it shares at least
 * `SUBJECT_MIN_SHARED` of, and at least `SUBJECT_OVERLAP` of the smaller set). Groups of `minCount` or more,
 * largest first; the example is the comment sharing most core terms.
 */
export function recurringProposals(
  comments: readonly { id: number; text: string; terms: readonly string[] }[],
  minCount = 2,
): Proposal[] {
  type Group = { members: (typeof comments)[number][]; termCounts: Map<string, number> };
  const groups: Group[] = [];
  const core = (g: Group) =>
    new Set([...g.termCounts].filter(([, n]) => n > g.members.length / 2).map(([t]) => t));
  for (const c of comments) {
    const terms = [...new Set(c.terms)];
    if (!terms.length) continue;
    let best: Group | undefined;
    let bestShared = 0;
    for (const g of groups) {
      const k = core(g);
      const shared = terms.filter((t) => k.has(t)).length;
      if (shared < SUBJECT_MIN_SHARED || shared < SUBJECT_OVERLAP * Math.min(terms.length, k.size)) continue;
      if (shared > bestShared) {
        best = g;
        bestShared = shared;
      }
    }
    if (!best) groups.push((best = { members: [], termCounts: new Map() }));
    best.members.push(c);
    for (const t of terms) best.termCounts.set(t, (best.termCounts.get(t) ?? 0) + 1);
  }
  return groups
    .filter((g) => g.members.length >= minCount)
    .map((g) => {
      const k = core(g);
      const example = [...g.members].sort(
        (a, b) => b.terms.filter((t) => k.has(t)).length - a.terms.filter((t) => k.has(t)).length,
      )[0]!;
      return {
        count: g.members.length,
        terms: [...k].sort((a, b) => (g.termCounts.get(b) ?? 0) - (g.termCounts.get(a) ?? 0)),
        example: { id: example.id, text: example.text },
        messageIds: g.members.map((m) => m.id),
      };
    })
    .sort((a, b) => b.count - a.count || a.example.id - b.example.id);
}

export function createDiscussions(deps: DiscussionsDeps): Discussions {
  const { store } = deps;

  async function get(id: number): Promise<DiscussionRow> {
    const d = await store.discussion(id);
    if (!d) throw new NotFoundError('discussion', String(id));
    return d;
  }

  return {
    get,
    list: (f) => store.listDiscussions(f),
    targets: () => store.targets(),

    async create(d, actor) {
      const title = d.title.trim();
      const text = d.text.trim();
      if (!title) throw new ValidationError('title', 'is empty');
      if (title.length > MAX_TITLE) throw new ValidationError('title', `is longer than ${MAX_TITLE}`);
      if (!text) throw new ValidationError('text', 'is empty');
      if (text.length > MAX_TEXT) throw new ValidationError('text', `is longer than ${MAX_TEXT}`);
      const target = (await store.targets()).find((t) => t.id === d.sourceId);
      if (!target)
        throw new ValidationError('sourceId', `${d.sourceId} is not a bot or community of this installation`);
      let chatId: string;
      let postExternalId: string | null = null;
      if (target.platform === 'telegram') {
        chatId = (d.chatId ?? '').trim();
        if (!/^(-?\d{1,20}|@[A-Za-z0-9_]{5,64})$/.test(chatId))
          throw new ValidationError('chatId', 'a Telegram channel id (-100…) or @name is needed');
      } else {
        // A community token cannot call wall.post: the post is published in VK by staff and linked here.
        postExternalId = vkPostId(d.postUrl ?? '') ?? null;
        if (!postExternalId)
          throw new ValidationError(
            'postUrl',
            'a link to the community post (https://vk.com/wall-…_…) is needed',
          );
        const owner = /^wall(-\d+)_/.exec(postExternalId)![1]!;
        if (owner !== `-${d.sourceId.split(':')[1]}`)
          throw new ValidationError('postUrl', `the post is not on the wall of community ${d.sourceId}`);
        chatId = owner;
      }
      return store.createDiscussion({
        title,
        text,
        sourceId: d.sourceId,
        chatId,
        postExternalId,
        status: 'draft',
        createdBy: actor,
      });
    },

    async publish(id, actor) {
      const d = await get(id);
      const row = await store.updateDiscussion(id, ['draft'], {
        status: 'open',
        approvedBy: actor,
        publishedAt: new Date(),
      });
      if (!row)
        throw new ConflictError(`discussion ${id} is ${d.status}; only a draft is published`, {
          code: 'DISCUSSION_NOT_DRAFT',
        });
      if (!row.postExternalId)
        await queueOutbound(deps, {
          idempotencyKey: discussionPostKey(id),
          sourceId: row.sourceId,
          chatId: row.chatId,
          text: postText(row),
          purpose: 'discussion',
        });
      deps.log.info({ discussionId: id }, 'discussion published');
      return row;
    },

    async close(id) {
      const d = await get(id);
      const row = await store.updateDiscussion(id, ['draft', 'open'], {
        status: 'closed',
        closedAt: new Date(),
      });
      if (!row)
        throw new ConflictError(`discussion ${id} is already ${d.status}`, { code: 'DISCUSSION_CLOSED' });
      return row;
    },

    async summary(id, opts) {
      const d = await get(id);
      const comments = await store.discussionComments(id, d.postExternalId);
      const count = <K extends string>(key: (c: DiscussionComment) => K | null) => {
        const m = new Map<K, number>();
        for (const c of comments) {
          const k = key(c);
          if (k) m.set(k, (m.get(k) ?? 0) + 1);
        }
        return m;
      };
      const sectors = count((c) => c.sector);
      const sentiments = count((c) => c.sentiment);
      return {
        discussionId: id,
        status: d.status,
        total: comments.length,
        bySector: [...sectors]
          .map(([sector, n]) => ({ sector, name: sectorName(sector), count: n }))
          .sort(
            (a, b) =>
              b.count - a.count ||
              SECTORS.findIndex((s) => s.code === a.sector) - SECTORS.findIndex((s) => s.code === b.sector),
          ),
        bySentiment: SENTIMENTS.map((s) => ({
          sentiment: s,
          name: sentimentName(s),
          count: sentiments.get(s) ?? 0,
        })),
        proposals: recurringProposals(comments),
        appeals: comments.filter((c) => c.routed).length,
        comments: comments.map((c) => ({
          ...c,
          postedAt: c.postedAt.toISOString(),
          authorName: opts.names ? c.authorName : null,
        })),
      };
    },

    divert(ids) {
      return store.divertDiscussionMessages(
        ids,
        (m) => !m.root && m.sentiment === 'negative' && m.address !== null,
      );
    },

    async onSent(row, sent) {
      const m = /^discussion:(\d+)$/.exec(row.idempotencyKey);
      if (m) await store.setDiscussionPost(Number(m[1]), sent.externalId);
    },
  };
}
