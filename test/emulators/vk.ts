/**
 * An in-process emulator of the VK API (https://dev.vk.com, API version 5.199) for tests.
 *
 * It serves the real HTTP protocol on 127.0.0.1, so `vk-io` works against it unchanged when configured with
 * `apiBaseUrl: emulator.apiBaseUrl` and `agent: new http.Agent()` (vk-io's default agent is an https one).
 *
 * - API methods: `POST|GET {url}/method/{name}`; parameters come from the query string and/or a
 *   form-urlencoded body (what vk-io sends). Answers are `{response}` or `{error}` with HTTP 200, like VK.
 * - Bots Long Poll: `GET {url}/lp/{groupId}?act=a_check&key=..&ts=..&wait=..`.
 * - With `limits`, calls over the community token's rate answer error 6 and are counted (`violations()`);
 *   `blockUser` makes messages.send to that user fail with 901 (per peer with peer_ids, as VK does).
 *
 * Only what a community bot needs is implemented: groups.getById, groups.getLongPollServer, messages.send,
 * messages.edit (a message the community sent, in the same conversation), wall.createComment and users.get. Any other method answers error 3, as VK does for unknown methods.
 */
import http from 'node:http';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';

const API_VERSION = '5.199';
/** The longest a long-poll request is held, in seconds. */
const MAX_WAIT_S = 25;
/** Peer ids of group chats start here (2_000_000_000 + chat_id). */
const CHAT_PEER_BASE = 2_000_000_000;

export interface VkSent {
  method: 'messages.send' | 'messages.edit' | 'wall.createComment';
  /** The request's parameters, less access_token. */
  params: Record<string, string>;
  peer_id?: number;
  owner_id?: number;
  post_id?: number;
  reply_to_comment?: number;
  message: string;
  random_id?: number;
  /** message_id for messages.send and messages.edit, comment_id for wall.createComment. */
  id: number;
  at: number;
}

export interface VkCall {
  method: string;
  /** The request's parameters, less access_token. */
  params: Record<string, string>;
  /** The VK error code answered, or the HTTP status for an injected HTTP failure. */
  errorCode?: number;
  at: number;
}

export type VkInjectedFailure = { code: 5 | 6 | 9 | 10; msg?: string } | { http: 500 | 502 };

export interface VkEvent {
  type: string;
  object: Record<string, unknown>;
}

export interface VkEmulator {
  /** http://127.0.0.1:PORT */
  url: string;
  /** `${url}/method` */
  apiBaseUrl: string;
  /** Registers a community and one of its tokens; may be called for several communities (or tokens). */
  addGroup(groupId: number, token: string): void;
  /** Adds event_id, group_id and v, queues the event for the group's Bots Long Poll, returns it. */
  pushEvent(groupId: number, event: VkEvent): Record<string, unknown>;
  /** Successful messages.send / messages.edit / wall.createComment, in order (one entry per peer for peer_ids). */
  sent(groupId?: number): VkSent[];
  /** Every API call (long-poll requests excluded), in order. */
  calls(): VkCall[];
  /** The next `n` calls of `method` fail with the given VK error or HTTP status. */
  failNext(method: string, n: number, error: VkInjectedFailure): void;
  /** Later calls with the token fail with error 5. */
  revokeToken(token: string): void;
  /** The user forbids the community's messages (all communities when `groupId` is absent): messages.send to them fails with 901. */
  blockUser(userId: number, groupId?: number): void;
  /** Calls over `limits` (answered error 6), of one community or all. */
  violations(groupId?: number): number;
  /** The most calls accepted within any 1000 ms, of one community or all (a strict sliding window). */
  busiestSecond(groupId?: number): number;
  /**
   * Resolves with the first `count` (default 1) sent records matching `pred`, already sent or yet to come;
   * rejects with a listing of everything sent and every failed call after `timeoutMs` (default 10 s).
   */
  waitForSent(pred: (s: VkSent) => boolean, opts?: { timeoutMs?: number; count?: number }): Promise<VkSent[]>;
  /** Releases held long polls at once and closes the server. */
  close(): Promise<void>;
  events: {
    messageNew(o: {
      fromId: number;
      peerId?: number;
      text: string;
      attachments?: unknown[];
      geo?: { coordinates: { latitude: number; longitude: number } };
      payload?: string;
    }): { type: 'message_new'; object: Record<string, unknown> };
    photoAttachment(): unknown;
    /**
     * `message_edit` for a message built by `messageNew` (or the event itself): VK sends the whole message
     * object (not wrapped in `{ message }`), with the new text and `update_time`.
     */
    messageEdit(
      event: { object: Record<string, unknown> },
      text: string,
    ): { type: 'message_edit'; object: Record<string, unknown> };
    /** `wall_reply_edit` for a comment built by `wallReplyNew`: the comment with the new text. */
    wallReplyEdit(
      event: { object: Record<string, unknown> },
      text: string,
    ): { type: 'wall_reply_edit'; object: Record<string, unknown> };
    wallPostNew(o: { groupId: number; postId?: number; fromId?: number; text: string }): {
      type: 'wall_post_new';
      object: Record<string, unknown>;
    };
    wallReplyNew(o: {
      groupId: number;
      postId: number;
      fromId: number;
      text: string;
      replyToComment?: number;
    }): {
      type: 'wall_reply_new';
      object: Record<string, unknown>;
    };
  };
}

/** VK's own error messages for the codes the emulator answers. */
const ERROR_MESSAGES: Record<number, string> = {
  3: 'Unknown method passed',
  5: 'User authorization failed',
  6: 'Too many requests per second',
  8: 'Invalid request',
  9: 'Flood control',
  10: 'Internal server error',
  15: 'Access denied',
  100: 'One of the parameters specified was missing or invalid',
  113: 'Invalid user id',
  911: 'Keyboard format is invalid',
  914: 'Message is too long',
  901: "Can't send messages for users without permission",
};

class VkApiError extends Error {
  constructor(
    readonly code: number,
    message: string = ERROR_MESSAGES[code] ?? 'Unknown error occurred',
  ) {
    super(message);
  }
}

const paramError = (detail: string) => new VkApiError(100, `${ERROR_MESSAGES[100]}: ${detail}`);

const HTML_ERRORS: Record<number, string> = { 500: 'Internal Server Error', 502: 'Bad Gateway' };

const htmlErrorPage = (status: number) => {
  const title = `${status} ${HTML_ERRORS[status] ?? 'Error'}`;
  return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
};

// Deterministic Russian names for users.get: the id picks the sex, the first name and the last name.
const MALE_FIRST = ['Александр', 'Дмитрий', 'Сергей', 'Андрей', 'Алексей', 'Иван', 'Михаил', 'Николай'];
const FEMALE_FIRST = ['Анна', 'Елена', 'Мария', 'Ольга', 'Татьяна', 'Наталья', 'Ирина', 'Екатерина'];
const LAST = ['Иванов', 'Смирнов', 'Кузнецов', 'Попов', 'Соколов', 'Лебедев', 'Козлов', 'Новиков', 'Морозов'];

function russianName(id: number): { first_name: string; last_name: string; sex: 1 | 2 } {
  const n = Math.abs(Math.trunc(id));
  const female = n % 2 === 1;
  const firsts = female ? FEMALE_FIRST : MALE_FIRST;
  const first = firsts[Math.floor(n / 2) % firsts.length] as string;
  const last = LAST[Math.floor(n / 16) % LAST.length] as string;
  return { first_name: first, last_name: female ? `${last}а` : last, sex: female ? 1 : 2 };
}

const unixNow = () => Math.floor(Date.now() / 1000);

/** Parses a VK integer parameter; undefined when absent or empty, NaN when malformed. */
function intParam(params: Record<string, string>, name: string): number | undefined {
  const raw = params[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  return /^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
}

function requireInt(params: Record<string, string>, name: string): number {
  const v = intParam(params, name);
  if (v === undefined) throw paramError(`${name} is undefined`);
  if (Number.isNaN(v)) throw paramError(`${name} not integer`);
  return v;
}

interface LongPollWaiter {
  ts: number;
  res: http.ServerResponse;
  timer: NodeJS.Timeout;
}

interface GroupState {
  id: number;
  key: string;
  /** The ts the next event gets; events are numbered from `firstTs`. */
  nextTs: number;
  firstTs: number;
  events: { ts: number; event: Record<string, unknown> }[];
  waiters: Set<LongPollWaiter>;
}

interface SentRecord {
  groupId: number;
  sent: VkSent;
}

type Handler = (groupId: number, params: Record<string, string>, method: string) => unknown;

export interface VkEmulatorOptions {
  /**
   * The API limit of a community token, enforced on every method (VK: 20 requests per second): a call over it
   * answers error 6 and is counted. A GCRA meter: calls more than `toleranceMs` (default 100) early trip it.
   */
  limits?: { perSecond: number; toleranceMs?: number };
  /**
   * Answers to messages.send come this long after the message was taken (the real API's latency): a crash of
   * the client in between leaves a message delivered that the client never heard about. Default 0.
   */
  sendLatencyMs?: number;
}

export async function startVkEmulator(options: VkEmulatorOptions = {}): Promise<VkEmulator> {
  const blockedPeers = new Set<string>(); // `${groupId}:${peer}` or `*:${peer}`
  const meters = new Map<
    number,
    { tat: number; violations: number; window: number[]; start: number; busiest: number }
  >();
  /** false: the call is over the community's limit. */
  const meter = (groupId: number): boolean => {
    const lim = options.limits;
    if (!lim) return true;
    let m = meters.get(groupId);
    if (!m) meters.set(groupId, (m = { tat: 0, violations: 0, window: [], start: 0, busiest: 0 }));
    const now = performance.timeOrigin + performance.now();
    const tat = Math.max(m.tat, now);
    if (tat - now > (lim.toleranceMs ?? 100)) {
      m.violations++;
      return false;
    }
    m.tat = tat + 1000 / lim.perSecond;
    m.window.push(now);
    while (m.window[m.start]! <= now - 1000) m.start++;
    m.busiest = Math.max(m.busiest, m.window.length - m.start);
    if (m.start > 4096) {
      m.window = m.window.slice(m.start);
      m.start = 0;
    }
    return true;
  };
  const groups = new Map<number, GroupState>();
  const tokens = new Map<string, number>();
  const revoked = new Set<string>();
  const failures = new Map<string, VkInjectedFailure[]>();
  const callLog: VkCall[] = [];
  const sentLog: SentRecord[] = [];
  const sentListeners = new Set<() => void>();
  const closeListeners = new Set<() => void>();
  // Emulator-wide id counters, shared by the API methods and the event builders so ids never collide.
  let nextMessageId = 1000;
  let nextEventNo = 0;
  let nextPhotoId = 457239000;
  const cmids = new Map<number, number>(); // peer_id → last conversation_message_id
  const postIds = new Map<number, number>(); // owner_id → last post id
  const commentIds = new Map<number, number>(); // owner_id → last comment id
  const commentAuthors = new Map<string, number>(); // `${owner}_${comment}` → from_id
  const messageDedupe = new Map<string, { message_id: number; conversation_message_id: number }>();
  const groupMessages = new Map<number, { groupId: number; peer: number }>(); // message_id → sent by, to
  const commentDedupe = new Map<string, number>();
  let closed = false;

  const nextCmid = (peerId: number) => {
    const v = (cmids.get(peerId) ?? 0) + 1;
    cmids.set(peerId, v);
    return v;
  };
  const nextPostId = (ownerId: number) => {
    const v = (postIds.get(ownerId) ?? 0) + 1;
    postIds.set(ownerId, v);
    return v;
  };
  const nextCommentId = (ownerId: number, postId: number) => {
    // Comment ids share the post-id sequence of the wall, as on VK.
    const v = Math.max(commentIds.get(ownerId) ?? 0, postIds.get(ownerId) ?? 0, postId) + 1;
    commentIds.set(ownerId, v);
    postIds.set(ownerId, v);
    return v;
  };

  const recordSent = (groupId: number, sent: VkSent) => {
    sentLog.push({ groupId, sent });
    for (const l of [...sentListeners]) l();
  };

  // ---- API methods ---------------------------------------------------------------------------------

  const groupObject = (id: number) => ({
    id,
    name: `Сообщество ${id}`,
    screen_name: `club${id}`,
    is_closed: 0,
    type: 'group',
    photo_50: `https://sun9-1.userapi.com/impg/c${id}/group50.jpg`,
    photo_100: `https://sun9-1.userapi.com/impg/c${id}/group100.jpg`,
    photo_200: `https://sun9-1.userapi.com/impg/c${id}/group200.jpg`,
  });

  const handlers: Record<string, Handler> = {
    'groups.getById': (groupId, params) => {
      const raw = params.group_ids ?? params.group_id;
      const ids = raw
        ? raw.split(',').map((s) => {
            const t = s.trim().replace(/^(club|public)/, '');
            if (!/^\d+$/.test(t)) throw paramError('group_ids is invalid');
            return Number(t);
          })
        : [groupId];
      return { groups: ids.map(groupObject), profiles: [] };
    },

    'groups.getLongPollServer': (groupId, params) => {
      const requested = requireInt(params, 'group_id');
      if (requested !== groupId) throw new VkApiError(15, 'Access denied: no access to this group');
      const g = groups.get(groupId) as GroupState;
      return { key: g.key, server: `${url}/lp/${groupId}`, ts: String(g.nextTs) };
    },

    'messages.send': (groupId, params, method) => {
      let peers: number[];
      let many = false;
      if (params.peer_ids !== undefined && params.peer_ids.trim() !== '') {
        many = true;
        peers = params.peer_ids.split(',').map((s) => {
          if (!/^-?\d+$/.test(s.trim())) throw paramError('peer_ids is invalid');
          return Number(s.trim());
        });
        if (peers.length > 100) throw paramError('peer_ids is too long');
      } else {
        const peer = intParam(params, 'peer_id') ?? intParam(params, 'user_id');
        const chat = intParam(params, 'chat_id');
        const single = peer ?? (chat === undefined ? undefined : CHAT_PEER_BASE + chat);
        if (single === undefined) {
          throw paramError('you should specify peer_id, user_id, domain, chat_id or user_ids param');
        }
        if (Number.isNaN(single)) throw paramError('peer_id not integer');
        peers = [single];
      }
      const randomId = intParam(params, 'random_id');
      if (randomId === undefined) throw paramError('random_id is a required parameter');
      if (Number.isNaN(randomId)) throw paramError('random_id not integer');
      const message = params.message ?? '';
      const hasContent =
        message.trim() !== '' ||
        (params.attachment ?? '').trim() !== '' ||
        (params.forward_messages ?? '').trim() !== '' ||
        (params.sticker_id ?? '').trim() !== '';
      if (!hasContent) throw paramError('message is empty or invalid');
      if (message.length > 4096) throw new VkApiError(914);
      if (params.keyboard !== undefined && params.keyboard !== '') {
        let kb: unknown;
        try {
          kb = JSON.parse(params.keyboard);
        } catch {
          throw new VkApiError(911, `${ERROR_MESSAGES[911]}: invalid json`);
        }
        if (typeof kb !== 'object' || kb === null || !Array.isArray((kb as { buttons?: unknown }).buttons)) {
          throw new VkApiError(911, `${ERROR_MESSAGES[911]}: buttons is required`);
        }
      }
      if (params.forward !== undefined && params.forward !== '') {
        try {
          JSON.parse(params.forward);
        } catch {
          throw paramError('forward is invalid');
        }
      }
      const reply = intParam(params, 'reply_to');
      if (reply !== undefined && Number.isNaN(reply)) throw paramError('reply_to not integer');

      if (!many && (blockedPeers.has(`${groupId}:${peers[0]}`) || blockedPeers.has(`*:${peers[0]}`)))
        throw new VkApiError(901);
      const results = peers.map((peer) => {
        // A user who forbade the community's messages: with peer_ids VK answers per peer.
        if (blockedPeers.has(`${groupId}:${peer}`) || blockedPeers.has(`*:${peer}`))
          return { peer_id: peer, error: { code: 901, description: ERROR_MESSAGES[901] } };
        // Like VK, a repeated non-zero random_id to the same peer returns the earlier message.
        const key = `${groupId}:${peer}:${randomId}`;
        const earlier = randomId !== 0 ? messageDedupe.get(key) : undefined;
        if (earlier) return { peer_id: peer, ...earlier };
        const ids = { message_id: nextMessageId++, conversation_message_id: nextCmid(peer) };
        if (randomId !== 0) messageDedupe.set(key, ids);
        groupMessages.set(ids.message_id, { groupId, peer });
        recordSent(groupId, {
          method: method as 'messages.send',
          params: { ...params },
          peer_id: peer,
          message,
          random_id: randomId,
          id: ids.message_id,
          at: Date.now(),
        });
        return { peer_id: peer, ...ids };
      });
      return many ? results : (results[0] as { message_id: number }).message_id;
    },

    'messages.edit': (groupId, params, method) => {
      const peer = requireInt(params, 'peer_id');
      const messageId = requireInt(params, 'message_id');
      const message = params.message ?? '';
      if (message.trim() === '' && (params.attachment ?? '').trim() === '' && params.keyboard === undefined)
        throw paramError('message is empty or invalid');
      if (message.length > 4096) throw new VkApiError(914);
      if (params.keyboard !== undefined && params.keyboard !== '') {
        let kb: unknown;
        try {
          kb = JSON.parse(params.keyboard);
        } catch {
          throw new VkApiError(911, `${ERROR_MESSAGES[911]}: invalid json`);
        }
        if (typeof kb !== 'object' || kb === null || !Array.isArray((kb as { buttons?: unknown }).buttons)) {
          throw new VkApiError(911, `${ERROR_MESSAGES[911]}: buttons is required`);
        }
      }
      const known = groupMessages.get(messageId);
      // A community edits only its own messages, in the conversation they were sent to.
      if (!known || known.groupId !== groupId || known.peer !== peer)
        throw new VkApiError(15, 'Access denied');
      recordSent(groupId, {
        method: method as 'messages.edit',
        params: { ...params },
        peer_id: peer,
        message,
        id: messageId,
        at: Date.now(),
      });
      return 1;
    },

    'wall.createComment': (groupId, params, method) => {
      const ownerId = requireInt(params, 'owner_id');
      const postId = requireInt(params, 'post_id');
      const message = params.message ?? '';
      const hasContent =
        message.trim() !== '' ||
        (params.attachments ?? '').trim() !== '' ||
        (params.sticker_id ?? '').trim() !== '';
      if (!hasContent) throw paramError('message is empty');
      const replyTo = intParam(params, 'reply_to_comment');
      if (replyTo !== undefined && Number.isNaN(replyTo)) throw paramError('reply_to_comment not integer');
      const fromGroup = intParam(params, 'from_group');
      if (fromGroup !== undefined && Number.isNaN(fromGroup)) throw paramError('from_group not integer');
      const guid = params.guid;
      const dedupeKey = guid ? `${groupId}:${ownerId}:${postId}:${guid}` : undefined;
      const earlier = dedupeKey ? commentDedupe.get(dedupeKey) : undefined;
      if (earlier !== undefined) return { comment_id: earlier, parents_stack: [] };
      const commentId = nextCommentId(ownerId, postId);
      if (dedupeKey) commentDedupe.set(dedupeKey, commentId);
      // A community token always comments on behalf of the community.
      commentAuthors.set(`${ownerId}_${commentId}`, -(fromGroup || groupId));
      recordSent(groupId, {
        method: method as 'wall.createComment',
        params: { ...params },
        owner_id: ownerId,
        post_id: postId,
        ...(replyTo !== undefined ? { reply_to_comment: replyTo } : {}),
        message,
        id: commentId,
        at: Date.now(),
      });
      return { comment_id: commentId, parents_stack: [] };
    },

    'users.get': (_groupId, params) => {
      const raw = params.user_ids ?? params.user_id ?? '';
      const fields = new Set((params.fields ?? '').split(',').map((s) => s.trim()));
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '')
        .map((s) => {
          const m = /^(?:id)?(\d+)$/.exec(s);
          if (!m) throw new VkApiError(113);
          const id = Number(m[1]);
          const { first_name, last_name, sex } = russianName(id);
          return {
            id,
            first_name,
            last_name,
            can_access_closed: true,
            is_closed: false,
            ...(fields.has('sex') ? { sex } : {}),
          };
        });
    },
  };

  // ---- HTTP ----------------------------------------------------------------------------------------

  const sendJson = (res: http.ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  };

  const errorBody = (code: number, msg: string, method: string, params: Record<string, string>) => ({
    error: {
      error_code: code,
      error_msg: msg,
      request_params: [
        { key: 'method', value: method },
        { key: 'oauth', value: '1' },
        ...Object.entries(params).map(([key, value]) => ({ key, value })),
      ],
    },
  });

  const readBody = (req: http.IncomingMessage) =>
    new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });

  const handleApi = async (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    method: string,
    query: URLSearchParams,
  ) => {
    const all: Record<string, string> = Object.fromEntries(query);
    const body = await readBody(req);
    const ctype = String(req.headers['content-type'] ?? '');
    // VK reads form-urlencoded bodies (vk-io sends `application/x-www-form-urlencoded;charset=UTF-8`).
    if (body !== '' && (ctype === '' || ctype.startsWith('application/x-www-form-urlencoded'))) {
      for (const [k, v] of new URLSearchParams(body)) all[k] = v;
    }
    const token = all.access_token;
    const params = { ...all };
    delete params.access_token;
    const call: VkCall = { method, params, at: Date.now() };
    callLog.push(call);

    const fail = (code: number, msg?: string) => {
      call.errorCode = code;
      sendJson(
        res,
        200,
        errorBody(code, msg ?? ERROR_MESSAGES[code] ?? 'Unknown error occurred', method, params),
      );
    };

    const queued = failures.get(method);
    const injected = queued?.shift();
    if (injected) {
      if ('http' in injected) {
        call.errorCode = injected.http;
        res.writeHead(injected.http, { 'content-type': 'text/html' });
        res.end(htmlErrorPage(injected.http));
      } else {
        fail(injected.code, injected.msg);
      }
      return;
    }

    if (token === undefined || token === '')
      return fail(5, 'User authorization failed: no access_token passed.');
    const groupId = tokens.get(token);
    if (groupId === undefined || revoked.has(token)) {
      return fail(5, 'User authorization failed: invalid access_token');
    }
    if (!params.v) return fail(8, 'Invalid request: v is required');
    if (!meter(groupId)) return fail(6);
    const handler = handlers[method];
    if (!handler) return fail(3);
    try {
      const response = handler(groupId, params, method);
      if (options.sendLatencyMs && method === 'messages.send')
        await new Promise((r) => setTimeout(r, options.sendLatencyMs));
      sendJson(res, 200, { response });
    } catch (e) {
      if (e instanceof VkApiError) return fail(e.code, e.message);
      return fail(10, `Internal server error: ${(e as Error).message}`);
    }
  };

  const flushWaiters = (g: GroupState) => {
    for (const w of [...g.waiters]) {
      const updates = g.events.filter((e) => e.ts >= w.ts).map((e) => e.event);
      if (updates.length === 0) continue;
      g.waiters.delete(w);
      clearTimeout(w.timer);
      sendJson(w.res, 200, { ts: String(g.nextTs), updates });
    }
  };

  const handleLongPoll = (res: http.ServerResponse, groupId: number, query: URLSearchParams) => {
    const g = groups.get(groupId);
    if (!g || query.get('key') !== g.key) return sendJson(res, 200, { failed: 2 });
    if (query.get('act') !== 'a_check')
      return sendJson(res, 400, { failed: 2, error: 'act must be a_check' });
    const tsRaw = query.get('ts') ?? '';
    const ts = /^\d+$/.test(tsRaw) ? Number(tsRaw) : NaN;
    // The history is out of reach (too old) or not there yet (ahead): VK answers failed 1 with a fresh ts.
    if (Number.isNaN(ts) || ts < g.firstTs || ts > g.nextTs) {
      return sendJson(res, 200, { failed: 1, ts: String(g.nextTs) });
    }
    const updates = g.events.filter((e) => e.ts >= ts).map((e) => e.event);
    const waitRaw = Number(query.get('wait') ?? MAX_WAIT_S);
    const waitS = Number.isFinite(waitRaw) ? Math.min(Math.max(waitRaw, 0), MAX_WAIT_S) : MAX_WAIT_S;
    if (updates.length > 0 || waitS === 0 || closed) {
      return sendJson(res, 200, { ts: String(g.nextTs), updates });
    }
    const waiter: LongPollWaiter = {
      ts,
      res,
      timer: setTimeout(() => {
        g.waiters.delete(waiter);
        sendJson(res, 200, { ts: String(g.nextTs), updates: [] });
      }, waitS * 1000),
    };
    g.waiters.add(waiter);
    res.on('close', () => {
      // The client went away (aborted or finished): forget the waiter.
      if (g.waiters.delete(waiter)) clearTimeout(waiter.timer);
    });
  };

  // Responses not yet handed to the OS; close() lets them finish before cutting connections.
  const inFlight = new Set<Promise<void>>();
  const server = http.createServer((req, res) => {
    const done = new Promise<void>((resolve) => res.once('finish', resolve).once('close', resolve));
    inFlight.add(done);
    void done.then(() => inFlight.delete(done));
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    const api = /^\/method\/([A-Za-z0-9_.]+)$/.exec(u.pathname);
    if (api) {
      handleApi(req, res, api[1] as string, u.searchParams).catch((e: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { error: String(e) });
      });
      return;
    }
    const lp = /^\/lp\/(\d+)$/.exec(u.pathname);
    if (lp && req.method === 'GET') return handleLongPoll(res, Number(lp[1]), u.searchParams);
    res.writeHead(404, { 'content-type': 'text/html' });
    res.end('<html><body><h1>404 Not Found</h1></body></html>');
  });
  server.keepAliveTimeout = 30_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // ---- event builders ------------------------------------------------------------------------------

  const photoAttachment = () => {
    const id = nextPhotoId++;
    const ownerId = 100000 + (id % 1000);
    const base = `https://sun9-${(id % 80) + 1}.userapi.com/impg/c${id}/v${id}/photo.jpg`;
    const dims: [string, number, number][] = [
      ['s', 75, 56],
      ['m', 130, 98],
      ['x', 604, 453],
      ['y', 807, 605],
      ['z', 1280, 960],
      ['w', 2560, 1920],
      ['o', 130, 98],
      ['p', 200, 150],
      ['q', 320, 240],
      ['r', 510, 383],
    ];
    const sizes = dims.map(([type, width, height]) => ({
      height,
      type,
      width,
      url: `${base}?size=${width}x${height}&quality=96&type=album`,
    }));
    return {
      type: 'photo',
      photo: {
        album_id: -3,
        date: unixNow(),
        id,
        owner_id: ownerId,
        access_key: createHash('sha1').update(`photo${id}`).digest('hex').slice(0, 18),
        sizes,
        text: '',
        web_view_token: createHash('sha1').update(`wvt${id}`).digest('hex').slice(0, 20),
        has_tags: false,
        orig_photo: { height: 1920, type: 'base', url: `${base}?size=2560x1920`, width: 2560 },
      },
    };
  };

  const events: VkEmulator['events'] = {
    messageNew(o) {
      const peerId = o.peerId ?? o.fromId;
      const message: Record<string, unknown> = {
        date: unixNow(),
        from_id: o.fromId,
        // In group chats a community bot only sees conversation_message_id; id is 0 there.
        id: peerId >= CHAT_PEER_BASE ? 0 : nextMessageId++,
        out: 0,
        version: 10_000_000 + nextEventNo,
        attachments: o.attachments ?? [],
        conversation_message_id: nextCmid(peerId),
        fwd_messages: [],
        important: false,
        is_hidden: false,
        peer_id: peerId,
        random_id: 0,
        text: o.text,
      };
      if (o.payload !== undefined) message.payload = o.payload;
      if (o.geo) message.geo = { type: 'point', coordinates: { ...o.geo.coordinates } };
      return {
        type: 'message_new',
        object: {
          message,
          client_info: {
            button_actions: [
              'text',
              'vkpay',
              'open_app',
              'location',
              'open_link',
              'callback',
              'intent_subscribe',
              'intent_unsubscribe',
            ],
            keyboard: true,
            inline_keyboard: true,
            carousel: true,
            lang_id: 0,
          },
        },
      };
    },

    photoAttachment,

    messageEdit(event, text) {
      const original = (event.object.message ?? event.object) as Record<string, unknown>;
      return {
        type: 'message_edit',
        object: { ...structuredClone(original), text, update_time: unixNow() },
      };
    },

    wallReplyEdit(event, text) {
      return { type: 'wall_reply_edit', object: { ...structuredClone(event.object), text } };
    },

    wallPostNew(o) {
      const ownerId = -o.groupId;
      const id = o.postId ?? nextPostId(ownerId);
      if (o.postId !== undefined) postIds.set(ownerId, Math.max(postIds.get(ownerId) ?? 0, o.postId));
      const fromId = o.fromId ?? ownerId;
      return {
        type: 'wall_post_new',
        object: {
          id,
          from_id: fromId,
          owner_id: ownerId,
          date: unixNow(),
          marked_as_ads: 0,
          post_type: 'post',
          text: o.text,
          can_edit: 1,
          can_delete: 1,
          ...(fromId === ownerId ? {} : { created_by: fromId }),
          attachments: [],
          comments: { count: 0 },
          is_favorite: false,
        },
      };
    },

    wallReplyNew(o) {
      const ownerId = -o.groupId;
      const id = nextCommentId(ownerId, o.postId);
      commentAuthors.set(`${ownerId}_${id}`, o.fromId);
      const replyUser =
        o.replyToComment !== undefined ? commentAuthors.get(`${ownerId}_${o.replyToComment}`) : undefined;
      return {
        type: 'wall_reply_new',
        object: {
          id,
          from_id: o.fromId,
          date: unixNow(),
          text: o.text,
          post_owner_id: ownerId,
          post_id: o.postId,
          owner_id: ownerId,
          parents_stack: o.replyToComment !== undefined ? [o.replyToComment] : [],
          thread: { count: 0 },
          ...(o.replyToComment !== undefined ? { reply_to_comment: o.replyToComment } : {}),
          ...(replyUser !== undefined ? { reply_to_user: replyUser } : {}),
        },
      };
    },
  };

  // ---- the emulator object -------------------------------------------------------------------------

  const describeSent = (s: VkSent) =>
    s.method !== 'wall.createComment'
      ? `  ${s.method} peer_id=${s.peer_id} id=${s.id} random_id=${s.random_id} message=${JSON.stringify(s.message)}`
      : `  wall.createComment owner_id=${s.owner_id} post_id=${s.post_id} id=${s.id}` +
        `${s.reply_to_comment !== undefined ? ` reply_to_comment=${s.reply_to_comment}` : ''} message=${JSON.stringify(s.message)}`;

  return {
    url,
    apiBaseUrl: `${url}/method`,

    addGroup(groupId, token) {
      if (!Number.isInteger(groupId) || groupId <= 0)
        throw new Error(`group id must be a positive integer: ${groupId}`);
      const owner = tokens.get(token);
      if (owner !== undefined && owner !== groupId)
        throw new Error(`token already belongs to group ${owner}`);
      tokens.set(token, groupId);
      revoked.delete(token);
      if (!groups.has(groupId)) {
        groups.set(groupId, {
          id: groupId,
          key: createHash('sha1').update(`lp-key-${groupId}-${url}`).digest('hex'),
          nextTs: 1,
          firstTs: 1,
          events: [],
          waiters: new Set(),
        });
      }
    },

    pushEvent(groupId, event) {
      const g = groups.get(groupId);
      if (!g) throw new Error(`pushEvent: unknown group ${groupId}; call addGroup first`);
      nextEventNo += 1;
      const full: Record<string, unknown> = {
        group_id: groupId,
        type: event.type,
        event_id: createHash('sha1').update(`event-${groupId}-${nextEventNo}`).digest('hex'),
        v: API_VERSION,
        object: event.object,
      };
      g.events.push({ ts: g.nextTs, event: full });
      g.nextTs += 1;
      flushWaiters(g);
      return full;
    },

    sent(groupId) {
      return sentLog.filter((r) => groupId === undefined || r.groupId === groupId).map((r) => r.sent);
    },

    calls() {
      return callLog.map((c) => ({ ...c, params: { ...c.params } }));
    },

    failNext(method, n, error) {
      const queue = failures.get(method) ?? [];
      for (let i = 0; i < n; i++) queue.push(error);
      failures.set(method, queue);
    },

    revokeToken(token) {
      revoked.add(token);
    },

    blockUser(userId, groupId) {
      blockedPeers.add(`${groupId ?? '*'}:${userId}`);
    },

    violations: (groupId) =>
      [...meters.entries()]
        .filter(([g]) => groupId === undefined || g === groupId)
        .reduce((a, [, m]) => a + m.violations, 0),

    busiestSecond: (groupId) =>
      Math.max(
        0,
        ...[...meters.entries()]
          .filter(([g]) => groupId === undefined || g === groupId)
          .map(([, m]) => m.busiest),
      ),

    waitForSent(pred, opts = {}) {
      const timeoutMs = opts.timeoutMs ?? 10_000;
      const count = opts.count ?? 1;
      return new Promise<VkSent[]>((resolve, reject) => {
        const check = () => {
          const matches = sentLog.map((r) => r.sent).filter(pred);
          if (matches.length < count) return false;
          finish();
          resolve(matches.slice(0, count));
          return true;
        };
        const onClose = () => {
          finish();
          reject(new Error('waitForSent: the VK emulator was closed'));
        };
        const timer = setTimeout(() => {
          finish();
          const matched = sentLog.map((r) => r.sent).filter(pred).length;
          const sentLines = sentLog.map((r) => describeSent(r.sent));
          const failed = callLog
            .filter((c) => c.errorCode !== undefined)
            .map((c) => `  ${c.method} → error ${c.errorCode} ${JSON.stringify(c.params)}`);
          reject(
            new Error(
              `waitForSent: ${matched}/${count} matching sends after ${timeoutMs} ms.\n` +
                `Sent so far (${sentLines.length}):\n${sentLines.join('\n') || '  (nothing)'}\n` +
                `Failed calls (${failed.length}):\n${failed.join('\n') || '  (none)'}`,
            ),
          );
        }, timeoutMs);
        const finish = () => {
          clearTimeout(timer);
          sentListeners.delete(check);
          closeListeners.delete(onClose);
        };
        if (check()) return;
        sentListeners.add(check);
        closeListeners.add(onClose);
      });
    },

    async close() {
      if (closed) return;
      closed = true;
      // Answer every held long poll (empty updates), then let all answers (API calls in flight too) reach
      // the clients before the remaining keep-alive connections are cut.
      for (const g of groups.values()) {
        for (const w of [...g.waiters]) {
          g.waiters.delete(w);
          clearTimeout(w.timer);
          sendJson(w.res, 200, { ts: String(g.nextTs), updates: [] });
        }
      }
      for (const l of [...closeListeners]) l();
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      let grace: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all([...inFlight]),
        new Promise((resolve) => (grace = setTimeout(resolve, 500))),
      ]);
      clearTimeout(grace);
      server.closeAllConnections();
      await stopped;
    },

    events,
  };
}
