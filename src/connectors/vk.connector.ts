/**
 * VK (vk-io): the community's messages and its wall.
 * - Private messages (`message_new`, peer below 2·10⁹) go to the citizen dialog; messages in chats and the
 *   wall (`wall_post_new`, `wall_reply_new`) become messages of the community's `:public` source, comments
 *   linked to their post or parent comment. Edits (`message_edit`, `wall_reply_edit`) are recorded on the
 *   stored message; nothing is registered anew.
 * - Events come by the Callback API (the API checks the secret; `confirmation` answers VK_CONFIRMATION) or by
 *   the Bots Long Poll (our own loop over groups.getLongPollServer, ts advanced only after the events were
 *   stored, so nothing is lost).
 * - Sending (`createVkSender`): a reply in a chat with messages.send (random_id derived from the idempotency
 *   key, so VK itself drops a repeat), or a comment with wall.createComment (guid = the key); a message of
 *   ours edited in place with messages.edit (a closed poll).
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { APIError, VK } from 'vk-io';
import type { Attachment, Button, OutboundMessage } from '../domain/types.ts';
import type { DialogCommand, DialogInput } from './citizen-dialog.ts';
import { deliverReplies, type BotConnectorDeps, type Connector, type ConnectorStatus } from './connector.ts';
import { SendError, type PlatformSender, type SendLimits } from './platform.ts';
import { createPoisonGuard } from './poison.ts';
import { UPDATE_SET_ASIDE } from '../responders/citizen-texts.ts';

const CHAT_PEER_BASE = 2_000_000_000;

export interface VkClientOptions {
  token: string;
  groupId: number;
  apiBaseUrl: string;
  /** Requests per second (VK allows 20 for a community token). */
  apiLimit: number;
  /** Wait after «flood control» (error 9); VK gives no retry-after. @defaultValue 5000 */
  floodWaitMs?: number;
}

export function createVkClient(o: VkClientOptions): VK {
  return new VK({
    token: o.token,
    apiBaseUrl: o.apiBaseUrl.replace(/\/$/, ''),
    // vk-io's default agent is https-only; an http:// base (a local emulator, a proxy) needs its own.
    agent: (o.apiBaseUrl.startsWith('http://')
      ? new http.Agent({ keepAlive: true })
      : new https.Agent({ keepAlive: true })) as https.Agent,
    apiLimit: o.apiLimit,
    apiRetryLimit: 0, // the send queue retries, with its own backoff
    apiTimeout: 15_000,
    pollingGroupId: o.groupId,
  });
}

/** A stable positive int32 from the idempotency key: VK drops a second messages.send with the same random_id. */
export function randomIdOf(key: string): number {
  return createHash('sha256').update(key).digest().readInt32BE(0) & 0x7fffffff;
}

function toSendError(err: unknown, floodWaitMs: number): SendError {
  if (err instanceof APIError) {
    const code = Number(err.code);
    if (code === 6)
      return new SendError('rate_limited', err.message, { retryAfterMs: 1000, code, cause: err });
    if (code === 9)
      return new SendError('rate_limited', err.message, { retryAfterMs: floodWaitMs, code, cause: err });
    if (code === 10 || code === 1) return new SendError('temporary', err.message, { code, cause: err });
    if (code === 5 || code === 27 || code === 28)
      return new SendError('auth', `VK authorization failed (error ${code}); check VK_GROUP_TOKEN`, {
        code,
        cause: err,
      });
    // 900 blacklisted the community, 901 no permission to write (never allowed or forbade messages), 902 privacy.
    return new SendError('rejected', err.message, {
      code,
      cause: err,
      recipientBlocked: code >= 900 && code <= 902,
    });
  }
  return new SendError('temporary', err instanceof Error ? err.message : String(err), {
    cause: err,
    noAnswer: true,
  });
}

const payloadOf = (data: string) => JSON.stringify({ d: data });

/** VK keyboards: inline under the message when it fits (6 rows), else a one-time keyboard. */
function keyboardOf(buttons?: Button[][]): string | undefined {
  if (!buttons?.length) return undefined;
  const rows = buttons.map((row) =>
    row.map((b) =>
      b.url
        ? { action: { type: 'open_link', link: b.url, label: b.text.slice(0, 40) } }
        : { action: { type: 'text', label: b.text.slice(0, 40), payload: payloadOf(b.data) } },
    ),
  );
  return JSON.stringify(
    rows.length <= 6 ? { inline: true, buttons: rows } : { one_time: true, buttons: rows.slice(0, 10) },
  );
}

/** `wall-123_45` (a post) or `wall-123_45_r67` (a comment). */
const WALL_ID = /^wall(-?\d+)_(\d+)(?:_r(\d+))?$/;

export function createVkSender(
  o: VkClientOptions & { limits?: SendLimits },
  vk = createVkClient(o),
): PlatformSender & { vk: VK } {
  const source = `vk:${o.groupId}`;
  return {
    source,
    vk,
    limits: o.limits ?? { perChatMs: 0, globalMs: Math.ceil(1000 / o.apiLimit) },
    async send(msg: OutboundMessage) {
      // Files go only to the staff bot's Telegram chats; a VK community never gets one queued.
      if (msg.document) throw new SendError('rejected', 'VK connector does not send files');
      // Polls reach VK chats as buttons: a community token cannot create VK polls.
      if (msg.poll) throw new SendError('rejected', 'VK connector does not send native polls');
      try {
        // A message of ours changed in place (a closed poll shows its results); the keyboard goes away.
        const edit = /^m(\d+)$/.exec(msg.editExternalId ?? '');
        if (edit) {
          await vk.api.messages.edit({
            peer_id: Number(msg.chatId),
            message_id: Number(edit[1]),
            message: msg.text,
            keyboard: keyboardOf(msg.buttons) ?? JSON.stringify({ inline: true, buttons: [] }),
            dont_parse_links: 1,
          } as never);
          return { externalId: msg.editExternalId! };
        }
        const wall = msg.replyToExternalId ? WALL_ID.exec(msg.replyToExternalId) : null;
        if (wall) {
          const res = (await vk.api.wall.createComment({
            owner_id: Number(wall[1]),
            post_id: Number(wall[2]),
            ...(wall[3] ? { reply_to_comment: Number(wall[3]) } : {}),
            from_group: o.groupId,
            message: msg.text,
            guid: msg.idempotencyKey.slice(0, 64),
          } as never)) as { comment_id: number };
          return { externalId: `wall${wall[1]}_${wall[2]}_r${res.comment_id}` };
        }
        const replyTo = /^m(\d+)$/.exec(msg.replyToExternalId ?? '')?.[1];
        const res = (await vk.api.messages.send({
          peer_ids: Number(msg.chatId),
          random_id: randomIdOf(msg.idempotencyKey),
          message: msg.text,
          keyboard: keyboardOf(msg.buttons),
          dont_parse_links: 1,
          ...(replyTo && Number(msg.chatId) < CHAT_PEER_BASE ? { reply_to: Number(replyTo) } : {}),
        } as never)) as unknown;
        const first = Array.isArray(res)
          ? (res[0] as { message_id?: number; error?: { code: number; description: string } })
          : undefined;
        if (first?.error)
          throw new APIError({
            error_code: first.error.code,
            error_msg: first.error.description,
            request_params: [],
          });
        const id = first ? first.message_id : (res as number);
        return { externalId: `m${id}` };
      } catch (err) {
        throw toSendError(err, o.floodWaitMs ?? 5000);
      }
    },
  };
}

export interface VkConnectorOptions extends VkClientOptions, BotConnectorDeps {
  /** Callback API: the confirmation string VK asks for; set → callback mode, unset → Bots Long Poll. */
  confirmation?: string;
  /** Callback API secret (checked on every event). */
  callbackSecret?: string;
  /** Long-poll wait, seconds. @defaultValue 25 */
  pollWaitS?: number;
  /**
   * Where the Bots Long Poll's `ts` is kept between starts: a restart resumes after the last events handled
   * instead of at VK's current `ts`, which skipped everything that came while the process was down.
   */
  cursor?: { load(): Promise<string | undefined>; save(ts: string): Promise<void> };
}

export interface VkEvent {
  type: string;
  object: Record<string, unknown>;
  group_id?: number;
  event_id?: string;
  secret?: string;
}

export interface VkConnector extends Connector {
  readonly groupId: number;
  readonly source: string;
  readonly mode: 'callback' | 'longpoll';
  readonly confirmation?: string;
  readonly callbackSecret?: string;
  /** Handles one event; throws when it could not be stored (VK redelivers). */
  handleEvent(event: VkEvent): Promise<void>;
}

/** The word of a typed command: lower case, without surrounding spaces and trailing punctuation or emoji. */
export const commandWord = (text: string) =>
  text
    .trim()
    .toLowerCase()
    .replace(/[\s\p{P}\p{S}]+$/u, '');

const TEXT_COMMANDS: Record<string, DialogCommand> = {
  '/start': 'start',
  start: 'start',
  начать: 'start',
  '/status': 'status',
  статус: 'status',
  '/subscribe': 'subscribe',
  подписка: 'subscribe',
  '/stop': 'stop',
  стоп: 'stop',
  '/help': 'help',
  помощь: 'help',
};

interface VkMessage {
  id: number;
  date: number;
  from_id: number;
  peer_id: number;
  text: string;
  conversation_message_id?: number;
  /** Set on `message_edit`: when the message was changed. */
  update_time?: number;
  payload?: string;
  attachments?: {
    type: string;
    photo?: { sizes?: { url: string; width: number }[] };
    doc?: { url?: string };
  }[];
  geo?: { coordinates?: { latitude: number; longitude: number } };
  reply_message?: { id?: number; conversation_message_id?: number };
}

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The attachments of a forwarded message, read defensively (the webhook checks the message, not its forwards). */
function forwardedAttachments(f: Record<string, unknown>): Attachment[] {
  const attachments = (Array.isArray(f.attachments) ? f.attachments : [])
    .filter((a): a is Record<string, unknown> & { type: string } => isObj(a) && typeof a.type === 'string')
    .map((a) => ({
      type: a.type,
      photo:
        isObj(a.photo) && Array.isArray(a.photo.sizes)
          ? {
              sizes: (a.photo.sizes as unknown[]).filter(
                (x): x is { url: string; width: number } =>
                  isObj(x) && typeof x.url === 'string' && typeof x.width === 'number',
              ),
            }
          : undefined,
      doc: isObj(a.doc) && typeof a.doc.url === 'string' ? { url: a.doc.url } : undefined,
    }));
  const c = isObj(f.geo) && isObj(f.geo.coordinates) ? f.geo.coordinates : undefined;
  const geo =
    c && typeof c.latitude === 'number' && typeof c.longitude === 'number'
      ? { coordinates: { latitude: c.latitude, longitude: c.longitude } }
      : undefined;
  return attachmentsOf({ attachments, geo });
}

/**
 * What the citizen forwarded (`fwd_messages`, a forward inside a forward included, to a sane depth): a
 * forwarded message is the citizen's appeal as much as typed words are — Telegram puts a forward's text in
 * the message itself, VK only in `fwd_messages`.
 */
function forwardsOf(m: unknown, depth = 0): { text: string; attachments: Attachment[] }[] {
  if (depth >= 5 || !isObj(m) || !Array.isArray(m.fwd_messages)) return [];
  return m.fwd_messages
    .filter(isObj)
    .flatMap((f) => [
      { text: typeof f.text === 'string' ? f.text.trim() : '', attachments: forwardedAttachments(f) },
      ...forwardsOf(f, depth + 1),
    ]);
}

function attachmentsOf(m: { attachments?: VkMessage['attachments']; geo?: VkMessage['geo'] }): Attachment[] {
  const out: Attachment[] = [];
  for (const a of m.attachments ?? []) {
    if (a.type === 'photo') {
      const best = [...(a.photo?.sizes ?? [])].sort((x, y) => y.width - x.width)[0];
      out.push({ type: 'photo', url: best?.url });
    } else if (a.type === 'doc') out.push({ type: 'document', url: a.doc?.url });
    else if (a.type === 'video') out.push({ type: 'video' });
  }
  if (m.geo?.coordinates)
    out.push({
      type: 'location',
      latitude: m.geo.coordinates.latitude,
      longitude: m.geo.coordinates.longitude,
    });
  return out;
}

export function createVkConnector(opts: VkConnectorOptions): VkConnector {
  const source = `vk:${opts.groupId}`;
  const publicSource = `${source}:public`;
  const mode = opts.confirmation ? 'callback' : 'longpoll';
  const log = opts.log.child({ connector: source });
  const vk = createVkClient(opts);
  const names = new Map<number, string>();
  let running = false;
  let abort: AbortController | undefined;
  let loop: Promise<void> | undefined;
  let lastError: string | undefined;
  let handled = 0;

  async function userName(id: number): Promise<string | undefined> {
    if (names.has(id)) return names.get(id);
    try {
      const [u] = (await vk.api.users.get({ user_ids: [id] } as never)) as {
        first_name: string;
        last_name: string;
      }[];
      const name = u ? `${u.first_name} ${u.last_name}`.trim() : undefined;
      if (name) {
        if (names.size > 10_000) names.clear();
        names.set(id, name);
      }
      return name;
    } catch {
      return undefined; // a name is nice to have, never a reason to lose a message
    }
  }

  async function privateMessage(m: VkMessage) {
    let button: string | undefined;
    let command: DialogCommand | undefined;
    if (m.payload) {
      try {
        const p = JSON.parse(m.payload) as { d?: string; command?: string };
        if (typeof p.d === 'string') button = p.d;
        else if (p.command === 'start') command = 'start';
      } catch {
        /* not our payload: treat as text */
      }
    }
    const own = (m.text ?? '').trim();
    // «Статус?», «Помощь!», « начать » are the commands too: case, spaces and trailing punctuation aside.
    if (!button && !command) command = TEXT_COMMANDS[commandWord(own)];
    // The citizen's own words first, then the texts and attachments of what they forwarded.
    const forwards = button || command ? [] : forwardsOf(m);
    const text = [own, ...forwards.map((f) => f.text)].filter(Boolean).join('\n\n');
    const input: DialogInput = {
      source,
      platform: 'vk',
      chatId: String(m.peer_id),
      user: { id: String(m.from_id), name: await userName(m.from_id) },
      externalId: `m${m.id}`,
      postedAt: new Date(m.date * 1000),
      command,
      button,
      text: button || command ? '' : text,
      attachments: [...attachmentsOf(m), ...forwards.flatMap((f) => f.attachments)],
      raw: m,
    };
    await deliverReplies(opts, input, await opts.dialog.handle(input));
  }

  /** An edited private message goes to the dialog (which records it on the stored appeal). */
  async function privateEdit(m: VkMessage) {
    const at = m.update_time ?? m.date;
    const input: DialogInput = {
      source,
      platform: 'vk',
      chatId: String(m.peer_id),
      user: { id: String(m.from_id), name: await userName(m.from_id) },
      // Each edit has its own id (the replies' idempotency); `editOf` names the message changed.
      externalId: `m${m.id}:e${at}`,
      editOf: `m${m.id}`,
      postedAt: new Date(at * 1000),
      text: (m.text ?? '').trim(),
      attachments: [],
      raw: m,
    };
    await deliverReplies(opts, input, await opts.dialog.handle(input));
  }

  async function handleEvent(event: VkEvent) {
    const o = event.object;
    switch (event.type) {
      case 'message_edit': {
        const m = (o.message ?? o) as VkMessage;
        if (m.from_id <= 0) break; // another community or our own edits (a closed poll)
        if (m.peer_id < CHAT_PEER_BASE) await privateEdit(m);
        else
          await opts.dialog.publicEdit?.({
            source: publicSource,
            externalId: `c${m.peer_id}_${m.conversation_message_id ?? m.id}`,
            text: m.text ?? '',
            at: new Date((m.update_time ?? m.date) * 1000),
          });
        break;
      }
      case 'wall_reply_edit': {
        const c = o as { id: number; from_id: number; date: number; text: string; post_id: number } & {
          post_owner_id?: number;
          owner_id?: number;
        };
        if (c.from_id === -opts.groupId || c.from_id <= 0) break;
        const owner = c.post_owner_id ?? c.owner_id ?? -opts.groupId;
        await opts.dialog.publicEdit?.({
          source: publicSource,
          externalId: `wall${owner}_${c.post_id}_r${c.id}`,
          text: c.text ?? '',
          at: new Date(),
        });
        break;
      }
      case 'message_new': {
        const m = (o.message ?? o) as VkMessage;
        if (m.from_id <= 0) break; // another community or our own echo
        if (m.peer_id < CHAT_PEER_BASE) await privateMessage(m);
        else if (m.text?.trim()) {
          const parent = m.reply_message?.conversation_message_id;
          await opts.ingest({
            source: publicSource,
            externalId: `c${m.peer_id}_${m.conversation_message_id ?? m.id}`,
            text: m.text,
            author: { id: String(m.from_id), name: await userName(m.from_id) },
            postedAt: new Date(m.date * 1000),
            chatId: String(m.peer_id),
            parentExternalId: parent ? `c${m.peer_id}_${parent}` : undefined,
            attachments: attachmentsOf(m),
            raw: event,
          });
        }
        break;
      }
      case 'wall_post_new': {
        const p = o as {
          id: number;
          owner_id: number;
          from_id: number;
          created_by?: number;
          date: number;
          text: string;
          attachments?: VkMessage['attachments'];
        };
        if (p.from_id === -opts.groupId || !p.text?.trim()) break; // the community's own news
        await opts.ingest({
          source: publicSource,
          externalId: `wall${p.owner_id}_${p.id}`,
          text: p.text,
          author: { id: String(p.from_id), name: p.from_id > 0 ? await userName(p.from_id) : undefined },
          postedAt: new Date(p.date * 1000),
          chatId: String(p.owner_id),
          url: `https://vk.com/wall${p.owner_id}_${p.id}`,
          attachments: attachmentsOf(p),
          raw: event,
        });
        break;
      }
      case 'wall_reply_new': {
        const c = o as {
          id: number;
          from_id: number;
          date: number;
          text: string;
          post_id: number;
          post_owner_id?: number;
          owner_id?: number;
          reply_to_comment?: number;
          attachments?: VkMessage['attachments'];
        };
        if (c.from_id === -opts.groupId || c.from_id <= 0 || !c.text?.trim()) break; // our own replies: no loops
        const owner = c.post_owner_id ?? c.owner_id ?? -opts.groupId;
        const post = `wall${owner}_${c.post_id}`;
        await opts.ingest({
          source: publicSource,
          externalId: `${post}_r${c.id}`,
          text: c.text,
          author: { id: String(c.from_id), name: await userName(c.from_id) },
          postedAt: new Date(c.date * 1000),
          chatId: String(owner),
          url: `https://vk.com/${post}?reply=${c.id}`,
          parentExternalId: c.reply_to_comment ? `${post}_r${c.reply_to_comment}` : post,
          attachments: attachmentsOf(c),
          raw: event,
        });
        break;
      }
      default:
        log.debug({ type: event.type }, 'VK event ignored');
    }
    handled++;
  }

  type LpServer = { server: string; key: string; ts: string };
  const getServer = async () =>
    (await vk.api.groups.getLongPollServer({ group_id: opts.groupId })) as LpServer;

  const guard = createPoisonGuard(opts.poison ?? {}, source, log);
  /** Tells the citizen of a private dialog that their set-aside message was not taken (not in chats). */
  async function apologise(e: VkEvent, id: string) {
    const peer =
      e.type === 'message_new' ? (e.object as { message?: VkMessage }).message?.peer_id : undefined;
    if (typeof peer !== 'number' || peer >= CHAT_PEER_BASE) return;
    await opts
      .sendDirect({
        source,
        chatId: String(peer),
        text: UPDATE_SET_ASIDE,
        idempotencyKey: `set-aside:${source}:${id}`,
      })
      .catch((err: unknown) => log.warn({ err }, 'could not tell the citizen about a set-aside update'));
  }

  async function poll(first?: LpServer) {
    let server: LpServer | undefined = first;
    let backoff = 1000;
    while (running) {
      try {
        server ??= await getServer();
        const u = new URL(server.server);
        u.search = new URLSearchParams({
          act: 'a_check',
          key: server.key,
          ts: String(server.ts),
          wait: String(opts.pollWaitS ?? 25),
        }).toString();
        const res = await fetch(u, { signal: abort!.signal });
        if (!res.ok) throw new Error(`long poll answered HTTP ${res.status}`);
        const body = (await res.json()) as { ts?: string; updates?: VkEvent[]; failed?: number };
        const before = server.ts;
        if (body.failed === 1) server.ts = String(body.ts);
        else if (body.failed)
          server = undefined; // key expired or lost: ask for a new server
        else {
          for (const [i, e] of (body.updates ?? []).entries()) {
            if (!running) return;
            try {
              await handleEvent(e);
              guard.succeeded();
            } catch (err) {
              const id = e.event_id ?? `${before}:${i}`;
              if (!running || !(await guard.failed(id, String(e.type), e, err))) throw err;
              await apologise(e, id);
            }
          }
          server.ts = String(body.ts);
        }
        // Written after the events were handled: a crash before it only makes VK deliver them again, and
        // they are stored once (unique source + external id).
        if (server && server.ts !== before)
          await opts.cursor
            ?.save(server.ts)
            .catch((err: unknown) => log.warn({ err }, 'could not store the long-poll position'));
        if (lastError) await opts.alerts.clear(source).catch(() => undefined);
        lastError = undefined;
        backoff = 1000;
      } catch (err) {
        if (!running) return;
        lastError = (err as Error).message;
        if (err instanceof APIError && [5, 27, 28].includes(Number(err.code)))
          await opts.alerts
            .raise(source, `VK authorization failed (error ${err.code}); check VK_GROUP_TOKEN`)
            .catch(() => undefined);
        log.warn({ err, retryInMs: backoff }, 'VK long poll failed; retrying');
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 30_000);
      }
    }
  }

  return {
    name: source,
    groupId: opts.groupId,
    source,
    mode,
    confirmation: opts.confirmation,
    callbackSecret: opts.callbackSecret,
    handleEvent,
    async start() {
      let name: string | undefined;
      try {
        const res = (await vk.api.groups.getById({ group_id: opts.groupId } as never)) as unknown;
        const g = Array.isArray(res)
          ? res[0]
          : (res as { groups?: { screen_name?: string; name?: string }[] }).groups?.[0];
        name = (g as { name?: string } | undefined)?.name;
      } catch (err) {
        lastError = `groups.getById failed: ${(err as Error).message}`;
        if (err instanceof APIError && Number(err.code) === 5)
          await opts.alerts.raise(source, 'VK authorization failed (error 5); check VK_GROUP_TOKEN');
      }
      await opts.registerSources({ source, username: name });
      running = true;
      if (mode === 'longpoll') {
        abort = new AbortController();
        // The first server is taken before start() returns: events from then on are not missed.
        const first = await getServer().catch((err: unknown) => {
          lastError = `groups.getLongPollServer failed: ${(err as Error).message}`;
          return undefined;
        });
        // Resume where the last run stopped (VK keeps the events for a while and answers `failed: 1` with a
        // fresh ts when they are gone); a stored ts ahead of VK's (a reset server) is ignored.
        const saved = await opts.cursor?.load().catch(() => undefined);
        if (
          first &&
          saved &&
          /^\d+$/.test(saved) &&
          /^\d+$/.test(String(first.ts)) &&
          Number(saved) < Number(first.ts)
        )
          first.ts = saved;
        loop = poll(first);
      }
      log.info({ mode }, 'VK connector started');
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
        detail: [mode, `events handled: ${handled}`, lastError ? `error: ${lastError}` : undefined]
          .filter(Boolean)
          .join('; '),
      };
    },
  };
}

export { CHAT_PEER_BASE };
