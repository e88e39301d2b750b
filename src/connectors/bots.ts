/**
 * The bots and communities of an installation, built from the config: senders (used by the send queue in
 * any process that runs workers) and listeners (the connectors role). Adding a platform means one module
 * like telegram.connector.ts that exports a sender and a connector, and a few lines here.
 */
import type { PoisonDeps } from './poison.ts';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { SlaDeadlines } from '../domain/sla.ts';
import type { InboundMessage, OutboundMessage } from '../domain/types.ts';
import { queueOutbound, type OutboundDeps } from '../responders/outbound.ts';
import type { CitizenStore } from '../store/citizen.store.ts';
import type { CursorStore } from '../store/cursor.store.ts';
import type { ReferenceStore } from '../store/reference.store.ts';
import type { ConnectorAlerts } from './alerts.ts';
import { createCitizenDialog, type DialogInput, type DialogReply, type PollVoter } from './citizen-dialog.ts';
import type { Connector } from './connector.ts';
import type { StaffHandler } from './staff-dialog.ts';
import { SendError, type PlatformSender } from './platform.ts';
import type { SendLimiter } from './rate-limit.ts';
import {
  createTelegramConnector,
  createTelegramSender,
  type TelegramConnector,
} from './telegram.connector.ts';
import { createVkConnector, createVkSender, type VkConnector } from './vk.connector.ts';

export function hasBots(config: Config): boolean {
  return Boolean(config.TELEGRAM_BOT_TOKEN?.length || config.VK_GROUP_TOKEN?.length);
}

/** Senders by messenger source id (`telegram:<bot id>`, `vk:<group id>`). */
export function createSenders(config: Config): Map<string, PlatformSender> {
  const out = new Map<string, PlatformSender>();
  for (const token of config.TELEGRAM_BOT_TOKEN ?? []) {
    const s = createTelegramSender({
      token,
      apiRoot: config.TELEGRAM_API_ROOT,
      limits: {
        perChatMs: config.TELEGRAM_RATE_PER_CHAT_MS,
        globalMs: Math.ceil(1000 / config.TELEGRAM_RATE_PER_SECOND),
      },
    });
    out.set(s.source, s);
  }
  (config.VK_GROUP_TOKEN ?? []).forEach((token, i) => {
    const s = createVkSender({
      token,
      groupId: config.VK_GROUP_ID![i]!,
      apiBaseUrl: config.VK_API_BASE_URL,
      apiLimit: config.VK_API_LIMIT,
      floodWaitMs: config.VK_FLOOD_WAIT_MS,
    });
    out.set(s.source, s);
  });
  return out;
}

export interface BotsDeps extends OutboundDeps {
  config: Config;
  citizens: CitizenStore;
  reference: ReferenceStore;
  ingest: (msg: InboundMessage) => Promise<{ id: number; created: boolean }>;
  deadlines: (at: Date) => Promise<SlaDeadlines>;
  senders: Map<string, PlatformSender>;
  limiter: SendLimiter;
  alerts: ConnectorAlerts;
  webhookSecret: string;
  log: Logger;
  /** A citizen said the problem is not solved (satisfaction): reopen the incident. */
  reopen?: (incidentId: number, score: number) => Promise<boolean>;
  /** The staff bot's handler (STAFF_BOT_TOKEN). */
  staffHandler?: StaffHandler;
  /** Votes in polls (buttons and native poll answers). */
  polls?: PollVoter;
  /** Positions in update streams kept across restarts (the VK Bots Long Poll `ts`). */
  cursors?: CursorStore;
  /** Setting aside an update a long poll cannot handle (see poison.ts). */
  poison?: PoisonDeps;
}

export interface Bots {
  telegram: TelegramConnector[];
  vk: VkConnector[];
  all: Connector[];
  start(): Promise<void>;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function createBots(deps: BotsDeps): Bots {
  const { config } = deps;
  const dialog = createCitizenDialog({
    citizens: deps.citizens,
    ingest: deps.ingest,
    deadlines: deps.deadlines,
    reopen: deps.reopen,
    log: deps.log.child({ module: 'dialog' }),
    polls: deps.polls,
  });

  /** Replies that are stored go through the outbox and the send queue. */
  const deliver = async (reply: DialogReply, input: DialogInput, index: number) => {
    await queueOutbound(deps, {
      idempotencyKey:
        reply.purpose === 'confirmation' && reply.messageId
          ? `confirm:${reply.messageId}`
          : `dlg:${input.source}:${input.externalId}:${index}`,
      sourceId: input.source,
      chatId: input.chatId,
      replyToExternalId: reply.replyToExternalId ?? null,
      text: reply.text,
      buttons: reply.buttons ?? null,
      purpose: reply.purpose,
      messageId: reply.messageId ?? null,
    });
  };

  /** Replies before consent: sent at once through the same limiter, stored nowhere. */
  const sendDirect = async (msg: OutboundMessage) => {
    const sender = deps.senders.get(msg.source);
    if (!sender) throw new Error(`no sender for ${msg.source}`);
    for (let attempt = 0; ; attempt++) {
      const wait = await deps.limiter.reserve(sender.source, msg.chatId, sender.limits);
      if (wait) await sleep(wait);
      try {
        await sender.send(msg);
        return;
      } catch (err) {
        if (!(err instanceof SendError) || err.kind === 'rejected') {
          deps.log.warn({ err, source: msg.source }, 'a reply before consent could not be sent');
          return;
        }
        if (err.kind === 'auth') await deps.alerts.raise(sender.source, err.message);
        if (attempt >= 4) throw err; // the update is not confirmed; the platform delivers it again
        const ms = err.retryAfterMs ?? 500 * 2 ** attempt;
        if (err.kind === 'rate_limited') await deps.limiter.pushBack(sender.source, msg.chatId, ms);
        else await sleep(ms);
      }
    }
  };

  const registerSources = async (bot: { source: string; username?: string }) => {
    const [platform] = bot.source.split(':') as ['telegram' | 'vk'];
    const title =
      platform === 'telegram'
        ? `Telegram-бот ${bot.username ? `@${bot.username}` : bot.source}`
        : `Сообщество ВКонтакте ${bot.username ? `«${bot.username}»` : bot.source}`;
    await deps.reference.upsertSource({ id: bot.source, platform, channelKind: 'messenger', name: title });
    await deps.reference.upsertSource({
      id: `${bot.source}:public`,
      platform,
      channelKind: 'social',
      name: `${title}: каналы, группы и комментарии`,
    });
  };

  const common = {
    dialog,
    ingest: deps.ingest,
    deliver,
    sendDirect,
    registerSources,
    alerts: deps.alerts,
    log: deps.log,
    poison: deps.poison,
  };
  const telegram = (config.TELEGRAM_BOT_TOKEN ?? []).map((token) =>
    createTelegramConnector({
      ...common,
      token,
      apiRoot: config.TELEGRAM_API_ROOT,
      webhookBaseUrl: config.TELEGRAM_WEBHOOK_URL,
      webhookSecret: deps.webhookSecret,
      pollTimeoutS: config.TELEGRAM_POLL_TIMEOUT_S,
    }),
  );
  if (config.STAFF_BOT_TOKEN && deps.staffHandler)
    telegram.push(
      createTelegramConnector({
        ...common,
        token: config.STAFF_BOT_TOKEN,
        apiRoot: config.TELEGRAM_API_ROOT,
        webhookBaseUrl: config.TELEGRAM_WEBHOOK_URL,
        webhookSecret: deps.webhookSecret,
        pollTimeoutS: config.TELEGRAM_POLL_TIMEOUT_S,
        staff: deps.staffHandler,
      }),
    );
  const confirmations = config.VK_CONFIRMATION ?? [];
  const vk = (config.VK_GROUP_TOKEN ?? []).map((token, i) =>
    createVkConnector({
      ...common,
      token,
      groupId: config.VK_GROUP_ID![i]!,
      apiBaseUrl: config.VK_API_BASE_URL,
      apiLimit: config.VK_API_LIMIT,
      confirmation: confirmations.length ? (confirmations[i] ?? confirmations[0]) : undefined,
      callbackSecret: config.VK_CALLBACK_SECRET,
      pollWaitS: config.VK_POLL_WAIT_S,
      ...(deps.cursors
        ? {
            cursor: {
              load: () => deps.cursors!.get(`vk-longpoll:${config.VK_GROUP_ID![i]}`),
              save: (ts: string) => deps.cursors!.set(`vk-longpoll:${config.VK_GROUP_ID![i]}`, ts),
            },
          }
        : {}),
    }),
  );
  const all: Connector[] = [...telegram, ...vk];
  return {
    telegram,
    vk,
    all,
    async start() {
      for (const c of all) await c.start();
    },
    async stop() {
      await Promise.all(all.map((c) => c.stop()));
    },
  };
}
