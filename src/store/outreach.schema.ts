/**
 * Outreach and participation tables (migration 0009_outreach): audience segments, campaigns and their
 * per-recipient deliveries, polls with their sent messages and votes, public discussions.
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import { authors, messages } from './schema.ts';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
const createdAt = () => ts('created_at').notNull().defaultNow();
const updatedAt = () => ts('updated_at').notNull().defaultNow();

/** Who a segment selects among the subscribers (every given rule must hold; an absent rule selects all). */
export interface SegmentRules {
  /** Municipality codes; the citizen's chosen municipality must be one of them. */
  municipalities?: string[];
  /** Sector codes; the citizen's topics must include at least one. */
  topics?: string[];
  /** Platforms: 'telegram', 'vk'. */
  platforms?: ('telegram' | 'vk')[];
  /** Languages of address (ISO 639-1). */
  languages?: string[];
}

export const segments = pgTable('segments', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  name: text('name').notNull(),
  rules: jsonb('rules').$type<SegmentRules>().notNull(),
  createdBy: text('created_by'),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

/** A link button under a campaign message (opened through the click-counting redirect). */
export interface CampaignButton {
  text: string;
  url: string;
}

export const CAMPAIGN_STATUSES = [
  'draft',
  'pending_approval',
  'approved',
  'running',
  'paused',
  'cancelled',
  'done',
] as const;
export type CampaignStatus = (typeof CAMPAIGN_STATUSES)[number];

export const campaigns = pgTable(
  'campaigns',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    title: text('title').notNull(),
    /** Telegram-style HTML subset (b, i, u, s, a, code); VK gets it as plain text. */
    text: text('text').notNull(),
    photoUrl: text('photo_url'),
    buttons: jsonb('buttons').$type<CampaignButton[]>().notNull().default([]),
    segmentId: bigint('segment_id', { mode: 'number' })
      .notNull()
      .references(() => segments.id),
    /** telegram | vk | all */
    channel: text('channel').notNull(),
    scheduledAt: ts('scheduled_at'),
    status: text('status').$type<CampaignStatus>().notNull().default('draft'),
    createdBy: text('created_by'),
    approvedBy: text('approved_by'),
    approvedAt: ts('approved_at'),
    startedAt: ts('started_at'),
    finishedAt: ts('finished_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('campaigns_status_idx').on(t.status, t.scheduledAt)],
);

/** pending → sending → sent | failed | blocked | skipped (unsubscribed before its turn) | uncertain. */
export type DeliveryStatus = 'pending' | 'sending' | 'sent' | 'failed' | 'blocked' | 'skipped' | 'uncertain';

export const campaignDeliveries = pgTable(
  'campaign_deliveries',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    campaignId: bigint('campaign_id', { mode: 'number' })
      .notNull()
      .references(() => campaigns.id),
    authorId: bigint('author_id', { mode: 'number' })
      .notNull()
      .references(() => authors.id),
    sourceId: text('source_id').notNull(),
    chatId: text('chat_id').notNull(),
    status: text('status').$type<DeliveryStatus>().notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    externalId: text('external_id'),
    error: text('error'),
    /** Random token of the click-counting redirect links of this delivery. */
    clickToken: text('click_token').notNull(),
    sentAt: ts('sent_at'),
    clickedAt: ts('clicked_at'),
    clicks: integer('clicks').notNull().default(0),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('campaign_deliveries_uq').on(t.campaignId, t.authorId),
    uniqueIndex('campaign_deliveries_click_uq').on(t.clickToken),
    index('campaign_deliveries_pending_idx')
      .on(t.campaignId, t.id)
      .where(sql`status IN ('pending', 'sending')`),
  ],
);

export const polls = pgTable('polls', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  question: text('question').notNull(),
  options: jsonb('options').$type<string[]>().notNull(),
  segmentId: bigint('segment_id', { mode: 'number' }).references(() => segments.id),
  /** telegram | vk | all */
  channel: text('channel').notNull(),
  /** buttons (inline keyboard, both platforms) | native (Telegram's own non-anonymous poll) */
  mode: text('mode').notNull().default('buttons'),
  /** draft | pending_approval | open | closed | cancelled */
  status: text('status').notNull().default('draft'),
  closesAt: ts('closes_at').notNull(),
  createdBy: text('created_by'),
  approvedBy: text('approved_by'),
  approvedAt: ts('approved_at'),
  /** When the poll was closed (at its time, or early by staff) — migration 0010. */
  closedAt: ts('closed_at'),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const pollMessages = pgTable(
  'poll_messages',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    pollId: bigint('poll_id', { mode: 'number' })
      .notNull()
      .references(() => polls.id),
    authorId: bigint('author_id', { mode: 'number' }).references(() => authors.id),
    sourceId: text('source_id').notNull(),
    chatId: text('chat_id').notNull(),
    status: text('status').notNull().default('pending'),
    externalId: text('external_id'),
    /** Telegram's poll id of a native poll (poll_answer updates carry it). */
    platformPollId: text('platform_poll_id'),
    error: text('error'),
    sentAt: ts('sent_at'),
  },
  (t) => [
    uniqueIndex('poll_messages_uq').on(t.pollId, t.sourceId, t.chatId),
    index('poll_messages_platform_idx').on(t.platformPollId),
    // Migration 0014: who left gets their waiting poll messages skipped (trigger on authors).
    index('poll_messages_author_pending_idx')
      .on(t.authorId)
      .where(sql`${t.status} = 'pending'`),
  ],
);

export const pollVotes = pgTable(
  'poll_votes',
  {
    pollId: bigint('poll_id', { mode: 'number' })
      .notNull()
      .references(() => polls.id),
    authorId: bigint('author_id', { mode: 'number' })
      .notNull()
      .references(() => authors.id),
    option: integer('option').notNull(),
    /** The voter's municipality at the time of the vote (for results by municipality). */
    municipality: text('municipality'),
    votedAt: ts('voted_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ name: 'poll_votes_pk', columns: [t.pollId, t.authorId] })],
);

export const discussions = pgTable('discussions', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  title: text('title').notNull(),
  text: text('text').notNull(),
  /** The bot (Telegram channel admin) or community that publishes the post. */
  sourceId: text('source_id').notNull(),
  /** Telegram channel id / VK owner id (negative group id) where the post goes. */
  chatId: text('chat_id').notNull(),
  /** The published post's platform id; comments point to it. */
  postExternalId: text('post_external_id'),
  /** draft | open | closed */
  status: text('status').notNull().default('draft'),
  closesAt: ts('closes_at'),
  createdBy: text('created_by'),
  approvedBy: text('approved_by'),
  /** When it was published (comments are collected from then on) and closed — migration 0010. */
  publishedAt: ts('published_at'),
  closedAt: ts('closed_at'),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

/**
 * Messages of a public discussion's thread (its post and the comments under it), linked when they are
 * routed while the discussion is open (migration 0010). `routed`: the comment also became an appeal.
 */
export const discussionMessages = pgTable(
  'discussion_messages',
  {
    messageId: bigint('message_id', { mode: 'number' })
      .primaryKey()
      .references(() => messages.id),
    discussionId: bigint('discussion_id', { mode: 'number' })
      .notNull()
      .references(() => discussions.id),
    routed: boolean('routed').notNull().default(false),
    linkedAt: ts('linked_at').notNull().defaultNow(),
  },
  (t) => [index('discussion_messages_discussion_idx').on(t.discussionId, t.messageId)],
);
