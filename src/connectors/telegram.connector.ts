/**
 * Telegram (telegraf): the citizen bot and public monitoring.
 * - Private chats go to the citizen dialog (consent, appeals, /status, /subscribe, /stop). The photos of an
 *   album come as separate messages with one `media_group_id`, which the dialog gets to keep them together.
 * - Channel posts, group messages and comments in discussion groups where the bot is a member become
 *   messages of the bot's `:public` source, with their thread linked (replies, comments under posts).
 * - Edits (`edited_message`, `edited_channel_post`) are recorded on the stored message; nothing is registered
 *   anew.
 * - Updates come by webhook (the API checks X-Telegram-Bot-Api-Secret-Token, then calls `handleUpdate`) or
 *   by long polling (our own getUpdates loop: an update is confirmed only after it was handled, so a crash
 *   or a database outage loses nothing).
 * - Sending goes through `createTelegramSender`, used by the send queue.
 */
import { createHash } from 'node:crypto';
import { Telegraf, Telegram, TelegramError, type Context } from 'telegraf';
import type { Update, Message } from 'telegraf/types';
import type { Attachment, Button, OutboundMessage } from '../domain/types.ts';
import type { DialogCommand, DialogInput, DialogReply } from './citizen-dialog.ts';
import type { StaffHandler, StaffInput } from './staff-dialog.ts';
import { deliverReplies, type BotConnectorDeps, type Connector, type ConnectorStatus } from './connector.ts';
import { SendError, type PlatformSender, type SendLimits } from './platform.ts';
import { createPoisonGuard } from './poison.ts';
import { UPDATE_SET_ASIDE } from '../responders/citizen-texts.ts';

export const TELEGRAM_DEFAULT_LIMITS: SendLimits = { perChatMs: 1000, globalMs: Math.ceil(1000 / 30) };
const ALLOWED_UPDATES = [
  'message',
  'edited_message',
  'callback_query',
  'channel_post',
  'edited_channel_post',
  'poll_answer',
] as const;

/** `123456:AA…` → `123456`: the bot id is the part of the token before the colon. */
export function botIdOf(token: string): string {
  const id = token.split(':')[0] ?? '';
  if (!/^\d+$/.test(id)) throw new Error('a Telegram bot token looks like 123456789:AA…');
  return id;
}

/** The webhook secret of one bot, derived from the installation secret (Telegram allows A-Z a-z 0-9 _ -). */
export function webhookSecretFor(secret: string, botId: string): string {
  return createHash('sha256').update(`${secret}:telegram:${botId}`).digest('hex');
}

function toSendError(err: unknown): SendError {
  if (err instanceof TelegramError) {
    const code = err.code;
    const desc = err.description || err.message;
    if (code === 429)
      return new SendError('rate_limited', desc, {
        retryAfterMs: (err.parameters?.retry_after ?? 1) * 1000,
        code,
        cause: err,
      });
    if (code === 401 || code === 404) return new SendError('auth', `Telegram: ${desc}`, { code, cause: err });
    if (code >= 500) return new SendError('temporary', desc, { code, cause: err });
    // 403: blocked by the user, deactivated, or never started the bot — the person cannot be reached.
    return new SendError('rejected', desc, { code, cause: err, recipientBlocked: code === 403 });
  }
  return new SendError('temporary', err instanceof Error ? err.message : String(err), {
    cause: err,
    noAnswer: true,
  });
}

const inlineKeyboard = (buttons?: Button[][]) =>
  buttons?.length
    ? {
        inline_keyboard: buttons.map((row) =>
          row.map((b) =>
            b.url ? { text: b.text, url: b.url } : { text: b.text, callback_data: b.data.slice(0, 64) },
          ),
        ),
      }
    : undefined;

export interface TelegramSenderOptions {
  token: string;
  apiRoot: string;
  limits?: SendLimits;
}

export function createTelegramSender(opts: TelegramSenderOptions): PlatformSender & { telegram: Telegram } {
  const telegram = new Telegram(opts.token, { apiRoot: opts.apiRoot });
  const source = `telegram:${botIdOf(opts.token)}`;
  const photoIds = new Map<string, string>();
  return {
    source,
    telegram,
    limits: opts.limits ?? TELEGRAM_DEFAULT_LIMITS,
    async send(msg: OutboundMessage) {
      // A reply in the same chat quotes the citizen's message (`<chat id>:<message id>`).
      const [replyChat, replyId] = (msg.replyToExternalId ?? '').split(':');
      const replyTo =
        replyChat === msg.chatId && replyId && /^\d+$/.test(replyId) ? Number(replyId) : undefined;
      try {
        if (msg.poll) {
          // A native poll: non-anonymous, so each answer comes back as a poll_answer update with the voter.
          if (msg.poll.stop && msg.editExternalId) {
            const [chat, id] = msg.editExternalId.split(':');
            await telegram.stopPoll(chat!, Number(id)).catch((err: unknown) => {
              if (err instanceof TelegramError && /already (been )?closed/i.test(err.description)) return;
              throw err;
            });
            return { externalId: msg.editExternalId };
          }
          const sent = await telegram.sendPoll(msg.chatId, msg.poll.question, msg.poll.options, {
            is_anonymous: false,
            allows_multiple_answers: false,
            // «Отписаться» under a native poll too, as under every mailing.
            reply_markup: inlineKeyboard(msg.buttons),
          });
          return { externalId: `${sent.chat.id}:${sent.message_id}`, pollId: sent.poll.id };
        }
        if (msg.editExternalId) {
          // An incident card updated in place; «message is not modified» means it already shows this.
          const [chat, id] = msg.editExternalId.split(':');
          await telegram
            .editMessageText(chat, Number(id), undefined, msg.text, {
              reply_markup: inlineKeyboard(msg.buttons),
              link_preview_options: { is_disabled: true },
            })
            .catch((err: unknown) => {
              if (err instanceof TelegramError && /not modified/i.test(err.description)) return;
              throw err;
            });
          return { externalId: msg.editExternalId };
        }
        if (msg.document) {
          const doc = await telegram.sendDocument(
            msg.chatId,
            { source: msg.document.data, filename: msg.document.filename },
            { caption: msg.text.slice(0, 1024) },
          );
          return { externalId: `${doc.chat.id}:${doc.message_id}` };
        }
        if (msg.photoUrl) {
          // By URL the first time (Telegram fetches it), then by the file_id it gave: no refetch per recipient.
          const photo = await telegram.sendPhoto(msg.chatId, photoIds.get(msg.photoUrl) ?? msg.photoUrl, {
            caption: msg.text,
            ...(msg.html ? { parse_mode: 'HTML' as const } : {}),
            reply_markup: inlineKeyboard(msg.buttons),
          });
          const best = photo.photo[photo.photo.length - 1];
          if (best && photoIds.size < 100) photoIds.set(msg.photoUrl, best.file_id);
          return { externalId: `${photo.chat.id}:${photo.message_id}` };
        }
        const sent = await telegram.sendMessage(msg.chatId, msg.text, {
          ...(msg.html ? { parse_mode: 'HTML' as const } : {}),
          reply_markup: inlineKeyboard(msg.buttons),
          ...(replyTo
            ? { reply_parameters: { message_id: replyTo, allow_sending_without_reply: true } }
            : {}),
          link_preview_options: { is_disabled: true },
        });
        return { externalId: `${sent.chat.id}:${sent.message_id}` };
      } catch (err) {
        throw toSendError(err);
      }
    },
  };
}

export interface TelegramConnectorOptions extends BotConnectorDeps {
  /** Set for the staff bot: cards' buttons and staff answers instead of the citizen dialog and monitoring. */
  staff?: StaffHandler;
  token: string;
  apiRoot: string;
  /** Public base URL; the webhook is `${webhookBaseUrl}/webhooks/telegram/<bot id>`. Absent → long polling. */
  webhookBaseUrl?: string;
  /** The installation's webhook secret (each bot gets its own derived one). */
  webhookSecret: string;
  /** Long-poll timeout in seconds. @defaultValue 25 */
  pollTimeoutS?: number;
}

export interface TelegramConnector extends Connector {
  readonly botId: string;
  readonly source: string;
  readonly secretToken: string;
  readonly mode: 'webhook' | 'polling';
  /** Handles one update (webhook body or polled); throws when it could not be stored (the update is redelivered). */
  handleUpdate(update: Update): Promise<void>;
}

const COMMANDS: Record<string, DialogCommand> = {
  start: 'start',
  status: 'status',
  subscribe: 'subscribe',
  stop: 'stop',
  help: 'help',
};

function nameOf(
  u: { first_name?: string; last_name?: string; username?: string } | undefined,
): string | undefined {
  if (!u) return undefined;
  return [u.first_name, u.last_name].filter(Boolean).join(' ') || u.username;
}

function attachmentsOf(m: Message): Attachment[] {
  const out: Attachment[] = [];
  if ('photo' in m && m.photo?.length) {
    const best = m.photo[m.photo.length - 1]!;
    out.push({ type: 'photo', fileId: best.file_id, caption: m.caption });
  }
  if ('location' in m && m.location)
    out.push({ type: 'location', latitude: m.location.latitude, longitude: m.location.longitude });
  if ('document' in m && m.document)
    out.push({ type: 'document', fileId: m.document.file_id, caption: m.caption });
  if ('video' in m && m.video) out.push({ type: 'video', fileId: m.video.file_id, caption: m.caption });
  return out;
}

const textOf = (m: Message): string => ('text' in m && m.text) || ('caption' in m && m.caption) || '';

/** The channel post an automatic forward in a discussion group stands for (`<channel id>:<post id>`). */
function forwardedPost(m: Message): string | undefined {
  const origin = (m as { forward_origin?: { type: string; chat?: { id: number }; message_id?: number } })
    .forward_origin;
  if (origin?.type === 'channel' && origin.chat && origin.message_id)
    return `${origin.chat.id}:${origin.message_id}`;
  const legacy = m as { forward_from_chat?: { id: number }; forward_from_message_id?: number };
  if (legacy.forward_from_chat && legacy.forward_from_message_id)
    return `${legacy.forward_from_chat.id}:${legacy.forward_from_message_id}`;
  return undefined;
}

export function createTelegramConnector(opts: TelegramConnectorOptions): TelegramConnector {
  const botId = botIdOf(opts.token);
  const source = `telegram:${botId}`;
  const publicSource = `${source}:public`;
  const secretToken = webhookSecretFor(opts.webhookSecret, botId);
  const mode = opts.webhookBaseUrl ? 'webhook' : 'polling';
  const log = opts.log.child({ connector: source });
  const bot = new Telegraf(opts.token, { telegram: { apiRoot: opts.apiRoot }, handlerTimeout: 60_000 });
  let username: string | undefined;
  let running = false;
  let abort: AbortController | undefined;
  let loop: Promise<void> | undefined;
  let lastError: string | undefined;
  let handled = 0;
  let lastUpdateAt: Date | undefined;

  // Errors go back to the caller of handleUpdate (the update is not confirmed), never to telegraf's default
  // handler, which would set process.exitCode.
  bot.catch((err) => {
    throw err;
  });

  async function runDialog(
    ctx: Context,
    input: DialogInput,
    editTarget?: { chatId: string; messageId: number },
  ) {
    // A reply marked `edit` replaces the buttons of the pressed message; when that fails it is sent anew.
    await deliverReplies(opts, input, await opts.dialog.handle(input), async (r) => {
      if (!r.edit || !editTarget) return false;
      return ctx.telegram
        .editMessageReplyMarkup(editTarget.chatId, editTarget.messageId, undefined, inlineKeyboard(r.buttons))
        .then(() => true)
        .catch((err: unknown) => {
          log.debug({ err }, 'could not edit the buttons; sending them anew');
          return false;
        });
    });
  }

  function privateInput(m: Message, command?: DialogCommand): DialogInput {
    const from = m.from!;
    return {
      source,
      platform: 'telegram',
      chatId: String(m.chat.id),
      user: { id: String(from.id), name: nameOf(from) },
      externalId: `${m.chat.id}:${m.message_id}`,
      postedAt: new Date(m.date * 1000),
      command,
      text: command ? '' : textOf(m),
      attachments: attachmentsOf(m),
      ...('media_group_id' in m && m.media_group_id ? { mediaGroupId: m.media_group_id } : {}),
      raw: m,
    };
  }

  /** An edited message: the stored one (private appeal or monitored post) gets the new text. */
  async function edited(m: Message, ctx: Context) {
    const editedAt = new Date(((m as { edit_date?: number }).edit_date ?? m.date) * 1000);
    if (m.chat.type === 'private') {
      if (!m.from || m.from.is_bot) return;
      await runDialog(ctx, {
        source,
        platform: 'telegram',
        chatId: String(m.chat.id),
        user: { id: String(m.from.id), name: nameOf(m.from) },
        // Each edit has its own id (the replies' idempotency); `editOf` names the message changed.
        externalId: `${m.chat.id}:${m.message_id}:e${editedAt.getTime() / 1000}`,
        editOf: `${m.chat.id}:${m.message_id}`,
        postedAt: editedAt,
        text: textOf(m),
        attachments: [],
        raw: m,
      });
      return;
    }
    // The discussion group's copy of a channel post is stored as the post; its edit comes as the post's.
    if ((m as { is_automatic_forward?: boolean }).is_automatic_forward) return;
    await opts.dialog.publicEdit?.({
      source: publicSource,
      externalId: `${m.chat.id}:${m.message_id}`,
      text: textOf(m),
      at: editedAt,
    });
  }

  async function monitor(m: Message, kind: 'channel' | 'group') {
    if ((m as { is_automatic_forward?: boolean }).is_automatic_forward) {
      // The copy of a channel post in its discussion group: stored as the post itself (same id → once).
      const post = forwardedPost(m);
      if (!post) return;
      const text = textOf(m);
      if (!text) return;
      const origin = (m as { sender_chat?: { id: number; title?: string; username?: string } }).sender_chat;
      await opts.ingest({
        source: publicSource,
        externalId: post,
        text,
        author: { id: `chat${origin?.id ?? post.split(':')[0]}`, name: origin?.title },
        postedAt: new Date(m.date * 1000),
        chatId: String(m.chat.id),
        url: origin?.username ? `https://t.me/${origin.username}/${post.split(':')[1]}` : undefined,
        raw: m,
      });
      return;
    }
    const text = textOf(m);
    if (!text) return; // stickers, service messages, members joining
    const chat = m.chat as { id: number; title?: string; username?: string };
    const reply = (m as { reply_to_message?: Message }).reply_to_message;
    let parent: string | undefined;
    if (reply)
      parent = (reply as { is_automatic_forward?: boolean }).is_automatic_forward
        ? forwardedPost(reply)
        : `${chat.id}:${reply.message_id}`;
    const senderChat = (m as { sender_chat?: { id: number; title?: string } }).sender_chat;
    // A group message names its sender in `from` (or `sender_chat`, an anonymous admin); one with neither is
    // malformed: ignored like a service message, not a TypeError answered 500 (issue 9, «Hostile input»).
    if (kind === 'group' && !senderChat && !m.from) return;
    const author =
      kind === 'channel' || senderChat
        ? { id: `chat${(senderChat ?? chat).id}`, name: (senderChat ?? chat).title }
        : { id: String(m.from!.id), name: nameOf(m.from) };
    await opts.ingest({
      source: publicSource,
      externalId: `${chat.id}:${m.message_id}`,
      text,
      author,
      postedAt: new Date(m.date * 1000),
      chatId: String(chat.id),
      url: chat.username ? `https://t.me/${chat.username}/${m.message_id}` : undefined,
      parentExternalId: parent,
      attachments: attachmentsOf(m),
      raw: m,
    });
  }

  async function runStaff(outcome: { replies: { text: string; buttons?: Button[][] }[] }, input: StaffInput) {
    const replies: DialogReply[] = outcome.replies.map((r) => ({ ...r, durable: true, purpose: 'prompt' }));
    await deliverReplies(
      opts,
      { ...input, platform: 'telegram', postedAt: new Date(), text: '', attachments: [] },
      replies,
    );
  }

  if (opts.staff) {
    const staff = opts.staff;
    bot.on('callback_query', async (ctx) => {
      const q = ctx.callbackQuery;
      if (!('data' in q) || !q.message) return void (await ctx.answerCbQuery().catch(() => undefined));
      const input: StaffInput = {
        source,
        chatId: String(q.message.chat.id),
        user: { id: String(q.from.id), name: nameOf(q.from) },
        externalId: `cb:${q.id}`,
        data: q.data,
      };
      const outcome = await staff.button(input);
      await ctx
        .answerCbQuery(outcome.alert, outcome.alert ? { show_alert: true } : undefined)
        .catch((err: unknown) => log.debug({ err }, 'answerCallbackQuery failed'));
      await runStaff(outcome, input);
    });
    bot.on('message', async (ctx) => {
      const m = ctx.message;
      if (!m.from || m.from.is_bot || !('text' in m)) return;
      const input: StaffInput = {
        source,
        chatId: String(m.chat.id),
        user: { id: String(m.from.id), name: nameOf(m.from) },
        externalId: `${m.chat.id}:${m.message_id}`,
        text: m.text,
      };
      await runStaff(await staff.text(input), input);
    });
  } else {
    bot.on('message', async (ctx) => {
      const m = ctx.message;
      if (m.chat.type !== 'private') return monitor(m, 'group');
      if (!m.from || m.from.is_bot) return;
      // Commands: telegraf's bot.command() matches only with a bot_command entity; so do we.
      const entity =
        'entities' in m ? m.entities?.find((e) => e.type === 'bot_command' && e.offset === 0) : undefined;
      let command: DialogCommand | undefined;
      if (entity && 'text' in m) {
        const name = m.text.slice(1, entity.length).split('@')[0]!.toLowerCase();
        command = COMMANDS[name] ?? 'help';
      }
      await runDialog(ctx, privateInput(m, command));
    });

    bot.on('channel_post', async (ctx) => monitor(ctx.channelPost, 'channel'));
    bot.on('edited_message', async (ctx) => edited(ctx.editedMessage, ctx));
    bot.on('edited_channel_post', async (ctx) => edited(ctx.editedChannelPost, ctx));

    // An answer in a native poll of ours (non-anonymous, so the voter is known): a vote. The voter's
    // private chat with the bot has their user id; a vote on behalf of a chat is not a citizen's.
    bot.on('poll_answer', async (ctx) => {
      const a = ctx.pollAnswer;
      if (!a.user || a.voter_chat || a.user.is_bot) return;
      await runDialog(ctx, {
        source,
        platform: 'telegram',
        chatId: String(a.user.id),
        user: { id: String(a.user.id), name: nameOf(a.user) },
        externalId: `pa:${ctx.update.update_id}`,
        postedAt: new Date(),
        pollAnswer: { pollId: a.poll_id, optionIds: a.option_ids },
        text: '',
        attachments: [],
        raw: a,
      });
    });

    bot.on('callback_query', async (ctx) => {
      const q = ctx.callbackQuery;
      await ctx.answerCbQuery().catch((err: unknown) => log.debug({ err }, 'answerCallbackQuery failed'));
      if (!('data' in q) || !q.message || q.message.chat.type !== 'private') return;
      const chatId = String(q.message.chat.id);
      // Buttons of a finished step disappear, so a citizen cannot press them twice.
      if (/^(consent|muni):/.test(q.data))
        await ctx.telegram
          .editMessageReplyMarkup(chatId, q.message.message_id, undefined, undefined)
          .catch(() => undefined);
      await runDialog(
        ctx,
        {
          source,
          platform: 'telegram',
          chatId,
          user: { id: String(q.from.id), name: nameOf(q.from) },
          externalId: `cb:${q.id}`,
          postedAt: new Date(),
          button: q.data,
          text: '',
          attachments: [],
          raw: q,
        },
        { chatId, messageId: q.message.message_id },
      );
    });
  }

  async function handleUpdate(update: Update) {
    await bot.handleUpdate(update);
    handled++;
    lastUpdateAt = new Date();
  }

  async function describe() {
    try {
      const me = await bot.telegram.getMe();
      username = me.username;
      bot.botInfo = me;
      lastError = undefined;
      await opts.alerts.clear(source);
    } catch (err) {
      lastError = `getMe failed: ${(err as Error).message}`;
      if (err instanceof TelegramError && (err.code === 401 || err.code === 404))
        await opts.alerts.raise(
          source,
          `Telegram refused the bot token (${err.code}); check TELEGRAM_BOT_TOKEN`,
        );
      log.error({ err }, 'Telegram getMe failed');
    }
    await opts.registerSources({ source, username });
  }

  const guard = createPoisonGuard(opts.poison ?? {}, source, log);
  /** Tells the citizen of a private chat that their set-aside message was not taken (not in groups). */
  async function apologise(u: Update) {
    const m = ('message' in u && u.message) || ('edited_message' in u && u.edited_message) || undefined;
    const chat = m ? m.chat : 'callback_query' in u ? u.callback_query.message?.chat : undefined;
    if (chat?.type !== 'private') return;
    await opts
      .sendDirect({
        source,
        chatId: String(chat.id),
        text: UPDATE_SET_ASIDE,
        idempotencyKey: `set-aside:${source}:${u.update_id}`,
      })
      .catch((err: unknown) => log.warn({ err }, 'could not tell the citizen about a set-aside update'));
  }

  async function poll() {
    let offset = 0;
    let backoff = 1000;
    const timeout = opts.pollTimeoutS ?? 25;
    while (running) {
      try {
        const asked = Date.now();
        const updates = (await bot.telegram.callApi(
          'getUpdates',
          { offset, timeout, limit: 100, allowed_updates: [...ALLOWED_UPDATES] },
          { signal: abort!.signal as never },
        )) as Update[];
        for (const u of updates) {
          if (!running) return;
          try {
            await handleUpdate(u);
            guard.succeeded();
          } catch (err) {
            const kind = Object.keys(u).find((k) => k !== 'update_id') ?? 'unknown';
            if (!running || !(await guard.failed(String(u.update_id), kind, u, err))) throw err;
            await apologise(u);
          }
          offset = u.update_id + 1;
        }
        // A server that ignores the long-poll timeout (some emulators, misconfigured proxies) would make this
        // a busy loop: an empty answer that came at once is followed by a short pause.
        if (!updates.length && timeout > 0 && Date.now() - asked < 100)
          await new Promise((r) => setTimeout(r, 250));
        if (lastError) await opts.alerts.clear(source).catch(() => undefined);
        lastError = undefined;
        backoff = 1000;
      } catch (err) {
        if (!running) return;
        lastError = (err as Error).message;
        if (err instanceof TelegramError && (err.code === 401 || err.code === 404))
          await opts.alerts
            .raise(source, `Telegram refused the bot token (${err.code}); check TELEGRAM_BOT_TOKEN`)
            .catch(() => undefined);
        if (err instanceof TelegramError && err.code === 409)
          await bot.telegram.deleteWebhook().catch(() => undefined); // a webhook left from another mode
        log.warn({ err, retryInMs: backoff }, 'Telegram polling failed; retrying');
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 30_000);
      }
    }
  }

  return {
    name: source,
    botId,
    source,
    secretToken,
    mode,
    handleUpdate,
    async start() {
      await describe();
      running = true;
      if (mode === 'webhook') {
        const url = `${opts.webhookBaseUrl!.replace(/\/$/, '')}/webhooks/telegram/${botId}`;
        await bot.telegram
          .setWebhook(url, { secret_token: secretToken, allowed_updates: [...ALLOWED_UPDATES] })
          .then(() => log.info({ url }, 'Telegram webhook set'))
          .catch((err: unknown) => {
            lastError = `setWebhook failed: ${(err as Error).message}`;
            log.error({ err }, 'Telegram setWebhook failed');
          });
        return;
      }
      await bot.telegram.deleteWebhook().catch(() => undefined);
      abort = new AbortController();
      loop = poll();
      log.info({ username }, 'Telegram long polling started');
    },
    async stop() {
      running = false;
      abort?.abort();
      await loop?.catch(() => undefined);
    },
    status(): ConnectorStatus {
      return {
        name: source,
        ok: running && !lastError,
        detail: [
          username ? `@${username}` : undefined,
          mode,
          `updates handled: ${handled}`,
          lastUpdateAt ? `last at ${lastUpdateAt.toISOString()}` : undefined,
          lastError ? `error: ${lastError}` : undefined,
        ]
          .filter(Boolean)
          .join('; '),
      };
    },
  };
}
