/**
 * PostgreSQL schema (Drizzle ORM). The same migrations run on a PostgreSQL server and on embedded PGlite.
 * Generated SQL lives in src/store/migrations (`npm run db:generate` after a change here).
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  date,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  real,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

/** What an outbox row attaches; the send worker loads the bytes when it sends. */
export interface AttachmentRef {
  kind: 'report';
  id: number;
  format: 'pdf' | 'xlsx';
}

/** A Telegram native poll an outbox row sends, or (`stop`, with `edit_external_id`) stops. */
export interface PollRef {
  kind: 'poll';
  question: string;
  options: string[];
  stop?: boolean;
}

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
const createdAt = () => ts('created_at').notNull().defaultNow();

/** Where messages come from: a bot, a community, the feedback platform, the HTTP ingest, an import. */
export const sources = pgTable('sources', {
  id: text('id').primaryKey(),
  platform: text('platform').notNull(), // telegram | vk | api | import | demo | pos
  channelKind: text('channel_kind').notNull(), // messenger | social | feedback_platform | api
  name: text('name').notNull(),
  active: boolean('active').notNull().default(true),
  config: jsonb('config').$type<Record<string, unknown>>().notNull().default({}),
  createdAt: createdAt(),
});

/** A person as the platform knows them; consent flags per 152-ФЗ. */
export const authors = pgTable(
  'authors',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    platform: text('platform').notNull(),
    externalId: text('external_id').notNull(),
    name: text('name'),
    consentPersonalData: boolean('consent_personal_data').notNull().default(false),
    consentAt: ts('consent_at'),
    subscribed: boolean('subscribed').notNull().default(false),
    subscriptionTopics: jsonb('subscription_topics').$type<string[]>().notNull().default([]),
    municipality: text('municipality'),
    blocked: boolean('blocked').notNull().default(false),
    /** The bot or community the citizen subscribed through, and the chat news go to. */
    subscriptionSource: text('subscription_source'),
    subscriptionChat: text('subscription_chat'),
    /** Language of address the citizen chose for news and polls (ISO 639-1). */
    language: text('language').notNull().default('ru'),
    subscribedAt: ts('subscribed_at'),
    unsubscribedAt: ts('unsubscribed_at'),
    /** When the platform said the citizen blocked the bot (`blocked` set; a new message clears it). */
    blockedAt: ts('blocked_at'),
    createdAt: createdAt(),
    /** Name and platform id removed (migration 0011): by the retention job or on the citizen's request. */
    anonymizedAt: ts('anonymized_at'),
    anonymizedReason: text('anonymized_reason'), // retention | request
  },
  (t) => [uniqueIndex('authors_platform_external_uq').on(t.platform, t.externalId)],
);

export const municipalities = pgTable('municipalities', {
  code: text('code').primaryKey(),
  name: text('name').notNull(),
  shortName: text('short_name').notNull(),
  kind: text('kind').notNull(),
  center: text('center').notNull(),
  population: integer('population').notNull(),
  aliases: jsonb('aliases').$type<string[]>().notNull().default([]),
});

export const sectorBlocks = pgTable('sector_blocks', {
  code: text('code').primaryKey(),
  name: text('name').notNull(),
  sort: integer('sort').notNull().default(0),
  telegramChatId: text('telegram_chat_id'),
  active: boolean('active').notNull().default(true),
});

export const agencies = pgTable('agencies', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  shortName: text('short_name').notNull(),
  level: text('level').notNull(), // regional | municipal | organisation
  sector: text('sector').references(() => sectorBlocks.code),
  municipality: text('municipality').references(() => municipalities.code),
  telegramChatId: text('telegram_chat_id'),
  active: boolean('active').notNull().default(true),
});

export const routingRules = pgTable('routing_rules', {
  id: text('id').primaryKey(),
  sector: text('sector')
    .notNull()
    .references(() => sectorBlocks.code),
  municipality: text('municipality').references(() => municipalities.code),
  agencyId: text('agency_id')
    .notNull()
    .references(() => agencies.id),
  priority: integer('priority').notNull().default(0),
  active: boolean('active').notNull().default(true),
});

export type SlaTargetJson = { amount: number; unit: 'calendar_hours' | 'working_hours' | 'working_days' };
export const slaPolicies = pgTable('sla_policies', {
  channelKind: text('channel_kind').primaryKey(),
  firstResponse: jsonb('first_response').$type<SlaTargetJson>().notNull(),
  resolution: jsonb('resolution').$type<SlaTargetJson>().notNull(),
});

/** Production calendar years: where their data comes from and whether it is provisional. */
export const calendarYears = pgTable('calendar_years', {
  year: integer('year').primaryKey(),
  provisional: boolean('provisional').notNull(),
  source: text('source').notNull(),
});

/** Production calendar: only the exceptions to the Mon–Fri week are stored. */
export const calendarDays = pgTable(
  'calendar_days',
  {
    day: date('day', { mode: 'string' }).notNull(),
    kind: text('kind').notNull(), // holiday | working_weekend | short_day (a day may be two: worked and short)
    note: text('note'),
  },
  (t) => [primaryKey({ columns: [t.day, t.kind] })],
);

export const messages = pgTable(
  'messages',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    sourceId: text('source_id')
      .notNull()
      .references(() => sources.id),
    externalId: text('external_id').notNull(),
    authorId: bigint('author_id', { mode: 'number' }).references(() => authors.id),
    text: text('text').notNull(),
    postedAt: ts('posted_at').notNull(),
    receivedAt: ts('received_at').notNull().defaultNow(),
    url: text('url'),
    parentExternalId: text('parent_external_id'),
    /** Where a reply goes on the platform: a Telegram chat id, a VK peer id (null for API/import messages). */
    chatId: text('chat_id'),
    /** Municipality the citizen chose in the bot dialog; it wins over the one found in the text. */
    declaredMunicipality: text('declared_municipality'),
    attachments: jsonb('attachments').$type<unknown[]>().notNull().default([]),
    raw: jsonb('raw').$type<unknown>(),
    /** Pipeline state: received → analyzed → routed; failed when a job gave up. */
    state: text('state').notNull().default('received'),
    stateChangedAt: ts('state_changed_at').notNull().defaultNow(),
    lastError: text('last_error'),
    sector: text('sector'),
    sectorScore: real('sector_score'),
    sentiment: text('sentiment'),
    sentimentScore: real('sentiment_score'),
    toxic: boolean('toxic'),
    toxicScore: real('toxic_score'),
    municipality: text('municipality'),
    address: text('address'),
    terms: jsonb('terms').$type<string[]>(),
    model: text('model'),
    needsReview: boolean('needs_review').notNull().default(false),
    analyzedAt: ts('analyzed_at'),
    incidentId: bigint('incident_id', { mode: 'number' }),
    routedAt: ts('routed_at'),
  },
  (t) => [
    uniqueIndex('messages_source_external_uq').on(t.sourceId, t.externalId),
    index('messages_state_idx')
      .on(t.state, t.stateChangedAt)
      .where(sql`state <> 'routed'`),
    index('messages_incident_idx').on(t.incidentId),
    index('messages_author_idx').on(t.authorId),
    index('messages_received_idx').on(t.receivedAt),
  ],
);

export const incidents = pgTable(
  'incidents',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    status: text('status').notNull().default('new'),
    sector: text('sector').notNull(),
    municipality: text('municipality'),
    agencyId: text('agency_id').references(() => agencies.id),
    routingRuleId: text('routing_rule_id'),
    address: text('address'),
    summary: text('summary').notNull(),
    terms: jsonb('terms').$type<string[]>().notNull().default([]),
    channelKind: text('channel_kind').notNull(),
    messageCount: integer('message_count').notNull().default(0),
    authorCount: integer('author_count').notNull().default(0),
    negativeCount: integer('negative_count').notNull().default(0),
    firstMessageAt: ts('first_message_at').notNull(),
    lastMessageAt: ts('last_message_at').notNull(),
    firstResponseDue: ts('first_response_due').notNull(),
    resolutionDue: ts('resolution_due').notNull(),
    firstRespondedAt: ts('first_responded_at'),
    resolvedAt: ts('resolved_at'),
    /** The first breach of either deadline (history); each deadline has its own mark below. */
    breachedAt: ts('breached_at'),
    /** The first-response deadline was missed and escalated (once). */
    firstResponseBreachedAt: ts('first_response_breached_at'),
    /** The resolution deadline was missed and escalated (once per resolution clock: cleared on reopening). */
    resolutionBreachedAt: ts('resolution_breached_at'),
    /** The resolution clock counts from here after a reopening; null: from the first message. */
    resolutionStartedAt: ts('resolution_started_at'),
    notifiedAt: ts('notified_at'),
    draftedAt: ts('drafted_at'),
    /** Waiting for the citizen (details asked): the SLA clock stands still since this moment. */
    pausedAt: ts('paused_at'),
    /** Closed pauses of the SLA clock, for the audit and for recomputing the deadlines. */
    pauses: jsonb('pauses').$type<{ from: string; to: string }[]>().notNull().default([]),
    /** High reach, very negative, or names officials: replies need a second approval. */
    sensitive: boolean('sensitive').notNull().default(false),
    /** What was done, as the agency wrote it when resolving. */
    result: text('result'),
    createdAt: createdAt(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    index('incidents_open_group_idx').on(t.sector, t.municipality, t.lastMessageAt),
    index('incidents_status_idx').on(t.status),
    index('incidents_created_idx').on(t.createdAt),
  ],
);

/** The audit trail of an incident: every state change and staff action. */
export const incidentEvents = pgTable(
  'incident_events',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    incidentId: bigint('incident_id', { mode: 'number' })
      .notNull()
      .references(() => incidents.id),
    type: text('type').notNull(),
    fromStatus: text('from_status'),
    toStatus: text('to_status'),
    actor: text('actor').notNull(),
    data: jsonb('data').$type<Record<string, unknown>>().notNull().default({}),
    at: ts('at').notNull().defaultNow(),
  },
  (t) => [index('incident_events_incident_idx').on(t.incidentId, t.at)],
);

/** Staff notifications waiting for a connector (outbox): incident cards, reminders, escalations. */
export const notifications = pgTable(
  'notifications',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    idempotencyKey: text('idempotency_key').notNull(),
    incidentId: bigint('incident_id', { mode: 'number' }).references(() => incidents.id),
    channel: text('channel').notNull(), // telegram
    recipient: text('recipient'), // chat id; null when the block has no chat configured yet
    kind: text('kind').notNull(),
    text: text('text').notNull(),
    status: text('status').notNull().default('pending'), // pending | sent | failed | no_recipient
    createdAt: createdAt(),
    sentAt: ts('sent_at'),
  },
  (t) => [uniqueIndex('notifications_key_uq').on(t.idempotencyKey)],
);

/** Reply drafts: prepared by the system, approved (once or twice), edited or rejected by SMM, then sent. */
export const replyDrafts = pgTable(
  'reply_drafts',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    incidentId: bigint('incident_id', { mode: 'number' })
      .notNull()
      .references(() => incidents.id),
    /** One draft per key (`<incident>:acknowledgement`, `<incident>:resolved:<n>`…): a re-run job adds nothing. */
    key: text('key'),
    kind: text('kind').notNull(), // acknowledgement | in_progress | resolved | redirect | details_request
    text: text('text').notNull(),
    /** The text as the system wrote it, when SMM edited it. */
    originalText: text('original_text'),
    templateId: text('template_id'),
    status: text('status').notNull().default('pending'), // pending | approved_once | approved | rejected | sent
    checks: jsonb('checks')
      .$type<{ name: string; ok: boolean; detail?: string; blocking?: boolean }[]>()
      .notNull()
      .default([]),
    /** The most similar replies approved before (text, incident, similarity). */
    suggestions: jsonb('suggestions')
      .$type<{ draftId: number; incidentId: number; text: string; similarity: number }[]>()
      .notNull()
      .default([]),
    requiresSecondApproval: boolean('requires_second_approval').notNull().default(false),
    approvals: jsonb('approvals').$type<{ actor: string; at: string }[]>().notNull().default([]),
    rejectedReason: text('rejected_reason'),
    decidedBy: text('decided_by'),
    decidedAt: ts('decided_at'),
    sentAt: ts('sent_at'),
    /** When the approved text was queued to every citizen; null on a `sent` draft = the sweeper finishes it. */
    deliveredAt: ts('delivered_at'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('reply_drafts_key_uq').on(t.key),
    index('reply_drafts_status_idx').on(t.status),
    index('reply_drafts_undelivered_idx')
      .on(t.sentAt)
      .where(sql`${t.status} = 'sent' AND ${t.deliveredAt} IS NULL`),
  ],
);

/** The reply template library (editable data): per kind of reply, per sector or common (sector null). */
export const replyTemplates = pgTable('reply_templates', {
  id: text('id').primaryKey(),
  kind: text('kind').notNull(),
  sector: text('sector'),
  text: text('text').notNull(),
  active: boolean('active').notNull().default(true),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

/** A citizen's score of how an incident was resolved (1–5), with an optional comment. */
export const satisfaction = pgTable(
  'satisfaction',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    incidentId: bigint('incident_id', { mode: 'number' })
      .notNull()
      .references(() => incidents.id),
    authorId: bigint('author_id', { mode: 'number' })
      .notNull()
      .references(() => authors.id),
    score: integer('score').notNull(),
    /** The citizen said the problem is not solved (after a low score). */
    unresolved: boolean('unresolved').notNull().default(false),
    comment: text('comment'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('satisfaction_incident_author_uq').on(t.incidentId, t.authorId),
    check('satisfaction_score_ck', sql`${t.score} between 1 and 5`),
  ],
);

/** Personal API tokens of staff (stored as SHA-256); the web workspace adds password login. */
export const staffTokens = pgTable('staff_tokens', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  userId: bigint('user_id', { mode: 'number' })
    .notNull()
    .references(() => staffUsers.id),
  tokenHash: text('token_hash').notNull().unique(),
  name: text('name').notNull(),
  revoked: boolean('revoked').notNull().default(false),
  lastUsedAt: ts('last_used_at'),
  createdAt: createdAt(),
});

export const roles = pgTable('roles', {
  code: text('code').primaryKey(),
  name: text('name').notNull(),
});

export const staffUsers = pgTable('staff_users', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  login: text('login').notNull().unique(),
  name: text('name').notNull(),
  passwordHash: text('password_hash'),
  telegramUserId: text('telegram_user_id'),
  active: boolean('active').notNull().default(true),
  failedLogins: integer('failed_logins').notNull().default(0),
  lockedUntil: ts('locked_until'),
  createdAt: createdAt(),
});

/** A role granted to a user, optionally scoped to a sector block, an agency or a municipality. */
export const staffRoles = pgTable(
  'staff_roles',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    userId: bigint('user_id', { mode: 'number' })
      .notNull()
      .references(() => staffUsers.id),
    role: text('role')
      .notNull()
      .references(() => roles.code),
    sector: text('sector').references(() => sectorBlocks.code),
    agencyId: text('agency_id').references(() => agencies.id),
    municipality: text('municipality').references(() => municipalities.code),
  },
  (t) => [index('staff_roles_user_idx').on(t.userId)],
);

/** Key/value settings editable at run time (grouping window, thresholds, …). */
export const settings = pgTable(
  'settings',
  {
    key: text('key').notNull(),
    value: jsonb('value').$type<unknown>().notNull(),
  },
  (t) => [primaryKey({ columns: [t.key] })],
);

/**
 * Staff corrections of the text analysis (sector or sentiment of one message): the audit of who changed
 * what, and training data for the next model (`otklik labels export`, `npm run train`).
 */
export const labels = pgTable(
  'labels',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    messageId: bigint('message_id', { mode: 'number' })
      .notNull()
      .references(() => messages.id),
    task: text('task').notNull(), // sector | sentiment
    label: text('label').notNull(), // a sector code or negative | neutral | positive
    /** The value the message had before this correction (the model's, or an earlier correction's). */
    previous: text('previous'),
    actor: text('actor').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    index('labels_message_task_idx').on(t.messageId, t.task, t.id),
    check('labels_task_ck', sql`${t.task} in ('sector', 'sentiment')`),
  ],
);

/**
 * Messages to citizens and public threads (confirmations, dialog prompts, status changes, official replies):
 * the durable outbox of the `send` queue. One row per idempotency key, so a retried job or a redelivered
 * update never sends twice; `external_id` is the platform's id of the sent message.
 */
export const outboundMessages = pgTable(
  'outbound_messages',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    idempotencyKey: text('idempotency_key').notNull(),
    sourceId: text('source_id')
      .notNull()
      .references(() => sources.id),
    chatId: text('chat_id').notNull(),
    /** Platform id of the message or comment this one answers (a reply in the thread). */
    replyToExternalId: text('reply_to_external_id'),
    /** Platform id of an earlier message of ours to edit in place (an incident card) instead of sending. */
    editExternalId: text('edit_external_id'),
    text: text('text').notNull(),
    /**
     * A file sent with the text as its caption (Telegram only), e.g. `{ kind: 'report', id, format }`, or a
     * Telegram native poll to send or stop (`{ kind: 'poll', … }`, polls of the participation issue).
     */
    attachment: jsonb('attachment').$type<AttachmentRef | PollRef>(),
    buttons: jsonb('buttons').$type<{ text: string; data: string }[][]>(),
    purpose: text('purpose').notNull(), // prompt | confirmation | status | reply | outreach
    incidentId: bigint('incident_id', { mode: 'number' }).references(() => incidents.id),
    messageId: bigint('message_id', { mode: 'number' }).references(() => messages.id),
    status: text('status').notNull().default('pending'), // pending | sent | failed
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    externalId: text('external_id'),
    createdAt: createdAt(),
    sentAt: ts('sent_at'),
  },
  (t) => [
    uniqueIndex('outbound_key_uq').on(t.idempotencyKey),
    index('outbound_pending_idx')
      .on(t.createdAt)
      .where(sql`status = 'pending'`),
    index('outbound_incident_idx').on(t.incidentId),
    index('outbound_created_idx').on(t.createdAt),
  ],
);

/** State of a citizen's conversation with a bot (consent given, appeal waiting for a municipality, …). */
export const botDialogs = pgTable(
  'bot_dialogs',
  {
    sourceId: text('source_id')
      .notNull()
      .references(() => sources.id),
    chatId: text('chat_id').notNull(),
    state: text('state').notNull(),
    data: jsonb('data').$type<Record<string, unknown>>().notNull().default({}),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.sourceId, t.chatId] })],
);

/** Logged-in staff sessions (web workspace): the cookie holds a random id, stored here as SHA-256. */
export const staffSessions = pgTable(
  'staff_sessions',
  {
    idHash: text('id_hash').primaryKey(),
    userId: bigint('user_id', { mode: 'number' })
      .notNull()
      .references(() => staffUsers.id),
    csrfToken: text('csrf_token').notNull(),
    createdAt: createdAt(),
    expiresAt: ts('expires_at').notNull(),
  },
  (t) => [index('staff_sessions_user_idx').on(t.userId)],
);

/** Integration API tokens with scopes (stored as SHA-256). */
export const apiTokens = pgTable('api_tokens', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  name: text('name').notNull(),
  tokenHash: text('token_hash').notNull().unique(),
  scopes: jsonb('scopes').$type<string[]>().notNull(),
  revoked: boolean('revoked').notNull().default(false),
  lastUsedAt: ts('last_used_at'),
  createdAt: createdAt(),
});

/** The audit trail of every write by staff or integrations: who, when, what, before and after. */
export const auditLog = pgTable(
  'audit_log',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    actor: text('actor').notNull(),
    action: text('action').notNull(),
    entity: text('entity').notNull(),
    entityId: text('entity_id'),
    before: jsonb('before').$type<unknown>(),
    after: jsonb('after').$type<unknown>(),
    ip: text('ip'),
    at: ts('at').notNull().defaultNow(),
  },
  (t) => [index('audit_entity_idx').on(t.entity, t.entityId), index('audit_at_idx').on(t.at)],
);

/**
 * Conflict situations (spikes of negative messages, toxic threads, repeated appeals, rude or late replies),
 * each raised once per `key` within its window and acknowledged by staff.
 */
export const conflictAlerts = pgTable(
  'conflict_alerts',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    kind: text('kind').notNull(), // spike | toxic_thread | repeat_author | rude_reply | late_reply
    severity: text('severity').notNull(), // warning | critical
    /** One situation, one alert per window: `spike:<sector>:<municipality>`, `toxic:<incident>`, … */
    key: text('key').notNull(),
    sector: text('sector'),
    municipality: text('municipality'),
    incidentId: bigint('incident_id', { mode: 'number' }).references(() => incidents.id),
    /** The Russian text as the center's chat gets it. */
    text: text('text').notNull(),
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
    acknowledgedBy: text('acknowledged_by'),
    acknowledgedAt: ts('acknowledged_at'),
  },
  (t) => [
    index('conflict_alerts_key_idx').on(t.key, t.createdAt),
    index('conflict_alerts_created_idx').on(t.createdAt),
    index('conflict_alerts_open_idx')
      .on(t.createdAt)
      .where(sql`${t.acknowledgedAt} is null`),
    check(
      'conflict_alerts_kind_ck',
      sql`${t.kind} in ('spike', 'toxic_thread', 'repeat_author', 'rude_reply', 'late_reply')`,
    ),
  ],
);
