/**
 * Proves the VK API emulator itself: the raw HTTP protocol (form-urlencoded POSTs, Bots Long Poll) and the
 * real `vk-io` client pointed at it.
 */
import http from 'node:http';
import type https from 'node:https';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { APIError, VK, type MessageContext } from 'vk-io';
import { startVkEmulator, type VkEmulator } from './vk.ts';

const GROUP = 220000001;
const TOKEN = 'vk1.a.group-token-one';
const GROUP2 = 220000002;
const TOKEN2 = 'vk1.a.group-token-two';

let emu: VkEmulator;
let agent: http.Agent;

beforeEach(async () => {
  emu = await startVkEmulator();
  emu.addGroup(GROUP, TOKEN);
  emu.addGroup(GROUP2, TOKEN2);
  agent = new http.Agent();
});

afterEach(async () => {
  // Not agent.destroy(): that would cut responses vk-io has not read yet ("socket hang up").
  await emu.close();
});

/** Calls a method the way vk-io does: POST form-urlencoded with access_token and v. */
async function call(method: string, params: Record<string, string | number>, token = TOKEN) {
  const body = new URLSearchParams({ access_token: token, v: '5.199' });
  for (const [k, v] of Object.entries(params)) body.set(k, String(v));
  const res = await fetch(`${emu.apiBaseUrl}/${method}`, { method: 'POST', body });
  expect(res.status).toBe(200);
  return (await res.json()) as {
    response?: unknown;
    error?: { error_code: number; error_msg: string; request_params: { key: string; value: string }[] };
  };
}

function makeVk(
  opts: { token?: string; pollingGroupId?: number; apiRetryLimit?: number; apiWait?: number } = {},
) {
  return new VK({
    token: opts.token ?? TOKEN,
    apiBaseUrl: emu.apiBaseUrl,
    // vk-io's typings want an https.Agent; an http.Agent is what an http:// base URL needs.
    agent: agent as unknown as https.Agent,
    apiLimit: 50,
    apiRetryLimit: opts.apiRetryLimit ?? 0,
    apiWait: opts.apiWait ?? 3000,
    ...(opts.pollingGroupId !== undefined ? { pollingGroupId: opts.pollingGroupId } : {}),
  });
}

describe('raw HTTP protocol', () => {
  it('messages.send answers a number with peer_id and an array with peer_ids', async () => {
    const one = await call('messages.send', { peer_id: 501, message: 'Здравствуйте', random_id: 11 });
    expect(typeof one.response).toBe('number');
    const many = await call('messages.send', { peer_ids: '502,503', message: 'Всем', random_id: 12 });
    expect(many.response).toEqual([
      { peer_id: 502, message_id: expect.any(Number), conversation_message_id: 1 },
      { peer_id: 503, message_id: expect.any(Number), conversation_message_id: 1 },
    ]);
    expect(emu.sent().map((s) => [s.peer_id, s.message])).toEqual([
      [501, 'Здравствуйте'],
      [502, 'Всем'],
      [503, 'Всем'],
    ]);
    expect(emu.sent()[0]?.params).toMatchObject({ v: '5.199', peer_id: '501', random_id: '11' });
    expect(emu.sent()[0]?.params.access_token).toBeUndefined();
  });

  it('de-duplicates messages.send by random_id per peer', async () => {
    const a = await call('messages.send', { peer_id: 501, message: 'раз', random_id: 77 });
    const b = await call('messages.send', { peer_id: 501, message: 'два', random_id: 77 });
    const c = await call('messages.send', { peer_id: 502, message: 'три', random_id: 77 });
    const d = await call('messages.send', { peer_id: 501, message: 'four', random_id: 0 });
    const e = await call('messages.send', { peer_id: 501, message: 'five', random_id: 0 });
    expect(b.response).toBe(a.response);
    expect(c.response).not.toBe(a.response);
    expect(e.response).not.toBe(d.response);
    expect(emu.sent().map((s) => s.message)).toEqual(['раз', 'три', 'four', 'five']);
  });

  it('answers VK errors with HTTP 200 and request_params', async () => {
    const empty = await call('messages.send', { peer_id: 501, random_id: 1 });
    expect(empty.error).toMatchObject({
      error_code: 100,
      error_msg: 'One of the parameters specified was missing or invalid: message is empty or invalid',
    });
    expect(empty.error?.request_params).toContainEqual({ key: 'method', value: 'messages.send' });
    expect(empty.error?.request_params.some((p) => p.key === 'access_token')).toBe(false);

    const unknown = await call('messages.nope', {});
    expect(unknown.error).toMatchObject({ error_code: 3, error_msg: 'Unknown method passed' });

    const badToken = await call('users.get', { user_ids: 1 }, 'wrong-token');
    expect(badToken.error).toMatchObject({
      error_code: 5,
      error_msg: 'User authorization failed: invalid access_token',
    });

    const badKeyboard = await call('messages.send', {
      peer_id: 1,
      message: 'x',
      random_id: 2,
      keyboard: '{',
    });
    expect(badKeyboard.error?.error_code).toBe(911);

    expect(emu.calls().map((c) => c.errorCode)).toEqual([100, 3, 5, 911]);
    expect(emu.sent()).toEqual([]);
  });

  it('users.get gives deterministic Russian names', async () => {
    const a = await call('users.get', { user_ids: '1,2,id3' });
    const b = await call('users.get', { user_ids: '1,2,id3' });
    expect(a.response).toEqual(b.response);
    const users = a.response as { id: number; first_name: string; last_name: string }[];
    expect(users.map((u) => u.id)).toEqual([1, 2, 3]);
    for (const u of users) expect(`${u.first_name} ${u.last_name}`).toMatch(/^[А-Яа-яЁё]+ [А-Яа-яЁё]+$/);
  });

  it('failNext injects VK errors and HTML 500s, then recovers', async () => {
    emu.failNext('users.get', 1, { code: 6 });
    emu.failNext('users.get', 1, { http: 500 });
    const tooMany = await call('users.get', { user_ids: 1 });
    expect(tooMany.error).toMatchObject({ error_code: 6, error_msg: 'Too many requests per second' });
    const res = await fetch(`${emu.apiBaseUrl}/users.get`, {
      method: 'POST',
      body: new URLSearchParams({ access_token: TOKEN, v: '5.199', user_ids: '1' }),
    });
    expect(res.status).toBe(500);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(await res.text()).toContain('500 Internal Server Error');
    expect((await call('users.get', { user_ids: 1 })).response).toHaveLength(1);
    expect(emu.calls().map((c) => c.errorCode)).toEqual([6, 500, undefined]);
  });

  it('long poll: getLongPollServer, then the server returns pushed events', async () => {
    const lp = (await call('groups.getLongPollServer', { group_id: GROUP })).response as {
      key: string;
      server: string;
      ts: string;
    };
    expect(lp.server).toBe(`${emu.url}/lp/${GROUP}`);
    expect(typeof lp.ts).toBe('string');

    const pushed = emu.pushEvent(GROUP, emu.events.messageNew({ fromId: 501, text: 'Яма на дороге' }));
    emu.pushEvent(GROUP2, emu.events.messageNew({ fromId: 502, text: 'another community' }));
    expect(pushed).toMatchObject({ group_id: GROUP, type: 'message_new', v: '5.199' });
    expect(typeof pushed.event_id).toBe('string');

    const poll = async (ts: string, key = lp.key, wait = 1) => {
      const res = await fetch(`${lp.server}?act=a_check&key=${key}&ts=${ts}&wait=${wait}`);
      return (await res.json()) as { ts?: string; updates?: Record<string, unknown>[]; failed?: number };
    };
    const first = await poll(lp.ts);
    expect(first.updates).toEqual([pushed]);
    expect(Number(first.ts)).toBeGreaterThan(Number(lp.ts));

    // A held request is answered as soon as an event arrives.
    const started = Date.now();
    const held = poll(first.ts as string, lp.key, 20);
    setTimeout(() => emu.pushEvent(GROUP, emu.events.wallPostNew({ groupId: GROUP, text: 'Новость' })), 100);
    const second = await held;
    expect(Date.now() - started).toBeLessThan(3000);
    expect(second.updates?.map((u) => u.type)).toEqual(['wall_post_new']);

    // Nothing new: wait elapses, empty updates, same ts.
    expect(await poll(second.ts as string, lp.key, 0)).toEqual({ ts: second.ts, updates: [] });
    expect(await poll(second.ts as string, 'wrong-key')).toEqual({ failed: 2 });
    expect(await poll('999999')).toEqual({ failed: 1, ts: second.ts });
  });

  it('event builders follow the VK object shapes', () => {
    const photo = emu.events.photoAttachment() as { type: string; photo: { sizes: { url: string }[] } };
    expect(photo.type).toBe('photo');
    expect(photo.photo.sizes.length).toBeGreaterThan(3);
    const msg = emu.events.messageNew({
      fromId: 7,
      text: 'hi',
      attachments: [photo],
      geo: { coordinates: { latitude: 55.75, longitude: 37.61 } },
      payload: '{"command":"start"}',
    });
    expect(msg.object.message).toMatchObject({
      from_id: 7,
      peer_id: 7,
      out: 0,
      text: 'hi',
      fwd_messages: [],
      random_id: 0,
      payload: '{"command":"start"}',
      geo: { coordinates: { latitude: 55.75, longitude: 37.61 } },
    });
    expect(msg.object.client_info).toMatchObject({ keyboard: true, inline_keyboard: true, lang_id: 0 });
    const post = emu.events.wallPostNew({ groupId: GROUP, postId: 40, text: 'Пост' });
    expect(post.object).toMatchObject({ id: 40, owner_id: -GROUP, from_id: -GROUP, post_type: 'post' });
    const c1 = emu.events.wallReplyNew({ groupId: GROUP, postId: 40, fromId: 9, text: 'Коммент' });
    const c2 = emu.events.wallReplyNew({
      groupId: GROUP,
      postId: 40,
      fromId: 10,
      text: 'Ответ',
      replyToComment: c1.object.id as number,
    });
    expect(c2.object).toMatchObject({
      post_owner_id: -GROUP,
      owner_id: -GROUP,
      post_id: 40,
      reply_to_comment: c1.object.id,
      reply_to_user: 9,
      parents_stack: [c1.object.id],
    });
  });
});

describe('vk-io against the emulator', () => {
  it('messages.send with peer_ids returns the array; random_id de-duplicates', async () => {
    const vk = makeVk();
    const res = await vk.api.messages.send({
      peer_ids: 501,
      message: 'Ваше обращение принято',
      random_id: 42,
    });
    expect(res).toEqual([{ peer_id: 501, message_id: expect.any(Number), conversation_message_id: 1 }]);
    const again = await vk.api.messages.send({
      peer_ids: 501,
      message: 'Ваше обращение принято',
      random_id: 42,
    });
    expect(again).toEqual(res);
    const kb = JSON.stringify({ one_time: false, buttons: [] });
    await vk.api.messages.send({ peer_id: 501, message: 'С клавиатурой', random_id: 43, keyboard: kb });
    expect(emu.sent(GROUP).map((s) => s.message)).toEqual(['Ваше обращение принято', 'С клавиатурой']);
    expect(emu.sent(GROUP2)).toEqual([]);
  });

  it('wall.createComment records the comment and de-duplicates by guid', async () => {
    const vk = makeVk({ token: TOKEN2 });
    const params = { owner_id: -GROUP2, post_id: 40, message: 'Спасибо', from_group: GROUP2, guid: 'g-1' };
    const a = await vk.api.wall.createComment(params);
    expect(a).toEqual({ comment_id: expect.any(Number), parents_stack: [] });
    expect(await vk.api.wall.createComment(params)).toEqual(a);
    await vk.api.wall.createComment({ ...params, guid: 'g-2', reply_to_comment: 41, message: 'Ответ' });
    expect(emu.sent(GROUP2)).toMatchObject([
      { method: 'wall.createComment', owner_id: -GROUP2, post_id: 40, message: 'Спасибо', id: a.comment_id },
      { method: 'wall.createComment', reply_to_comment: 41, message: 'Ответ' },
    ]);
  });

  it('messages.edit changes a message the community sent in that conversation, and nothing else', async () => {
    const vk = makeVk();
    const kb = JSON.stringify({ inline: true, buttons: [[{ action: { type: 'text', label: 'Да' } }]] });
    const id = (await vk.api.messages.send({
      peer_id: 601,
      message: 'Опрос',
      random_id: 7,
      keyboard: kb,
    })) as unknown as number; // a single peer_id answers the message id
    const empty = JSON.stringify({ inline: true, buttons: [] });
    expect(
      await vk.api.messages.edit({
        peer_id: 601,
        message_id: id,
        message: 'Опрос завершён',
        keyboard: empty,
      }),
    ).toBe(1);
    expect(emu.sent(GROUP).at(-1)).toMatchObject({
      method: 'messages.edit',
      peer_id: 601,
      id,
      message: 'Опрос завершён',
    });
    // Another conversation, another community's message, a message that never was: access denied.
    for (const [token, peer, mid] of [
      [TOKEN, 602, id],
      [TOKEN2, 601, id],
      [TOKEN, 601, 999_999],
    ] as const) {
      const err = await makeVk({ token })
        .api.messages.edit({ peer_id: peer, message_id: mid, message: 'x' })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(APIError);
      expect((err as APIError).code).toBe(15);
    }
  });

  it('failNext 9 makes vk-io throw APIError code 9; an unknown or revoked token gives code 5', async () => {
    const vk = makeVk();
    emu.failNext('messages.send', 1, { code: 9 });
    const err = await vk.api.messages
      .send({ peer_id: 1, message: 'x', random_id: 1 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIError);
    expect((err as APIError).code).toBe(9);
    expect((err as APIError).message).toBe('Code №9 - Flood control');

    const stranger = makeVk({ token: 'not-a-token' });
    await expect(stranger.api.users.get({ user_ids: [1] })).rejects.toMatchObject({ code: 5 });

    emu.revokeToken(TOKEN);
    await expect(vk.api.users.get({ user_ids: [1] })).rejects.toMatchObject({ code: 5 });
  });

  it('vk-io retries error 6 by itself, and an HTML 500 within apiRetryLimit', async () => {
    const vk = makeVk({ apiRetryLimit: 1, apiWait: 20 });
    emu.failNext('messages.send', 1, { code: 6 });
    emu.failNext('users.get', 1, { http: 500 });
    const [sent, users] = await Promise.all([
      vk.api.messages.send({ peer_id: 1, message: 'after 6', random_id: 5 }),
      vk.api.users.get({ user_ids: [1] }),
    ]);
    expect(typeof sent).toBe('number');
    expect(users).toHaveLength(1);
    expect(emu.calls().map((c) => [c.method, c.errorCode])).toEqual(
      expect.arrayContaining([
        ['messages.send', 6],
        ['messages.send', undefined],
        ['users.get', 500],
        ['users.get', undefined],
      ]),
    );
  });

  it('vk.updates.start() (Bots Long Poll) receives a pushed message_new and replies', async () => {
    const vk = makeVk({ pollingGroupId: GROUP });
    const got: MessageContext[] = [];
    const replies: Promise<unknown>[] = [];
    vk.updates.on('message_new', async (ctx) => {
      got.push(ctx);
      const reply = ctx.send(`Получено: ${ctx.text}`);
      replies.push(reply);
      await reply;
    });
    await vk.updates.start();
    try {
      emu.pushEvent(
        GROUP,
        emu.events.messageNew({ fromId: 501, text: 'Не горит фонарь', payload: '{"a":1}' }),
      );
      const [reply] = await emu.waitForSent((s) => s.peer_id === 501, { timeoutMs: 5000 });
      expect(reply?.message).toBe('Получено: Не горит фонарь');
      // With a group, vk-io's context.send uses peer_ids.
      expect(reply?.params.peer_ids).toBe('501');
      expect(got[0]?.messagePayload).toEqual({ a: 1 });
      expect(got[0]?.senderId).toBe(501);
      // context.send resolves with the message vk-io built from the peer_ids answer.
      const [sentCtx] = (await Promise.all(replies)) as MessageContext[];
      expect(sentCtx?.id).toBe(reply?.id);
    } finally {
      await vk.updates.stop();
    }
    // close() (in afterEach) releases the long poll vk-io still holds.
  });

  it('vk.updates.start() without pollingGroupId finds the group through groups.getById', async () => {
    const vk = makeVk({ token: TOKEN2 });
    const texts: string[] = [];
    vk.updates.on('wall_reply_new', async (ctx) => {
      texts.push(ctx.text ?? '');
    });
    await vk.updates.start();
    try {
      emu.pushEvent(
        GROUP2,
        emu.events.wallReplyNew({ groupId: GROUP2, postId: 3, fromId: 77, text: 'Когда?' }),
      );
      await expect.poll(() => texts, { timeout: 5000 }).toEqual(['Когда?']);
    } finally {
      await vk.updates.stop();
    }
    expect(emu.calls().map((c) => c.method)).toEqual(['groups.getById', 'groups.getLongPollServer']);
  });
});

describe('helpers', () => {
  it('waitForSent rejects with a listing on timeout', async () => {
    await call('messages.send', { peer_id: 501, message: 'что-то другое', random_id: 3 });
    await call('messages.send', { peer_id: 501, random_id: 4 });
    const err = await emu.waitForSent((s) => s.peer_id === 999, { timeoutMs: 100 }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain('0/1 matching');
    expect((err as Error).message).toContain('что-то другое');
    expect((err as Error).message).toContain('error 100');
  });

  it('close() releases a held long poll at once', async () => {
    const lp = (await call('groups.getLongPollServer', { group_id: GROUP })).response as {
      key: string;
      server: string;
      ts: string;
    };
    const started = Date.now();
    const held = fetch(`${lp.server}?act=a_check&key=${lp.key}&ts=${lp.ts}&wait=25`).then((r) => r.json());
    await new Promise((r) => setTimeout(r, 100));
    await emu.close();
    expect(await held).toEqual({ ts: lp.ts, updates: [] });
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('real-limits mode', () => {
  it('calls over the community limit answer error 6 and are counted; a steady pace passes', async () => {
    const lim = await startVkEmulator({ limits: { perSecond: 20 } });
    lim.addGroup(GROUP, TOKEN);
    const callLim = async (i: number) => {
      const body = new URLSearchParams({
        access_token: TOKEN,
        v: '5.199',
        peer_id: String(700 + i),
        random_id: String(i + 1),
        message: 'Новость',
      });
      return (await (await fetch(`${lim.apiBaseUrl}/messages.send`, { method: 'POST', body })).json()) as {
        response?: number;
        error?: { error_code: number; error_msg: string };
      };
    };
    try {
      const burst = await Promise.all(Array.from({ length: 20 }, (_, i) => callLim(i)));
      const refused = burst.filter((r) => r.error);
      expect(refused.length).toBeGreaterThanOrEqual(15);
      expect(refused[0]!.error).toMatchObject({ error_code: 6, error_msg: 'Too many requests per second' });
      expect(lim.violations(GROUP)).toBe(refused.length);
      await new Promise((r) => setTimeout(r, 1100));
      const before = lim.violations();
      for (let i = 0; i < 15; i++) {
        expect((await callLim(100 + i)).error).toBeUndefined();
        await new Promise((r) => setTimeout(r, 60));
      }
      expect(lim.violations()).toBe(before);
      expect(lim.busiestSecond(GROUP)).toBeLessThanOrEqual(20);
    } finally {
      await lim.close();
    }
  });

  it('a user who forbade messages: 901 for peer_id, a per-peer error for peer_ids', async () => {
    emu.blockUser(650);
    const one = await call('messages.send', { peer_id: 650, message: 'Новость', random_id: 5 });
    expect(one.error).toMatchObject({ error_code: 901 });
    const many = await call('messages.send', { peer_ids: '650,651', message: 'Новость', random_id: 6 });
    expect(many.response).toEqual([
      { peer_id: 650, error: { code: 901, description: "Can't send messages for users without permission" } },
      expect.objectContaining({ peer_id: 651, message_id: expect.any(Number) }),
    ]);
    expect(emu.sent(GROUP).map((s) => s.peer_id)).toEqual([651]);
  });
});
