/**
 * An emulator of the Telegram Bot API (https://core.telegram.org/bots/api) for integration tests.
 *
 * It serves the real HTTP protocol on 127.0.0.1, so a client such as telegraf, configured with
 * `telegram: { apiRoot: emulator.url }`, talks to it unchanged:
 *
 * - `GET|POST {url}/bot{TOKEN}/{method}` with parameters in the query string, a JSON body,
 *   an `application/x-www-form-urlencoded` body or a `multipart/form-data` body (file uploads);
 *   method names are case-insensitive, like on the real server;
 * - answers `{ok:true,result}` / `{ok:false,error_code,description,parameters?}` with the same HTTP status;
 * - `GET {url}/file/bot{TOKEN}/{file_path}` downloads files (see getFile);
 * - updates go out through a real long poll (getUpdates) or through webhook POSTs, never both (409).
 *
 * Behaviour modelled on the real server that tests may trip over on purpose:
 * - text formatting is parsed (HTML, Markdown, MarkdownV2); malformed markup fails with
 *   "Bad Request: can't parse entities: ..." and the returned Message carries the plain text + entities;
 * - inline keyboards are validated (callback_data is 1-64 bytes, a button needs an action);
 * - replying to / editing / deleting a message the emulator never saw fails with the real errors;
 *   every message built by `updates.*` or sent by a bot is known;
 * - editing a message into identical content fails with "message is not modified", and editMessageText
 *   without reply_markup removes the inline keyboard;
 * - with `limits`, sends over Telegram's rates (per bot, per chat) answer 429 with retry_after and are
 *   counted (`violations()`, `limitStats()`); `blockUser` makes sends to a chat answer 403 (bot blocked);
 * - a second concurrent getUpdates terminates the first one with 409;
 * - polls (sendPoll) count the answers built by `updates.pollAnswer`, a stopped poll (stopPoll) takes none,
 *   and stopping it twice fails with "poll has already been closed".
 *
 * Deliberately lenient where tests cannot set the world up: sending to a numeric chat id the emulator has
 * not seen creates that chat (private for positive ids, supergroup for -100…, group for other negative
 * ids), an unknown `@username` becomes a channel, and webhooks may use plain `http://` URLs.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

// ---------------------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------------------

export interface BotInfo {
  id: number;
  username: string;
  first_name: string;
}

export interface SentRecord {
  token: string;
  method: string;
  /** The id of the chat the message went to, as a string (an `@username` target is resolved to the id). */
  chat_id: string;
  message_id: number;
  /** The `text` parameter as sent (markup included); the returned Message holds the parsed plain text. */
  text?: string;
  caption?: string;
  /** The file_id or URL sent, or the file_id given to an uploaded file. */
  photo?: string;
  /** sendDocument: the uploaded file (name, type, bytes), so a test can open what was posted. */
  document?: UploadedFile;
  /** sendPoll / stopPoll: the poll as it stands (id, question, options with their counts, closed or not). */
  poll?: EmulatedPoll;
  reply_markup?: unknown;
  reply_to_message_id?: number;
  /** All parameters, normalised: numbers and booleans of form bodies converted, JSON fields parsed. */
  params: Record<string, unknown>;
  at: number;
}

/** A poll sent by a bot (sendPoll), as the Bot API's Poll object. */
export interface EmulatedPoll {
  id: string;
  question: string;
  options: { text: string; voter_count: number }[];
  total_voter_count: number;
  is_closed: boolean;
  is_anonymous: boolean;
  type: 'regular' | 'quiz';
  allows_multiple_answers: boolean;
}

export interface CallRecord {
  token: string;
  method: string;
  params: Record<string, unknown>;
  status: number;
  /** The error description of a failed call. */
  description?: string;
  at: number;
}

export interface TgUserInput {
  id: number;
  first_name?: string;
  last_name?: string;
  username?: string;
  language_code?: string;
}

export type FailNextError =
  { code: 429; retryAfter: number } | { code: 500 | 502 | 400 | 403; description?: string };

export interface TelegramEmulatorOptions {
  /** How many times a failed webhook delivery is retried before the update is dropped (default 4). */
  webhookRetries?: number;
  /** Delay before the first retry; doubles with each further retry (default 100 ms). */
  webhookRetryDelayMs?: number;
  /** How long a webhook POST may take before it counts as failed (default 10 s). */
  webhookTimeoutMs?: number;
  /** Telegram's sending limits, enforced: a message over them answers 429 with retry_after (off by default). */
  limits?: TelegramLimits;
  /**
   * Answers to send* methods come this long after the message was taken (the real API's latency): a crash of
   * the client in between leaves a message delivered that the client never heard about. Default 0.
   */
  sendLatencyMs?: number;
}

/**
 * Sending limits per bot (send* methods, copyMessage, forwardMessage; edits and callback answers are free).
 * Each limit is a GCRA meter (a leaky bucket): a message is over the limit when it arrives more than
 * `toleranceMs` before its theoretical time, i.e. a steady rate never trips it and a burst does at once.
 */
export interface TelegramLimits {
  /** Messages per second of one bot, all chats together (Telegram: 30). */
  perSecond?: number;
  /** Messages per second to one chat (Telegram: 1). */
  perChatPerSecond?: number;
  /** Early arrival forgiven (network and scheduling jitter of the machine), ms (default 100). */
  toleranceMs?: number;
}

/** What the limit meters saw of one bot (or of all bots). */
export interface LimitStats {
  /** Sends that passed the meters. */
  accepted: number;
  /** Sends over a limit, answered 429. */
  violations: number;
  /** The most sends accepted within any 1000 ms (a strict sliding window, for the record). */
  busiestSecond: number;
  /** The shortest time between two accepted sends to one chat, ms (null: no chat got two). */
  closestChatGapMs: number | null;
}

export interface TelegramUpdateBuilders {
  privateText(user: TgUserInput, text: string, extra?: Record<string, unknown>): Record<string, unknown>;
  privatePhoto(user: TgUserInput, caption?: string, extra?: Record<string, unknown>): Record<string, unknown>;
  /**
   * An album (several photos sent at once): one `message` update per photo, all with one media_group_id, the
   * caption (when given) on the item `captionIndex` (0, the first one, is where Telegram's apps put it).
   */
  privateAlbum(
    user: TgUserInput,
    count: number,
    opts?: { caption?: string; captionIndex?: number },
  ): Record<string, unknown>[];
  /**
   * The edit of a message built by a builder (`message` → `edited_message`, `channel_post` →
   * `edited_channel_post`): the same message with the new text (or caption) and `edit_date`.
   */
  edited(update: Record<string, unknown>, text: string): Record<string, unknown>;
  privateLocation(user: TgUserInput, latitude: number, longitude: number): Record<string, unknown>;
  callback(
    user: TgUserInput,
    data: string,
    message: { chat_id: number; message_id: number; text?: string },
  ): Record<string, unknown>;
  channelPost(
    channel: { id: number; title: string; username?: string },
    text: string,
  ): Record<string, unknown>;
  groupMessage(
    group: { id: number; title: string; type?: 'group' | 'supergroup' },
    user: TgUserInput,
    text: string,
    replyTo?: { message_id: number },
  ): Record<string, unknown>;
  discussionComment(
    group: { id: number; title: string },
    user: TgUserInput,
    text: string,
    channelPost: { channelId: number; channelMessageId: number; groupMessageId: number },
  ): Record<string, unknown>;
  /**
   * A poll_answer update: `user` chose `optionIds` (empty: retracted) in the poll `pollId` sent by a bot.
   * The poll's counts change as on the real server; answering a stopped poll throws (the app cannot do it).
   */
  pollAnswer(user: TgUserInput, pollId: string, optionIds: number[]): Record<string, unknown>;
}

export interface TelegramEmulator {
  /** The apiRoot, e.g. `http://127.0.0.1:PORT`. */
  url: string;
  addBot(token: string, info?: Partial<BotInfo>): BotInfo;
  pushUpdate(token: string, update: Record<string, unknown>): Record<string, unknown>;
  sent(token?: string): SentRecord[];
  calls(token?: string): CallRecord[];
  failNext(method: string, n: number, error: FailNextError, token?: string): void;
  webhook(token: string): { url: string; secret_token?: string } | null;
  waitForSent(
    pred: (r: SentRecord) => boolean,
    opts?: { timeoutMs?: number; count?: number },
  ): Promise<SentRecord[]>;
  close(): Promise<void>;
  updates: TelegramUpdateBuilders;
  /** Sends over the `limits` (answered 429), of one bot or all. */
  violations(token?: string): number;
  limitStats(token?: string): LimitStats;
  /** The user blocks the bot (all bots when `token` is absent): sends to their chat answer 403. */
  blockUser(userId: number, token?: string): void;
}

/** A file that arrived in a multipart body; `params.photo` of an upload is one of these. */
export class UploadedFile {
  constructor(
    readonly filename: string,
    readonly contentType: string,
    readonly data: Buffer,
  ) {}
  get size(): number {
    return this.data.length;
  }
  toJSON(): Record<string, unknown> {
    return { filename: this.filename, contentType: this.contentType, size: this.size };
  }
}

// ---------------------------------------------------------------------------------------------------------
// Internals
// ---------------------------------------------------------------------------------------------------------

type Json = Record<string, unknown>;

interface ApiResult {
  status: number;
  body: Json;
}

class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly description: string,
    readonly parameters?: Json,
  ) {
    super(description);
  }
}

const badRequest = (what: string) => new ApiError(400, `Bad Request: ${what}`);

/** A successful result that carries a `description` too (setWebhook / deleteWebhook). */
class Described {
  constructor(
    readonly result: unknown,
    readonly description: string,
  ) {}
}

interface ChatInfo {
  id: number;
  type: 'private' | 'group' | 'supergroup' | 'channel';
  title?: string;
  username?: string;
  first_name?: string;
  last_name?: string;
}

interface StoredMessage {
  msg: Json;
  /** Token of the bot that sent it; `undefined` with `byBot` means "some bot" (a test-built message). */
  senderToken?: string;
  byBot: boolean;
}

interface StoredFile {
  file_id: string;
  file_unique_id: string;
  file_path: string;
  width: number;
  height: number;
  data: Buffer;
}

interface Poller {
  wake(): void;
  finish(error?: ApiError): void;
}

interface BotState {
  token: string;
  info: BotInfo;
  nextUpdateId: number;
  /** Updates not yet confirmed (getUpdates) or delivered (webhook), oldest first. */
  queue: Json[];
  /** The allowed_updates setting, shared by getUpdates and setWebhook like on the real server. */
  allowedUpdates?: string[];
  webhook: { url: string; secret_token?: string; max_connections: number } | null;
  lastError?: { date: number; message: string };
  poller?: Poller;
  delivering: boolean;
  commands: Map<string, unknown>;
}

interface FailRule {
  method: string;
  token?: string;
  remaining: number;
  error: FailNextError;
}

type Handler = (bot: BotState, p: Json, signal: AbortSignal) => unknown;

/** Update kinds that are delivered only when explicitly listed in allowed_updates. */
const OPT_IN_UPDATES = new Set(['chat_member', 'message_reaction', 'message_reaction_count']);

const JSON_FIELDS = new Set([
  'reply_markup',
  'reply_parameters',
  'link_preview_options',
  'allowed_updates',
  'entities',
  'caption_entities',
  'commands',
  'scope',
  'media',
  'options',
]);
const INT_FIELDS = new Set([
  'message_id',
  'reply_to_message_id',
  'offset',
  'limit',
  'timeout',
  'message_thread_id',
  'cache_time',
  'max_connections',
  'user_id',
]);
const BOOL_FIELDS = new Set([
  'disable_notification',
  'protect_content',
  'show_alert',
  'drop_pending_updates',
  'disable_web_page_preview',
  'allow_sending_without_reply',
  'has_spoiler',
  'show_caption_above_media',
  'is_anonymous',
  'allows_multiple_answers',
  'is_closed',
]);

const CHAT_ACTIONS = new Set([
  'typing',
  'upload_photo',
  'record_video',
  'upload_video',
  'record_voice',
  'upload_voice',
  'upload_document',
  'choose_sticker',
  'find_location',
  'record_video_note',
  'upload_video_note',
]);

const INLINE_BUTTON_ACTIONS = [
  'url',
  'callback_data',
  'web_app',
  'login_url',
  'switch_inline_query',
  'switch_inline_query_current_chat',
  'switch_inline_query_chosen_chat',
  'copy_text',
  'callback_game',
  'pay',
];

/** A real 2×2 grey JPEG: the content of photos "sent by users". */
const SAMPLE_JPEG = Buffer.from(
  '/9j/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1RV19iZ2hnPk1xeXBkeFxlZ2P/2wBDARESEhgVGC8aGi9jQjhCY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2P/wAARCAACAAIDASIAAhEBAxEB/8QAFQABAQAAAAAAAAAAAAAAAAAAAAP/xAAUEAEAAAAAAAAAAAAAAAAAAAAA/8QAFAEBAAAAAAAAAAAAAAAAAAAAAP/EABQRAQAAAAAAAAAAAAAAAAAAAAD/2gAMAwEAAhEDEQA/AKAA/9k=',
  'base64',
);

const nowSec = () => Math.floor(Date.now() / 1000);
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const clone = <T>(v: T): T => structuredClone(v);
const byteOffset = (s: string, i: number) => Buffer.byteLength(s.slice(0, i), 'utf8');

/** The kind of an update: its only key besides update_id. */
function updateKind(update: Json): string {
  return Object.keys(update).find((k) => k !== 'update_id') ?? 'unknown';
}

// ---------------------------------------------------------------------------------------------------------
// Request bodies
// ---------------------------------------------------------------------------------------------------------

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Parses a JSON, urlencoded or multipart body into raw parameters (strings, JSON values, files). */
async function parseBody(contentType: string | undefined, raw: Buffer): Promise<Json> {
  const ct = (contentType ?? '').toLowerCase();
  if (raw.length === 0) return {};
  if (ct.startsWith('multipart/form-data')) {
    const form = await new Request('http://emulator.local/', {
      method: 'POST',
      headers: { 'content-type': contentType ?? '' },
      body: raw,
    }).formData();
    const out: Json = {};
    for (const [key, value] of form) {
      if (typeof value === 'string') out[key] = value;
      else out[key] = new UploadedFile(value.name, value.type, Buffer.from(await value.arrayBuffer()));
    }
    return out;
  }
  if (ct.startsWith('application/x-www-form-urlencoded')) {
    return Object.fromEntries(new URLSearchParams(raw.toString('utf8')));
  }
  // JSON is the default, like on the real server.
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    throw badRequest("can't parse JSON object");
  }
  if (!isObj(parsed)) throw badRequest("can't parse JSON object");
  return parsed;
}

/** Form bodies carry everything as strings: convert the known numeric, boolean and JSON fields. */
function normalizeParams(raw: Json): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(raw)) {
    if (value === null || value === undefined) continue;
    let v = value;
    if (typeof v === 'string') {
      if (JSON_FIELDS.has(key) && /^\s*[[{"]/.test(v)) {
        try {
          v = JSON.parse(v);
        } catch {
          // left as a string: the method reports it as unparsable
        }
      } else if ((INT_FIELDS.has(key) || key === 'chat_id') && /^-?\d+$/.test(v)) {
        v = Number(v);
      } else if (BOOL_FIELDS.has(key) && /^(true|false|1|0)$/i.test(v)) {
        v = v === '1' || v.toLowerCase() === 'true';
      }
    }
    out[key] = v;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Text formatting (parse_mode) and automatic entities
// ---------------------------------------------------------------------------------------------------------

interface Formatted {
  text: string;
  entities: Json[];
}

const cantParse = (what: string) => badRequest(`can't parse entities: ${what}`);

const HTML_TAGS: Record<string, string> = {
  b: 'bold',
  strong: 'bold',
  i: 'italic',
  em: 'italic',
  u: 'underline',
  ins: 'underline',
  s: 'strikethrough',
  strike: 'strikethrough',
  del: 'strikethrough',
  'tg-spoiler': 'spoiler',
  span: 'spoiler',
  a: 'text_link',
  code: 'code',
  pre: 'pre',
  blockquote: 'blockquote',
  'tg-emoji': 'custom_emoji',
};

function decodeHtmlEntity(s: string, i: number): { text: string; next: number } {
  const m = /^&(lt|gt|amp|quot|#\d{1,7}|#x[0-9a-f]{1,6});/i.exec(s.slice(i, i + 12));
  if (!m) return { text: '&', next: i + 1 }; // a lone "&" is taken literally
  const name = (m[1] ?? '').toLowerCase();
  const named: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"' };
  let text = named[name];
  if (text === undefined) {
    const code = name.startsWith('#x') ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
    text = code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : '';
  }
  return { text, next: i + m[0].length };
}

function parseHtml(s: string): Formatted {
  let out = '';
  const entities: Json[] = [];
  const stack: { tag: string; start: number; attrs: string; language?: string }[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (c === '&') {
      const d = decodeHtmlEntity(s, i);
      out += d.text;
      i = d.next;
      continue;
    }
    if (c !== '<') {
      out += c;
      i++;
      continue;
    }
    const close = s.indexOf('>', i);
    if (close < 0) throw cantParse(`Unclosed start tag at byte offset ${byteOffset(s, i)}`);
    const inner = s.slice(i + 1, close);
    if (inner.startsWith('/')) {
      const name = inner.slice(1).trim().toLowerCase();
      const top = stack.pop();
      if (!top || top.tag !== name) {
        throw cantParse(
          `Unmatched end tag at byte offset ${byteOffset(s, i)}, expected "</${top?.tag ?? ''}>", found "</${name}>"`,
        );
      }
      const parent = stack[stack.length - 1];
      const lang = /class\s*=\s*["']?language-([\w+-]+)/i.exec(top.attrs)?.[1];
      if (top.tag === 'code' && parent?.tag === 'pre' && parent.start === top.start) {
        // <pre><code class="language-x">…</code></pre> is one pre entity with a language
        if (lang) parent.language = lang;
      } else if (out.length > top.start) {
        const type = HTML_TAGS[top.tag] ?? 'bold';
        const e: Json = { type, offset: top.start, length: out.length - top.start };
        const href = /href\s*=\s*["']?([^"'\s>]*)/i.exec(top.attrs)?.[1];
        if (type === 'text_link') e.url = href ?? '';
        if (type === 'pre' && top.language) e.language = top.language;
        entities.push(e);
      }
      i = close + 1;
      continue;
    }
    const m = /^([a-zA-Z][\w-]*)(\s[^]*)?$/.exec(inner);
    const name = (m?.[1] ?? '').toLowerCase();
    if (!m || !(name in HTML_TAGS)) {
      throw cantParse(
        `Unsupported start tag "${name || inner.split(/\s/)[0]}" at byte offset ${byteOffset(s, i)}`,
      );
    }
    stack.push({ tag: name, start: out.length, attrs: m[2] ?? '' });
    i = close + 1;
  }
  const open = stack.pop();
  if (open) throw cantParse(`Can't find end tag corresponding to start tag "${open.tag}"`);
  entities.sort((a, b) => (a.offset as number) - (b.offset as number));
  return { text: out, entities };
}

const MDV2_ENTITY: Record<string, string> = {
  '*': 'bold',
  _: 'italic',
  __: 'underline',
  '~': 'strikethrough',
  '||': 'spoiler',
  '[': 'text_link',
};
const MDV2_NAMES: Record<string, string> = {
  bold: 'Bold',
  italic: 'Italic',
  underline: 'Underline',
  strikethrough: 'Strikethrough',
  spoiler: 'Spoiler',
  text_link: 'TextUrl',
};

function parseMarkdownV2(s: string): Formatted {
  let out = '';
  const entities: Json[] = [];
  const stack: { marker: string; start: number; byte: number }[] = [];
  let i = 0;
  const reserved = (ch: string) =>
    cantParse(`Character '${ch}' is reserved and must be escaped with the preceding '\\'`);
  while (i < s.length) {
    const c = s[i] as string;
    if (c === '\\') {
      const next = s[i + 1];
      if (next === undefined) throw reserved('\\');
      out += next;
      i += 2;
      continue;
    }
    if (c === '`') {
      const pre = s.startsWith('```', i);
      const fence = pre ? '```' : '`';
      let j = i + fence.length;
      let body = '';
      while (j < s.length && !s.startsWith(fence, j)) {
        if (s[j] === '\\' && j + 1 < s.length) {
          body += s[j + 1];
          j += 2;
        } else body += s[j++];
      }
      if (j >= s.length) {
        throw cantParse(
          `Can't find end of ${pre ? 'Pre' : 'Code'} entity at byte offset ${byteOffset(s, i)}`,
        );
      }
      const e: Json = { type: pre ? 'pre' : 'code', offset: out.length, length: 0 };
      if (pre) {
        const nl = body.indexOf('\n');
        const first = nl >= 0 ? body.slice(0, nl) : '';
        if (nl >= 0 && /^[\w+-]+$/.test(first)) {
          e.language = first;
          body = body.slice(nl + 1);
        }
      }
      out += body;
      e.length = body.length;
      if (body.length) entities.push(e);
      i = j + fence.length;
      continue;
    }
    if (c === '>' && (i === 0 || s[i - 1] === '\n')) {
      i++; // blockquote line marker
      continue;
    }
    const marker = c === '_' && s[i + 1] === '_' ? '__' : c === '|' && s[i + 1] === '|' ? '||' : c;
    if (marker in MDV2_ENTITY && marker !== '[') {
      const top = stack[stack.length - 1];
      if (top?.marker === marker) {
        stack.pop();
        if (out.length > top.start) {
          entities.push({ type: MDV2_ENTITY[marker], offset: top.start, length: out.length - top.start });
        }
      } else if (stack.some((e) => e.marker === marker)) {
        const open = stack.find((e) => e.marker === marker) as { marker: string; byte: number };
        throw cantParse(
          `Can't find end of ${MDV2_NAMES[MDV2_ENTITY[marker] ?? ''] ?? ''} entity at byte offset ${open.byte}`,
        );
      } else {
        stack.push({ marker, start: out.length, byte: byteOffset(s, i) });
      }
      i += marker.length;
      continue;
    }
    if (c === '[') {
      stack.push({ marker: '[', start: out.length, byte: byteOffset(s, i) });
      i++;
      continue;
    }
    if (c === ']') {
      const top = stack[stack.length - 1];
      if (top?.marker !== '[' || s[i + 1] !== '(') throw reserved(']');
      let j = i + 2;
      let url = '';
      while (j < s.length && s[j] !== ')') {
        if (s[j] === '\\' && j + 1 < s.length) {
          url += s[j + 1];
          j += 2;
        } else url += s[j++];
      }
      if (j >= s.length) throw cantParse(`Can't find end of a URL at byte offset ${byteOffset(s, i + 2)}`);
      stack.pop();
      if (out.length > top.start) {
        entities.push({ type: 'text_link', offset: top.start, length: out.length - top.start, url });
      }
      i = j + 1;
      continue;
    }
    if ('>#+-={}.!()|'.includes(c)) throw reserved(c);
    out += c;
    i++;
  }
  const open = stack[0];
  if (open) {
    throw cantParse(
      `Can't find end of ${MDV2_NAMES[MDV2_ENTITY[open.marker] ?? ''] ?? ''} entity at byte offset ${open.byte}`,
    );
  }
  entities.sort((a, b) => (a.offset as number) - (b.offset as number));
  return { text: out, entities };
}

/** Legacy "Markdown": *bold*, _italic_, `code`, ```pre```, [text](url); no nesting. */
function parseMarkdownLegacy(s: string): Formatted {
  let out = '';
  const entities: Json[] = [];
  let i = 0;
  const unclosed = (at: number) =>
    cantParse(`Can't find end of the entity starting at byte offset ${byteOffset(s, at)}`);
  while (i < s.length) {
    const c = s[i] as string;
    if (c === '\\' && '_*`['.includes(s[i + 1] ?? '')) {
      out += s[i + 1];
      i += 2;
      continue;
    }
    if (c === '*' || c === '_' || c === '`') {
      const fence = c === '`' && s.startsWith('```', i) ? '```' : c;
      const end = s.indexOf(fence, i + fence.length);
      if (end < 0) throw unclosed(i);
      const body = s.slice(i + fence.length, end);
      const type = c === '*' ? 'bold' : c === '_' ? 'italic' : fence === '```' ? 'pre' : 'code';
      if (body.length) entities.push({ type, offset: out.length, length: body.length });
      out += body;
      i = end + fence.length;
      continue;
    }
    if (c === '[') {
      const m = /^\[([^\]]*)\]\(([^)]*)\)/.exec(s.slice(i));
      if (!m) throw unclosed(i);
      const text = m[1] ?? '';
      if (text.length)
        entities.push({ type: 'text_link', offset: out.length, length: text.length, url: m[2] });
      out += text;
      i += m[0].length;
      continue;
    }
    out += c;
    i++;
  }
  return { text: out, entities };
}

function formatText(text: string, parseMode: unknown, entities: unknown): Formatted {
  const mode = typeof parseMode === 'string' ? parseMode.toLowerCase() : '';
  if (mode === '') return { text, entities: Array.isArray(entities) ? (entities as Json[]) : [] };
  if (mode === 'html') return parseHtml(text);
  if (mode === 'markdownv2') return parseMarkdownV2(text);
  if (mode === 'markdown') return parseMarkdownLegacy(text);
  throw badRequest('unsupported parse_mode');
}

/** The entities the Telegram clients/servers detect by themselves in plain text. */
function detectEntities(text: string): Json[] {
  const re =
    /(?<![\w/])(\/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?)(?![\w@/])|(https?:\/\/[^\s<>"]+)|(?<![\w@])(@[A-Za-z][A-Za-z0-9_]{4,31})(?!\w)|(?<![\p{L}\p{N}_#])(#[\p{L}_][\p{L}\p{N}_]*)/gu;
  const out: Json[] = [];
  for (const m of text.matchAll(re)) {
    const offset = m.index;
    if (m[1]) out.push({ type: 'bot_command', offset, length: m[1].length });
    else if (m[2]) out.push({ type: 'url', offset, length: m[2].replace(/[.,;:!?)]+$/, '').length });
    else if (m[3]) out.push({ type: 'mention', offset, length: m[3].length });
    else if (m[4]) out.push({ type: 'hashtag', offset, length: m[4].length });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Reply markup validation
// ---------------------------------------------------------------------------------------------------------

function validateReplyMarkup(markup: unknown): Json | undefined {
  if (markup === undefined) return undefined;
  const bad = () => badRequest("can't parse reply keyboard markup JSON object");
  if (!isObj(markup)) throw bad();
  if ('inline_keyboard' in markup) {
    const rows = markup.inline_keyboard;
    if (!Array.isArray(rows) || rows.some((r) => !Array.isArray(r))) {
      throw badRequest(
        'can\'t parse inline keyboard button: field "inline_keyboard" must be an Array of Arrays',
      );
    }
    for (const row of rows as unknown[][]) {
      for (const button of row) {
        if (!isObj(button) || typeof button.text !== 'string') {
          throw badRequest('can\'t parse inline keyboard button: Field "text" must be of type String');
        }
        const actions = INLINE_BUTTON_ACTIONS.filter((k) => button[k] !== undefined);
        if (actions.length === 0) throw badRequest('text buttons are unallowed in the inline keyboard');
        if (button.callback_data !== undefined) {
          const bytes =
            typeof button.callback_data === 'string' ? Buffer.byteLength(button.callback_data) : 0;
          if (bytes < 1 || bytes > 64) throw badRequest('BUTTON_DATA_INVALID');
        }
        if (button.url !== undefined) {
          const url = String(button.url);
          if (!/^(https?|tg):\/\/\S+$/i.test(url)) {
            throw badRequest(`inline keyboard button URL '${url}' is invalid: Wrong HTTP URL`);
          }
        }
      }
    }
    return markup;
  }
  if ('keyboard' in markup) {
    const rows = markup.keyboard;
    if (!Array.isArray(rows) || rows.some((r) => !Array.isArray(r))) throw bad();
    for (const row of rows as unknown[][]) {
      for (const b of row)
        if (typeof b !== 'string' && !(isObj(b) && typeof b.text === 'string')) throw bad();
    }
    return markup;
  }
  if ('remove_keyboard' in markup || 'force_reply' in markup) return markup;
  throw bad();
}

// ---------------------------------------------------------------------------------------------------------
// The emulator
// ---------------------------------------------------------------------------------------------------------

export async function startTelegramEmulator(
  options: TelegramEmulatorOptions = {},
): Promise<TelegramEmulator> {
  const webhookRetries = options.webhookRetries ?? 4;
  const webhookRetryDelayMs = options.webhookRetryDelayMs ?? 100;
  const webhookTimeoutMs = options.webhookTimeoutMs ?? 10_000;
  const limits = options.limits;
  const blocked = new Set<string>(); // `${token}:${chat}` or `*:${chat}`
  interface Meter {
    /** Theoretical arrival time of the next send, per bot and per `${bot}:${chat}`. */
    tat: Map<string, number>;
    accepted: number;
    violations: number;
    window: number[];
    windowStart: number;
    busiestSecond: number;
    lastToChat: Map<string, number>;
    closestChatGapMs: number | null;
  }
  const meters = new Map<string, Meter>();
  const meterOf = (token: string) => {
    let m = meters.get(token);
    if (!m) {
      m = {
        tat: new Map(),
        accepted: 0,
        violations: 0,
        window: [],
        windowStart: 0,
        busiestSecond: 0,
        lastToChat: new Map(),
        closestChatGapMs: null,
      };
      meters.set(token, m);
    }
    return m;
  };
  const COUNTED = (method: string) =>
    (method.startsWith('send') && method !== 'sendChatAction') ||
    method === 'copyMessage' ||
    method === 'forwardMessage';

  /** Blocked chats answer 403; over the limits, 429 (counted). */
  function checkSend(token: string, method: string, params: Json): void {
    if (!COUNTED(method)) return;
    const chat = String(params.chat_id ?? '');
    if (blocked.has(`${token}:${chat}`) || blocked.has(`*:${chat}`))
      throw new ApiError(403, 'Forbidden: bot was blocked by the user');
    if (!limits) return;
    const m = meterOf(token);
    const now = performance.timeOrigin + performance.now();
    const tolerance = limits.toleranceMs ?? 100;
    const gates: [string, number][] = [];
    if (limits.perSecond) gates.push(['*', 1000 / limits.perSecond]);
    if (limits.perChatPerSecond) gates.push([chat, 1000 / limits.perChatPerSecond]);
    let wait = 0;
    for (const [key] of gates) {
      const tat = Math.max(m.tat.get(key) ?? 0, now);
      if (tat - now > tolerance) wait = Math.max(wait, tat - tolerance - now);
    }
    if (wait > 0) {
      m.violations++;
      const s = Math.max(1, Math.ceil(wait / 1000));
      throw new ApiError(429, `Too Many Requests: retry after ${s}`, { retry_after: s });
    }
    for (const [key, interval] of gates) m.tat.set(key, Math.max(m.tat.get(key) ?? 0, now) + interval);
    m.accepted++;
    m.window.push(now);
    while (m.window[m.windowStart]! <= now - 1000) m.windowStart++;
    m.busiestSecond = Math.max(m.busiestSecond, m.window.length - m.windowStart);
    if (m.windowStart > 4096) {
      m.window = m.window.slice(m.windowStart);
      m.windowStart = 0;
    }
    const last = m.lastToChat.get(chat);
    if (last !== undefined)
      m.closestChatGapMs = Math.min(m.closestChatGapMs ?? Infinity, Math.round(now - last));
    m.lastToChat.set(chat, now);
  }

  const bots = new Map<string, BotState>();
  const chats = new Map<number, ChatInfo>();
  const lastMessageId = new Map<number, number>();
  const messages = new Map<string, StoredMessage>();
  const files = new Map<string, StoredFile>();
  const callbackIds = new Set<string>();
  /** Polls sent by bots, by poll id: the Poll object, where it is, and who answered what. */
  const polls = new Map<
    string,
    { poll: EmulatedPoll; chatId: number; messageId: number; answers: Map<number, number[]> }
  >();
  const sentRecords: SentRecord[] = [];
  const callRecords: CallRecord[] = [];
  const failRules: FailRule[] = [];
  const sentWaiters = new Set<() => void>();
  /** Rejecters of pending waitForSent calls, run by close(). */
  const onClose = new Set<() => void>();
  const pollers = new Set<Poller>();
  const sleepers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  const outgoing = new Set<http.ClientRequest>();
  let closed = false;
  let seq = 0; // for ids of files, callback queries, synthesized chats

  // ----- chats, messages, files -------------------------------------------------------------------------

  const msgKey = (chatId: number, messageId: number) => `${chatId}:${messageId}`;

  function nextMessageId(chatId: number): number {
    const id = (lastMessageId.get(chatId) ?? 0) + 1;
    lastMessageId.set(chatId, id);
    return id;
  }

  function registerChat(chat: ChatInfo): ChatInfo {
    const known = chats.get(chat.id);
    const merged = { ...known, ...chat };
    chats.set(chat.id, merged);
    return merged;
  }

  function storeMessage(msg: Json, senderToken: string | undefined, byBot: boolean): void {
    const chat = msg.chat as ChatInfo | undefined;
    const id = msg.message_id;
    if (!chat || typeof chat.id !== 'number' || typeof id !== 'number') return;
    registerChat(chat);
    if ((lastMessageId.get(chat.id) ?? 0) < id) lastMessageId.set(chat.id, id);
    messages.set(msgKey(chat.id, id), { msg: clone(msg), senderToken, byBot });
  }

  /** A message as it appears inside reply_to_message (no nested reply). */
  function asReplied(msg: Json): Json {
    const copy = clone(msg);
    delete copy.reply_to_message;
    return copy;
  }

  function synthChat(id: number): ChatInfo {
    if (id > 0) return { id, type: 'private', first_name: `User${id}` };
    if (String(id).startsWith('-100')) return { id, type: 'supergroup', title: `Chat ${id}` };
    return { id, type: 'group', title: `Group ${id}` };
  }

  function resolveChat(chatId: unknown): ChatInfo {
    if (chatId === undefined || chatId === '') throw badRequest('chat_id is empty');
    if (typeof chatId === 'number' && Number.isInteger(chatId)) {
      return chats.get(chatId) ?? registerChat(synthChat(chatId));
    }
    if (typeof chatId === 'string' && chatId.startsWith('@') && chatId.length > 1) {
      const name = chatId.slice(1).toLowerCase();
      for (const c of chats.values()) if (c.username?.toLowerCase() === name) return c;
      const id = -(1_000_000_000_000 + 5_000_000 + ++seq);
      return registerChat({ id, type: 'channel', title: chatId.slice(1), username: chatId.slice(1) });
    }
    throw badRequest('chat not found');
  }

  function newFile(data: Buffer, width: number, height: number, ext = 'jpg'): StoredFile {
    const n = ++seq;
    const file: StoredFile = {
      file_id: `AgACAgIAAxkBAAE${n.toString(36).padStart(6, '0')}emu`,
      file_unique_id: `AQAD${n.toString(36).padStart(6, '0')}`,
      file_path: `photos/file_${n}.${ext}`,
      width,
      height,
      data,
    };
    files.set(file.file_id, file);
    return file;
  }

  const photoSize = (f: StoredFile) => ({
    file_id: f.file_id,
    file_unique_id: f.file_unique_id,
    file_size: f.data.length,
    width: f.width,
    height: f.height,
  });

  /** Three sizes of one picture, smallest first, like the real server stores a photo. */
  function newPhoto(data: Buffer): Json[] {
    return [newFile(data, 90, 68), newFile(data, 320, 240), newFile(data, 800, 600)].map(photoSize);
  }

  function botFrom(bot: BotState): Json {
    return { id: bot.info.id, is_bot: true, first_name: bot.info.first_name, username: bot.info.username };
  }

  // ----- records ------------------------------------------------------------------------------------------

  function recordSent(bot: BotState, method: string, p: Json, msg: Json, extra: Partial<SentRecord>): void {
    const chat = msg.chat as ChatInfo | undefined;
    sentRecords.push({
      token: bot.token,
      method,
      chat_id: chat ? String(chat.id) : '',
      message_id: typeof msg.message_id === 'number' ? msg.message_id : 0,
      params: p,
      at: Date.now(),
      ...(p.reply_markup !== undefined ? { reply_markup: p.reply_markup } : {}),
      ...extra,
    });
    for (const w of [...sentWaiters]) w();
  }

  function takeFailure(method: string, token: string): FailRule | undefined {
    const rule = failRules.find(
      (r) => r.remaining > 0 && r.method === method && (r.token === undefined || r.token === token),
    );
    if (rule) {
      rule.remaining--;
      if (rule.remaining === 0) failRules.splice(failRules.indexOf(rule), 1);
    }
    return rule;
  }

  function failureError(error: FailNextError): ApiError {
    switch (error.code) {
      case 429:
        return new ApiError(429, `Too Many Requests: retry after ${error.retryAfter}`, {
          retry_after: error.retryAfter,
        });
      case 500:
        return new ApiError(500, error.description ?? 'Internal Server Error');
      case 502:
        return new ApiError(502, error.description ?? 'Bad Gateway');
      case 400:
        return new ApiError(400, error.description ?? 'Bad Request');
      case 403:
        return new ApiError(403, error.description ?? 'Forbidden: bot was blocked by the user');
    }
  }

  // ----- updates: queue, long poll, webhook --------------------------------------------------------------

  function isAllowed(bot: BotState, update: Json): boolean {
    const kind = updateKind(update);
    const allowed = bot.allowedUpdates;
    if (allowed && allowed.length > 0) return allowed.includes(kind);
    return !OPT_IN_UPDATES.has(kind);
  }

  function setAllowedUpdates(bot: BotState, value: unknown): void {
    if (value === undefined) return; // the previous setting stays, like on the real server
    if (!Array.isArray(value)) throw badRequest("can't parse allowed updates");
    bot.allowedUpdates = value.length ? value.map(String) : undefined;
  }

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          sleepers.delete(entry);
          resolve();
        }, ms),
        resolve,
      };
      sleepers.add(entry);
    });
  }

  /** POSTs one update; resolves with the HTTP status and body, or an error message. */
  function postUpdate(
    hook: { url: string; secret_token?: string },
    update: Json,
  ): Promise<{ status: number; contentType: string; body: Buffer } | { error: string }> {
    return new Promise((resolve) => {
      let url: URL;
      try {
        url = new URL(hook.url);
      } catch {
        resolve({ error: 'Invalid webhook URL' });
        return;
      }
      const payload = Buffer.from(JSON.stringify(update));
      const headers: http.OutgoingHttpHeaders = {
        'content-type': 'application/json',
        'content-length': payload.length,
      };
      if (hook.secret_token) headers['x-telegram-bot-api-secret-token'] = hook.secret_token;
      const lib = url.protocol === 'https:' ? https : http;
      const req = lib.request(
        url,
        { method: 'POST', headers, agent: false, timeout: webhookTimeoutMs, rejectUnauthorized: false },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            outgoing.delete(req);
            resolve({
              status: res.statusCode ?? 0,
              contentType: String(res.headers['content-type'] ?? ''),
              body: Buffer.concat(chunks),
            });
          });
          res.on('error', (e) => {
            outgoing.delete(req);
            resolve({ error: e.message });
          });
        },
      );
      outgoing.add(req);
      req.on('timeout', () => req.destroy(new Error('Timeout expired')));
      req.on('error', (e: NodeJS.ErrnoException) => {
        outgoing.delete(req);
        resolve({ error: e.code === 'ECONNREFUSED' ? 'Connection refused' : e.message });
      });
      req.end(payload);
    });
  }

  /** The answer to a webhook POST may itself be a method call ("webhook reply"); execute it. */
  async function runWebhookReply(bot: BotState, contentType: string, body: Buffer): Promise<void> {
    if (body.length === 0) return;
    const ct = contentType.toLowerCase();
    if (!ct.startsWith('application/json') && !ct.startsWith('multipart/form-data')) return;
    let raw: Json;
    try {
      raw = await parseBody(contentType, body);
    } catch {
      return;
    }
    const method = raw.method;
    if (typeof method !== 'string' || !method) return;
    delete raw.method;
    await execute(bot.token, method, normalizeParams(raw), new AbortController().signal);
  }

  async function deliverLoop(bot: BotState): Promise<void> {
    if (bot.delivering) return;
    bot.delivering = true;
    try {
      while (!closed && bot.webhook && bot.queue.length > 0) {
        const update = bot.queue[0] as Json;
        if (!isAllowed(bot, update)) {
          bot.queue.shift();
          continue;
        }
        const hook = bot.webhook;
        for (let attempt = 0; attempt <= webhookRetries; attempt++) {
          if (attempt > 0) await sleep(webhookRetryDelayMs * 2 ** (attempt - 1));
          if (closed || bot.webhook !== hook || bot.queue[0] !== update) break;
          const r = await postUpdate(hook, update);
          if ('error' in r) {
            bot.lastError = { date: nowSec(), message: r.error };
          } else if (r.status >= 200 && r.status < 300) {
            if (bot.queue[0] === update) bot.queue.shift();
            await runWebhookReply(bot, r.contentType, r.body);
            break;
          } else {
            const text = http.STATUS_CODES[r.status] ?? '';
            bot.lastError = {
              date: nowSec(),
              message: `Wrong response from the webhook: ${r.status} ${text}`,
            };
          }
        }
        // Given up after the retries (or the webhook changed): drop it only if the same hook is still set.
        if (!closed && bot.webhook === hook && bot.queue[0] === update) bot.queue.shift();
      }
    } finally {
      bot.delivering = false;
    }
  }

  function pendingFor(bot: BotState, limit: number): Json[] {
    bot.queue = bot.queue.filter((u) => isAllowed(bot, u));
    return bot.queue.slice(0, limit).map(clone);
  }

  // ----- methods ------------------------------------------------------------------------------------------

  function requireInt(p: Json, key: string, what = `${key} is not specified`): number {
    const v = p[key];
    if (typeof v !== 'number' || !Number.isInteger(v)) throw badRequest(what);
    return v;
  }

  function findMessage(chat: ChatInfo, messageId: number): StoredMessage | undefined {
    return messages.get(msgKey(chat.id, messageId));
  }

  function resolveReply(chat: ChatInfo, p: Json): { msg?: Json; id?: number } {
    const rp = p.reply_parameters;
    if (typeof rp === 'string') throw badRequest("can't parse reply parameters JSON object");
    const params = isObj(rp) ? rp : undefined;
    const raw = params?.message_id ?? p.reply_to_message_id;
    if (raw === undefined) return {};
    const id = typeof raw === 'string' ? Number(raw) : raw;
    if (typeof id !== 'number' || !Number.isInteger(id)) throw badRequest('message to be replied not found');
    const target = params?.chat_id !== undefined ? resolveChat(params.chat_id) : chat;
    const stored = findMessage(target, id);
    if (!stored) {
      if (params?.allow_sending_without_reply === true || p.allow_sending_without_reply === true) return {};
      throw badRequest('message to be replied not found');
    }
    return { msg: asReplied(stored.msg), id };
  }

  function baseMessage(bot: BotState, chat: ChatInfo, p: Json): Json {
    const msg: Json = {
      message_id: nextMessageId(chat.id),
      from: botFrom(bot),
      chat: clone(chat),
      date: nowSec(),
    };
    if (chat.type === 'channel') {
      delete msg.from;
      msg.sender_chat = clone(chat);
    }
    if (typeof p.message_thread_id === 'number') msg.message_thread_id = p.message_thread_id;
    return msg;
  }

  function editableMessage(bot: BotState, p: Json): StoredMessage {
    const chat = resolveChat(p.chat_id);
    const id = requireInt(p, 'message_id', 'message identifier is not specified');
    const stored = findMessage(chat, id);
    if (!stored) throw badRequest('message to edit not found');
    if (!stored.byBot || (stored.senderToken !== undefined && stored.senderToken !== bot.token)) {
      throw badRequest("message can't be edited");
    }
    return stored;
  }

  const inlineOnly = (markup: Json | undefined) =>
    markup && 'inline_keyboard' in markup ? markup : undefined;
  const sameJson = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
  const notModified = () =>
    badRequest(
      'message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
    );

  function terminatePoller(bot: BotState, description: string): void {
    bot.poller?.finish(new ApiError(409, `Conflict: ${description}`));
  }

  const handlers: Record<string, Handler> = {
    getMe: (bot) => ({
      id: bot.info.id,
      is_bot: true,
      first_name: bot.info.first_name,
      username: bot.info.username,
      can_join_groups: true,
      can_read_all_group_messages: false,
      supports_inline_queries: false,
      can_connect_to_business: false,
      has_main_web_app: false,
    }),

    getUpdates: (bot, p, signal) => {
      if (bot.webhook) {
        throw new ApiError(
          409,
          "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
        );
      }
      const offset = typeof p.offset === 'number' ? p.offset : 0;
      const limit = Math.min(100, Math.max(1, typeof p.limit === 'number' ? p.limit : 100));
      const timeout = Math.min(50, Math.max(0, typeof p.timeout === 'number' ? p.timeout : 0));
      setAllowedUpdates(bot, p.allowed_updates);
      // offset confirms (drops) every earlier update; a negative one keeps only the last -offset updates
      if (offset < 0) bot.queue = bot.queue.slice(offset);
      else if (offset > 0) bot.queue = bot.queue.filter((u) => (u.update_id as number) >= offset);
      terminatePoller(
        bot,
        'terminated by other getUpdates request; make sure that only one bot instance is running',
      );
      const ready = pendingFor(bot, limit);
      if (ready.length > 0 || timeout === 0 || closed) return ready;
      return new Promise<Json[]>((resolve, reject) => {
        let done = false;
        const finish = (f: () => void) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          pollers.delete(poller);
          if (bot.poller === poller) bot.poller = undefined;
          f();
        };
        const poller: Poller = {
          wake: () => {
            const r = pendingFor(bot, limit);
            if (r.length > 0) finish(() => resolve(r));
          },
          finish: (error) => finish(() => (error ? reject(error) : resolve([]))),
        };
        const onAbort = () => finish(() => resolve([]));
        const timer = setTimeout(() => finish(() => resolve([])), timeout * 1000);
        signal.addEventListener('abort', onAbort);
        pollers.add(poller);
        bot.poller = poller;
      });
    },

    setWebhook: (bot, p) => {
      const url = typeof p.url === 'string' ? p.url.trim() : '';
      if (url === '') return handlers.deleteWebhook?.(bot, p, new AbortController().signal);
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        throw badRequest('bad webhook: Failed to resolve host: Name or service not known');
      }
      // The real server demands https; plain http is accepted here so tests need no certificates.
      if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
        throw badRequest('bad webhook: HTTPS url must be provided for webhook');
      }
      const secret = p.secret_token;
      if (secret !== undefined && (typeof secret !== 'string' || !/^[A-Za-z0-9_-]{1,256}$/.test(secret))) {
        throw badRequest('secret token contains unallowed characters');
      }
      const maxConnections = typeof p.max_connections === 'number' ? p.max_connections : 40;
      setAllowedUpdates(bot, p.allowed_updates);
      const same = bot.webhook?.url === url && bot.webhook.secret_token === secret;
      bot.webhook = { url, max_connections: maxConnections, ...(secret ? { secret_token: secret } : {}) };
      if (p.drop_pending_updates === true) bot.queue = [];
      terminatePoller(bot, 'terminated by setWebhook request');
      void deliverLoop(bot);
      return new Described(true, same ? 'Webhook is already set' : 'Webhook was set');
    },

    deleteWebhook: (bot, p) => {
      const had = bot.webhook !== null;
      bot.webhook = null;
      if (p.drop_pending_updates === true) bot.queue = [];
      return new Described(true, had ? 'Webhook was deleted' : 'Webhook is already deleted');
    },

    getWebhookInfo: (bot) => {
      const info: Json = {
        url: bot.webhook?.url ?? '',
        has_custom_certificate: false,
        pending_update_count: bot.queue.length,
      };
      if (bot.webhook) info.max_connections = bot.webhook.max_connections;
      if (bot.allowedUpdates) info.allowed_updates = bot.allowedUpdates;
      if (bot.lastError) {
        info.last_error_date = bot.lastError.date;
        info.last_error_message = bot.lastError.message;
      }
      return info;
    },

    sendMessage: (bot, p) => {
      const chat = resolveChat(p.chat_id);
      if (p.text === undefined || p.text === '') throw badRequest('message text is empty');
      const text = String(p.text);
      const formatted = formatText(text, p.parse_mode, p.entities);
      if (formatted.text.trim() === '') throw badRequest('message text is empty');
      if (formatted.text.length > 4096) throw badRequest('message is too long');
      const markup = validateReplyMarkup(p.reply_markup);
      const reply = resolveReply(chat, p);
      const msg = baseMessage(bot, chat, p);
      if (reply.msg) msg.reply_to_message = reply.msg;
      msg.text = formatted.text;
      if (formatted.entities.length) msg.entities = formatted.entities;
      if (isObj(p.link_preview_options)) msg.link_preview_options = p.link_preview_options;
      if (inlineOnly(markup)) msg.reply_markup = markup;
      storeMessage(msg, bot.token, true);
      recordSent(bot, 'sendMessage', p, msg, {
        text,
        ...(reply.id !== undefined ? { reply_to_message_id: reply.id } : {}),
      });
      return msg;
    },

    sendPhoto: (bot, p) => {
      const chat = resolveChat(p.chat_id);
      const photo = p.photo;
      let sizes: Json[];
      let photoRef: string;
      if (photo instanceof UploadedFile) {
        if (photo.size === 0) throw badRequest('file must be non-empty');
        sizes = newPhoto(photo.data);
        photoRef = (sizes[sizes.length - 1] as Json).file_id as string;
      } else if (typeof photo === 'string' && photo !== '') {
        const known = files.get(photo);
        if (known) sizes = [photoSize(known)];
        else if (/^https?:\/\//i.test(photo)) sizes = newPhoto(SAMPLE_JPEG);
        else throw badRequest('wrong file identifier/HTTP URL specified');
        photoRef = photo;
      } else {
        throw badRequest('there is no photo in the request');
      }
      let caption: Formatted | undefined;
      if (p.caption !== undefined && p.caption !== '') {
        caption = formatText(String(p.caption), p.parse_mode, p.caption_entities);
        if (caption.text.length > 1024) throw badRequest('message caption is too long');
      }
      const markup = validateReplyMarkup(p.reply_markup);
      const reply = resolveReply(chat, p);
      const msg = baseMessage(bot, chat, p);
      if (reply.msg) msg.reply_to_message = reply.msg;
      msg.photo = sizes;
      if (caption) {
        msg.caption = caption.text;
        if (caption.entities.length) msg.caption_entities = caption.entities;
      }
      if (inlineOnly(markup)) msg.reply_markup = markup;
      storeMessage(msg, bot.token, true);
      recordSent(bot, 'sendPhoto', p, msg, {
        photo: photoRef,
        ...(p.caption !== undefined ? { caption: String(p.caption) } : {}),
        ...(reply.id !== undefined ? { reply_to_message_id: reply.id } : {}),
      });
      return msg;
    },

    sendDocument: (bot, p) => {
      const chat = resolveChat(p.chat_id);
      const doc = p.document;
      if (!(doc instanceof UploadedFile)) throw badRequest('there is no document in the request');
      if (doc.size === 0) throw badRequest('file must be non-empty');
      if (doc.size > 50 * 1024 * 1024) throw new ApiError(413, 'Request Entity Too Large');
      let caption: Formatted | undefined;
      if (p.caption !== undefined && p.caption !== '') {
        caption = formatText(String(p.caption), p.parse_mode, p.caption_entities);
        if (caption.text.length > 1024) throw badRequest('message caption is too long');
      }
      const markup = validateReplyMarkup(p.reply_markup);
      const stored = newFile(doc.data, 0, 0, doc.filename.split('.').pop() ?? 'bin');
      const msg = baseMessage(bot, chat, p);
      msg.document = {
        file_name: doc.filename,
        mime_type: doc.contentType,
        file_id: stored.file_id,
        file_unique_id: stored.file_unique_id,
        file_size: doc.size,
      };
      if (caption) {
        msg.caption = caption.text;
        if (caption.entities.length) msg.caption_entities = caption.entities;
      }
      if (inlineOnly(markup)) msg.reply_markup = markup;
      storeMessage(msg, bot.token, true);
      recordSent(bot, 'sendDocument', p, msg, {
        document: doc,
        ...(p.caption !== undefined ? { caption: String(p.caption) } : {}),
      });
      return msg;
    },

    sendPoll: (bot, p) => {
      const chat = resolveChat(p.chat_id);
      const question = typeof p.question === 'string' ? p.question.trim() : '';
      if (!question) throw badRequest('poll question must be non-empty');
      if (question.length > 300) throw badRequest('poll question length must not exceed 300');
      if (!Array.isArray(p.options)) throw badRequest('poll options must be an Array');
      // Strings (older clients) or InputPollOption objects.
      const options = (p.options as unknown[]).map((o) =>
        typeof o === 'string' ? o : isObj(o) && typeof o.text === 'string' ? o.text : '',
      );
      if (options.length < 2) throw badRequest('poll must have at least 2 option');
      if (options.length > 10) throw badRequest("poll can't have more than 10 options");
      if (options.some((o) => o.trim() === '')) throw badRequest('poll options must be non-empty');
      if (options.some((o) => o.length > 100)) throw badRequest('poll options length must not exceed 100');
      const type = p.type === 'quiz' ? 'quiz' : 'regular';
      if (p.type !== undefined && p.type !== 'quiz' && p.type !== 'regular')
        throw badRequest('wrong poll type');
      const markup = validateReplyMarkup(p.reply_markup);
      const poll: EmulatedPoll = {
        id: String(5_800_000_000_000_000_000n + BigInt(++seq)),
        question,
        options: options.map((text) => ({ text, voter_count: 0 })),
        total_voter_count: 0,
        is_closed: false,
        is_anonymous: p.is_anonymous !== false,
        type,
        allows_multiple_answers: p.allows_multiple_answers === true,
      };
      const msg = baseMessage(bot, chat, p);
      msg.poll = clone(poll);
      if (inlineOnly(markup)) msg.reply_markup = markup;
      storeMessage(msg, bot.token, true);
      polls.set(poll.id, {
        poll,
        chatId: chat.id,
        messageId: msg.message_id as number,
        answers: new Map(),
      });
      recordSent(bot, 'sendPoll', p, msg, { poll: clone(poll) });
      return msg;
    },

    stopPoll: (bot, p) => {
      const stored = editableMessage(bot, p);
      const id = isObj(stored.msg.poll) ? (stored.msg.poll.id as string) : undefined;
      const entry = id ? polls.get(id) : undefined;
      if (!entry) throw badRequest('message with poll to stop not found');
      if (entry.poll.is_closed) throw badRequest('poll has already been closed');
      entry.poll.is_closed = true;
      const msg = clone(stored.msg);
      msg.poll = clone(entry.poll);
      const markup = inlineOnly(validateReplyMarkup(p.reply_markup));
      if (markup) msg.reply_markup = markup;
      else delete msg.reply_markup;
      stored.msg = msg;
      recordSent(bot, 'stopPoll', p, msg, { poll: clone(entry.poll) });
      return clone(entry.poll);
    },

    editMessageText: (bot, p) => {
      if (p.text === undefined || p.text === '') throw badRequest('message text is empty');
      const text = String(p.text);
      const formatted = formatText(text, p.parse_mode, p.entities);
      if (formatted.text.trim() === '') throw badRequest('message text is empty');
      if (formatted.text.length > 4096) throw badRequest('MESSAGE_TOO_LONG');
      const markup = inlineOnly(validateReplyMarkup(p.reply_markup));
      if (p.inline_message_id !== undefined) {
        recordSent(bot, 'editMessageText', p, {}, { text });
        return true;
      }
      const stored = editableMessage(bot, p);
      if (typeof stored.msg.text !== 'string') throw badRequest('there is no text in the message to edit');
      if (
        stored.msg.text === formatted.text &&
        sameJson(stored.msg.entities ?? [], formatted.entities) &&
        sameJson(stored.msg.reply_markup, markup)
      ) {
        throw notModified();
      }
      const msg = clone(stored.msg);
      msg.text = formatted.text;
      if (formatted.entities.length) msg.entities = formatted.entities;
      else delete msg.entities;
      // Without reply_markup the inline keyboard goes away, like on the real server.
      if (markup) msg.reply_markup = markup;
      else delete msg.reply_markup;
      msg.edit_date = nowSec();
      stored.msg = msg;
      recordSent(bot, 'editMessageText', p, msg, { text });
      return clone(msg);
    },

    editMessageReplyMarkup: (bot, p) => {
      const markup = inlineOnly(validateReplyMarkup(p.reply_markup));
      if (p.inline_message_id !== undefined) {
        recordSent(bot, 'editMessageReplyMarkup', p, {}, {});
        return true;
      }
      const stored = editableMessage(bot, p);
      if (sameJson(stored.msg.reply_markup, markup)) throw notModified();
      const msg = clone(stored.msg);
      if (markup) msg.reply_markup = markup;
      else delete msg.reply_markup;
      msg.edit_date = nowSec();
      stored.msg = msg;
      recordSent(bot, 'editMessageReplyMarkup', p, msg, {});
      return clone(msg);
    },

    answerCallbackQuery: (_bot, p) => {
      const id = p.callback_query_id;
      if (typeof id !== 'string' || !callbackIds.has(id)) {
        throw badRequest('query is too old and response timeout expired or query ID is invalid');
      }
      if (typeof p.text === 'string' && p.text.length > 200) throw badRequest('MESSAGE_TOO_LONG');
      return true;
    },

    sendChatAction: (_bot, p) => {
      resolveChat(p.chat_id);
      if (typeof p.action !== 'string' || !CHAT_ACTIONS.has(p.action)) {
        throw badRequest('wrong parameter action in request');
      }
      return true;
    },

    setMyCommands: (bot, p) => {
      const commands = p.commands;
      if (!Array.isArray(commands)) throw badRequest("can't parse commands JSON object");
      for (const c of commands) {
        if (!isObj(c) || typeof c.command !== 'string' || !/^[a-z0-9_]{1,32}$/.test(c.command)) {
          throw badRequest('BOT_COMMAND_INVALID');
        }
        if (typeof c.description !== 'string' || c.description.length < 1 || c.description.length > 256) {
          throw badRequest('BOT_COMMAND_DESCRIPTION_INVALID');
        }
      }
      bot.commands.set(JSON.stringify([p.scope ?? null, p.language_code ?? '']), commands);
      return true;
    },

    getMyCommands: (bot, p) =>
      bot.commands.get(JSON.stringify([p.scope ?? null, p.language_code ?? ''])) ?? [],

    deleteMyCommands: (bot, p) => {
      bot.commands.delete(JSON.stringify([p.scope ?? null, p.language_code ?? '']));
      return true;
    },

    getChat: (_bot, p) => ({ ...clone(resolveChat(p.chat_id)), accent_color_id: 0, max_reaction_count: 11 }),

    deleteMessage: (_bot, p) => {
      const chat = resolveChat(p.chat_id);
      const id = requireInt(p, 'message_id', 'message identifier is not specified');
      if (!messages.delete(msgKey(chat.id, id))) throw badRequest('message to delete not found');
      return true;
    },

    getFile: (_bot, p) => {
      const file = typeof p.file_id === 'string' ? files.get(p.file_id) : undefined;
      if (!file) throw badRequest('invalid file_id');
      return {
        file_id: file.file_id,
        file_unique_id: file.file_unique_id,
        file_size: file.data.length,
        file_path: file.file_path,
      };
    },
  };

  const canonicalMethods = new Map(Object.keys(handlers).map((m) => [m.toLowerCase(), m]));

  /** Runs one method call of a bot and records it in `calls`. */
  async function execute(
    token: string,
    rawMethod: string,
    params: Json,
    signal: AbortSignal,
  ): Promise<ApiResult> {
    const at = Date.now();
    const method = canonicalMethods.get(rawMethod.toLowerCase()) ?? rawMethod;
    const bot = bots.get(token);
    let result: ApiResult;
    try {
      if (!bot) throw new ApiError(401, 'Unauthorized');
      const rule = takeFailure(method, token);
      if (rule) throw failureError(rule.error);
      checkSend(token, method, params);
      const handler = handlers[method];
      if (!handler) throw new ApiError(404, 'Not Found: method not found');
      const value = await handler(bot, params, signal);
      result =
        value instanceof Described
          ? { status: 200, body: { ok: true, result: value.result, description: value.description } }
          : { status: 200, body: { ok: true, result: value } };
    } catch (e) {
      const err =
        e instanceof ApiError
          ? e
          : new ApiError(500, `Internal Server Error: ${e instanceof Error ? e.message : e}`);
      result = {
        status: err.code,
        body: {
          ok: false,
          error_code: err.code,
          description: err.description,
          ...(err.parameters ? { parameters: err.parameters } : {}),
        },
      };
    }
    callRecords.push({
      token,
      method,
      params,
      status: result.status,
      ...(result.body.ok ? {} : { description: result.body.description as string }),
      at,
    });
    return result;
  }

  // ----- HTTP server --------------------------------------------------------------------------------------

  function respond(res: http.ServerResponse, result: ApiResult): void {
    if (res.writableEnded || res.destroyed) return;
    const body = JSON.stringify(result.body);
    const headers: http.OutgoingHttpHeaders = {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    };
    const retryAfter = (result.body.parameters as Json | undefined)?.retry_after;
    if (retryAfter !== undefined) headers['retry-after'] = String(retryAfter);
    if (closed) headers.connection = 'close';
    res.writeHead(result.status, headers);
    res.end(body);
  }

  function serveFile(res: http.ServerResponse, token: string, path: string): void {
    const file = bots.has(token) ? [...files.values()].find((f) => f.file_path === path) : undefined;
    if (!file) {
      respond(res, { status: 404, body: { ok: false, error_code: 404, description: 'Not Found' } });
      return;
    }
    res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': file.data.length });
    res.end(file.data);
  }

  async function onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const fileMatch = /^\/file\/bot([^/]+)\/(.+)$/.exec(url.pathname);
    if (fileMatch) {
      await readBody(req);
      serveFile(res, decodeURIComponent(fileMatch[1] ?? ''), decodeURIComponent(fileMatch[2] ?? ''));
      return;
    }
    const m = /^\/bot([^/]+)\/([^/]*)$/.exec(url.pathname);
    const raw = await readBody(req);
    if (!m || !m[2]) {
      respond(res, { status: 404, body: { ok: false, error_code: 404, description: 'Not Found' } });
      return;
    }
    const token = decodeURIComponent(m[1] ?? '');
    const method = decodeURIComponent(m[2]);
    let params: Json;
    try {
      const body = await parseBody(req.headers['content-type'], raw);
      params = normalizeParams({ ...Object.fromEntries(url.searchParams), ...body });
    } catch (e) {
      const err = e instanceof ApiError ? e : badRequest(String(e));
      respond(res, {
        status: err.code,
        body: { ok: false, error_code: err.code, description: err.description },
      });
      return;
    }
    // telegraf repeats the method name as a `method` field of multipart bodies; it is not a parameter
    if (typeof params.method === 'string' && params.method.toLowerCase() === method.toLowerCase()) {
      delete params.method;
    }
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    const result = await execute(token, method, params, abort.signal);
    if (options.sendLatencyMs && COUNTED(canonicalMethods.get(method.toLowerCase()) ?? method))
      await sleep(options.sendLatencyMs);
    respond(res, result);
  }

  const server = http.createServer((req, res) => {
    onRequest(req, res).catch((e: unknown) => {
      respond(res, {
        status: 500,
        body: { ok: false, error_code: 500, description: `Internal Server Error: ${String(e)}` },
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  // ----- update builders ----------------------------------------------------------------------------------

  function userObj(u: TgUserInput): Json {
    const o: Json = { id: u.id, is_bot: false, first_name: u.first_name ?? `User${u.id}` };
    if (u.last_name) o.last_name = u.last_name;
    if (u.username) o.username = u.username;
    o.language_code = u.language_code ?? 'ru';
    return o;
  }

  function privateChat(u: TgUserInput): ChatInfo {
    const chat: ChatInfo = { id: u.id, type: 'private', first_name: u.first_name ?? `User${u.id}` };
    if (u.last_name) chat.last_name = u.last_name;
    if (u.username) chat.username = u.username;
    return registerChat(chat);
  }

  function withText(msg: Json, text: string, field: 'text' | 'caption'): Json {
    msg[field] = text;
    const entities = detectEntities(text);
    if (entities.length) msg[field === 'text' ? 'entities' : 'caption_entities'] = entities;
    return msg;
  }

  function userMessage(user: TgUserInput, chat: ChatInfo): Json {
    return { message_id: nextMessageId(chat.id), from: userObj(user), chat: clone(chat), date: nowSec() };
  }

  /** Some bot, for messages built by tests that a bot is supposed to have sent. */
  function anyBotFrom(): Json {
    const first = bots.values().next().value;
    return first ? botFrom(first) : { id: 1, is_bot: true, first_name: 'Bot', username: 'emulated_bot' };
  }

  function repliedMessage(chat: ChatInfo, messageId: number): Json {
    const stored = findMessage(chat, messageId);
    return stored ? asReplied(stored.msg) : { message_id: messageId, chat: clone(chat), date: nowSec() };
  }

  const updates: TelegramUpdateBuilders = {
    privateText(user, text, extra = {}) {
      const msg = withText(userMessage(user, privateChat(user)), text, 'text');
      Object.assign(msg, extra);
      storeMessage(msg, undefined, false);
      return { message: msg };
    },

    privatePhoto(user, caption, extra = {}) {
      const msg = userMessage(user, privateChat(user));
      msg.photo = newPhoto(SAMPLE_JPEG);
      if (caption !== undefined) withText(msg, caption, 'caption');
      Object.assign(msg, extra);
      storeMessage(msg, undefined, false);
      return { message: msg };
    },

    privateAlbum(user, count, opts = {}) {
      const group = String(13_000_000_000_000_000n + BigInt(++seq));
      return Array.from({ length: count }, (_, i) =>
        updates.privatePhoto(user, i === (opts.captionIndex ?? 0) ? opts.caption : undefined, {
          media_group_id: group,
        }),
      );
    },

    edited(update, text) {
      const kind = 'message' in update ? 'message' : 'channel_post';
      const original = update[kind];
      if (!isObj(original))
        throw new Error('telegram emulator: edited() takes a message or channel_post update');
      const msg = clone(original);
      delete msg.text;
      delete msg.entities;
      delete msg.caption;
      delete msg.caption_entities;
      withText(msg, text, 'photo' in msg || 'document' in msg || 'video' in msg ? 'caption' : 'text');
      msg.edit_date = nowSec();
      storeMessage(msg, undefined, false);
      return { [kind === 'message' ? 'edited_message' : 'edited_channel_post']: msg };
    },

    privateLocation(user, latitude, longitude) {
      const msg = userMessage(user, privateChat(user));
      msg.location = { latitude, longitude };
      storeMessage(msg, undefined, false);
      return { message: msg };
    },

    callback(user, data, message) {
      const chat =
        message.chat_id === user.id
          ? privateChat(user)
          : (chats.get(message.chat_id) ?? synthChat(message.chat_id));
      let stored = findMessage(chat, message.message_id);
      if (!stored) {
        const msg: Json = {
          message_id: message.message_id,
          from: anyBotFrom(),
          chat: clone(chat),
          date: nowSec(),
        };
        if (message.text !== undefined) msg.text = message.text;
        storeMessage(msg, undefined, true);
        stored = findMessage(chat, message.message_id) as StoredMessage;
      }
      const id = String(4_200_000_000_000_000_000n + BigInt(++seq));
      callbackIds.add(id);
      return {
        callback_query: {
          id,
          from: userObj(user),
          message: clone(stored.msg),
          chat_instance: String(-(7_000_000_000_000_000_000n + BigInt(Math.abs(chat.id)))),
          data,
        },
      };
    },

    channelPost(channel, text) {
      const chat = registerChat({
        id: channel.id,
        type: 'channel',
        title: channel.title,
        ...(channel.username ? { username: channel.username } : {}),
      });
      const msg = withText(
        { message_id: nextMessageId(chat.id), sender_chat: clone(chat), chat: clone(chat), date: nowSec() },
        text,
        'text',
      );
      storeMessage(msg, undefined, false);
      return { channel_post: msg };
    },

    groupMessage(group, user, text, replyTo) {
      const type = group.type ?? (String(group.id).startsWith('-100') ? 'supergroup' : 'group');
      const chat = registerChat({ id: group.id, type, title: group.title });
      const msg = userMessage(user, chat);
      if (replyTo) msg.reply_to_message = repliedMessage(chat, replyTo.message_id);
      withText(msg, text, 'text');
      storeMessage(msg, undefined, false);
      return { message: msg };
    },

    discussionComment(group, user, text, post) {
      const chat = registerChat({ id: group.id, type: 'supergroup', title: group.title });
      const channel =
        chats.get(post.channelId) ?? registerChat({ id: post.channelId, type: 'channel', title: 'Channel' });
      let forward = findMessage(chat, post.groupMessageId)?.msg;
      if (!forward) {
        const original = messages.get(msgKey(channel.id, post.channelMessageId))?.msg;
        const date = typeof original?.date === 'number' ? original.date : nowSec();
        forward = {
          message_id: post.groupMessageId,
          from: { id: 777000, is_bot: false, first_name: 'Telegram' },
          sender_chat: clone(channel),
          chat: clone(chat),
          date,
          forward_origin: { type: 'channel', chat: clone(channel), message_id: post.channelMessageId, date },
          is_automatic_forward: true,
          forward_from_chat: clone(channel),
          forward_from_message_id: post.channelMessageId,
          forward_date: date,
        };
        if (typeof original?.text === 'string') {
          forward.text = original.text;
          if (original.entities) forward.entities = clone(original.entities);
        }
        storeMessage(forward, undefined, false);
      }
      const msg = userMessage(user, chat);
      msg.message_thread_id = post.groupMessageId;
      msg.reply_to_message = asReplied(forward);
      withText(msg, text, 'text');
      storeMessage(msg, undefined, false);
      return { message: msg };
    },

    pollAnswer(user, pollId, optionIds) {
      const entry = polls.get(pollId);
      if (entry) {
        const { poll } = entry;
        if (poll.is_closed)
          throw new Error(`telegram emulator: poll ${pollId} is closed; it takes no answers`);
        if (poll.is_anonymous)
          throw new Error(`telegram emulator: poll ${pollId} is anonymous; no poll_answer`);
        if (optionIds.some((i) => !Number.isInteger(i) || i < 0 || i >= poll.options.length))
          throw new Error(`telegram emulator: poll ${pollId} has no option ${optionIds.join(',')}`);
        if (optionIds.length > 1 && !poll.allows_multiple_answers)
          throw new Error(`telegram emulator: poll ${pollId} takes one answer`);
        const before = entry.answers.get(user.id) ?? [];
        for (const i of before) (poll.options[i] as { voter_count: number }).voter_count--;
        for (const i of optionIds) (poll.options[i] as { voter_count: number }).voter_count++;
        if (optionIds.length) entry.answers.set(user.id, [...optionIds]);
        else entry.answers.delete(user.id);
        poll.total_voter_count = entry.answers.size;
        const stored = messages.get(msgKey(entry.chatId, entry.messageId));
        if (stored) stored.msg.poll = clone(poll);
      }
      return { poll_answer: { poll_id: pollId, user: userObj(user), option_ids: [...optionIds] } };
    },
  };

  // ----- the emulator object ------------------------------------------------------------------------------

  function describeRecord(r: SentRecord): string {
    const bits = [`[bot ${r.token.split(':')[0]}] ${r.method} chat=${r.chat_id} msg=${r.message_id}`];
    if (r.text !== undefined) bits.push(`text=${JSON.stringify(r.text.slice(0, 200))}`);
    if (r.caption !== undefined) bits.push(`caption=${JSON.stringify(r.caption.slice(0, 200))}`);
    if (r.photo !== undefined) bits.push(`photo=${r.photo}`);
    if (r.poll !== undefined)
      bits.push(`poll=${JSON.stringify(r.poll.question)}${r.poll.is_closed ? ' (closed)' : ''}`);
    if (r.reply_to_message_id !== undefined) bits.push(`reply_to=${r.reply_to_message_id}`);
    const markup = r.reply_markup;
    if (isObj(markup) && Array.isArray(markup.inline_keyboard)) {
      const rows = (markup.inline_keyboard as Json[][]).map((row) =>
        row.map((b) => String(b.text)).join('|'),
      );
      bits.push(`buttons=[${rows.join('][')}]`);
    }
    return bits.join(' ');
  }

  return {
    url: `http://127.0.0.1:${port}`,
    updates,

    addBot(token, info = {}) {
      const existing = bots.get(token);
      if (existing) {
        Object.assign(existing.info, info);
        return { ...existing.info };
      }
      const idFromToken = /^(\d+):/.exec(token)?.[1];
      const id = info.id ?? (idFromToken ? Number(idFromToken) : 6_000_000_000 + ++seq);
      const botInfo: BotInfo = {
        id,
        username: info.username ?? `test${id}_bot`,
        first_name: info.first_name ?? 'Test Bot',
      };
      bots.set(token, {
        token,
        info: botInfo,
        nextUpdateId: 100_000_001,
        queue: [],
        webhook: null,
        delivering: false,
        commands: new Map(),
      });
      return { ...botInfo };
    },

    pushUpdate(token, update) {
      const bot = bots.get(token);
      if (!bot) throw new Error(`telegram emulator: no bot with token ${token}; call addBot first`);
      const u = clone(update);
      u.update_id = bot.nextUpdateId++;
      // Hand-made updates make their messages known too, so that replies and edits to them work.
      for (const kind of ['message', 'edited_message', 'channel_post', 'edited_channel_post']) {
        const msg = u[kind];
        if (
          isObj(msg) &&
          isObj(msg.chat) &&
          !findMessage(msg.chat as unknown as ChatInfo, msg.message_id as number)
        ) {
          storeMessage(msg, undefined, false);
        }
      }
      const cq = u.callback_query;
      if (isObj(cq) && typeof cq.id === 'string') callbackIds.add(cq.id);
      bot.queue.push(u);
      if (bot.webhook) void deliverLoop(bot);
      else bot.poller?.wake();
      return clone(u);
    },

    sent: (token) => sentRecords.filter((r) => token === undefined || r.token === token),

    calls: (token) => callRecords.filter((r) => token === undefined || r.token === token),

    violations: (token) =>
      [...meters.entries()]
        .filter(([t]) => token === undefined || t === token)
        .reduce((a, [, m]) => a + m.violations, 0),

    limitStats(token) {
      const list = [...meters.entries()]
        .filter(([t]) => token === undefined || t === token)
        .map(([, m]) => m);
      const gaps = list.map((m) => m.closestChatGapMs).filter((g): g is number => g !== null);
      return {
        accepted: list.reduce((a, m) => a + m.accepted, 0),
        violations: list.reduce((a, m) => a + m.violations, 0),
        busiestSecond: Math.max(0, ...list.map((m) => m.busiestSecond)),
        closestChatGapMs: gaps.length ? Math.min(...gaps) : null,
      };
    },

    blockUser(userId, token) {
      blocked.add(`${token ?? '*'}:${userId}`);
    },

    failNext(method, n, error, token) {
      if (n <= 0) return;
      const canonical = canonicalMethods.get(method.toLowerCase()) ?? method;
      failRules.push({ method: canonical, remaining: n, error, ...(token !== undefined ? { token } : {}) });
    },

    webhook(token) {
      const hook = bots.get(token)?.webhook;
      if (!hook) return null;
      return { url: hook.url, ...(hook.secret_token ? { secret_token: hook.secret_token } : {}) };
    },

    waitForSent(pred, opts = {}) {
      const count = opts.count ?? 1;
      const timeoutMs = opts.timeoutMs ?? 10_000;
      return new Promise<SentRecord[]>((resolve, reject) => {
        const pending: { timer?: NodeJS.Timeout } = {};
        const cleanup = () => {
          clearTimeout(pending.timer);
          sentWaiters.delete(check);
          onClose.delete(abandon);
        };
        const abandon = () => {
          cleanup();
          reject(new Error('telegram emulator: closed while waitForSent was waiting'));
        };
        function check(): boolean {
          try {
            const matched = sentRecords.filter(pred);
            if (matched.length < count) return false;
            cleanup();
            resolve(matched);
          } catch (e) {
            cleanup();
            reject(e instanceof Error ? e : new Error(String(e)));
          }
          return true;
        }
        if (check()) return;
        pending.timer = setTimeout(() => {
          cleanup();
          let matched = 0;
          try {
            matched = sentRecords.filter(pred).length;
          } catch {
            // reported by check() already
          }
          const failed = callRecords.filter((c) => c.status !== 200);
          const lines = [
            `telegram emulator: waitForSent timed out after ${timeoutMs} ms waiting for ${count} matching record(s); ${matched} matched.`,
            `Predicate: ${pred.toString().slice(0, 300)}`,
            `Sent so far (${sentRecords.length}):`,
            ...sentRecords.map((r, i) => `  ${i + 1}. ${describeRecord(r)}`),
          ];
          if (failed.length) {
            lines.push(`Failed calls (${failed.length}):`);
            for (const c of failed) {
              lines.push(`  [bot ${c.token.split(':')[0]}] ${c.method} → ${c.status} ${c.description ?? ''}`);
            }
          }
          reject(new Error(lines.join('\n')));
        }, timeoutMs);
        sentWaiters.add(check);
        onClose.add(abandon);
      });
    },

    async close() {
      if (closed) return;
      closed = true;
      // Held long polls answer at once with no updates; pending deliveries and retries stop.
      for (const p of [...pollers]) p.finish();
      for (const reject of [...onClose]) reject();
      for (const s of [...sleepers]) {
        clearTimeout(s.timer);
        sleepers.delete(s);
        s.resolve();
      }
      for (const req of [...outgoing]) req.destroy();
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), 100);
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      });
    },
  };
}

/**
 * The first message a bot sent to `chat` after the first `after` records (`after` = `tg.sent().length`
 * taken before the action), matching `match`: «what did the bot answer to this».
 */
export async function nextMessage(
  tg: TelegramEmulator,
  token: string,
  chat: number,
  after: number,
  match: RegExp = /./,
  timeoutMs = 20_000,
): Promise<SentRecord> {
  const [r] = await tg.waitForSent(
    (s) =>
      s.token === token &&
      s.method === 'sendMessage' &&
      s.chat_id === String(chat) &&
      tg.sent().indexOf(s) >= after &&
      match.test(s.text ?? ''),
    { timeoutMs },
  );
  return r!;
}
