/**
 * The Telegram Bot API emulator itself: raw HTTP (JSON and form bodies) and telegraf 4 against it,
 * long polling, offsets, webhooks with the secret header and retries, injected failures, many bots.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Markup, Telegraf, TelegramError } from 'telegraf';
import type { Update } from 'telegraf/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTelegramEmulator, type TelegramEmulator } from './telegram.ts';

const TOKEN = '111111:AAEmulatorTokenOne';
const TOKEN2 = '222222:AAEmulatorTokenTwo';
const citizen = { id: 5001, first_name: 'Анна', username: 'anna_k' };

let emu: TelegramEmulator;

beforeAll(async () => {
  emu = await startTelegramEmulator({ webhookRetryDelayMs: 20 });
  emu.addBot(TOKEN, { username: 'otklik_test_bot', first_name: 'Отклик' });
  emu.addBot(TOKEN2);
});

afterAll(async () => {
  await emu.close();
});

/** Raw call of the Bot API: JSON body by default, form-urlencoded with `form: true`. */
async function api(token: string, method: string, params: Record<string, unknown> = {}, form = false) {
  const init: RequestInit = form
    ? {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(
          Object.entries(params).map(([k, v]): [string, string] => [
            k,
            typeof v === 'string' ? v : JSON.stringify(v),
          ]),
        ).toString(),
      }
    : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(params) };
  const res = await fetch(`${emu.url}/bot${token}/${method}`, init);
  return { status: res.status, body: (await res.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

const newBot = (token = TOKEN) => new Telegraf(token, { telegram: { apiRoot: emu.url } });

/** A tiny webhook receiver: hands each request to `handler`, remembers what arrived. */
async function startReceiver(handler: http.RequestListener) {
  const hits: { headers: http.IncomingHttpHeaders }[] = [];
  const server = http.createServer((req, res) => {
    hits.push({ headers: req.headers });
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function until(cond: () => boolean, ms = 3000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('raw HTTP', () => {
  it('answers getMe, rejects unknown tokens (401) and unknown methods (404)', async () => {
    const me = await api(TOKEN, 'getMe');
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({
      ok: true,
      result: {
        id: 111111,
        is_bot: true,
        username: 'otklik_test_bot',
        first_name: 'Отклик',
        can_join_groups: true,
      },
    });
    expect(await api('999:nope', 'getMe')).toEqual({
      status: 401,
      body: { ok: false, error_code: 401, description: 'Unauthorized' },
    });
    expect(await api(TOKEN, 'sendTelepathy')).toEqual({
      status: 404,
      body: { ok: false, error_code: 404, description: 'Not Found: method not found' },
    });
    // method names are case-insensitive, GET with a query string works
    const viaGet = await fetch(`${emu.url}/bot${TOKEN}/getme`);
    expect(viaGet.status).toBe(200);
  });

  it('sends messages from JSON and form bodies, validating parameters', async () => {
    const chatId = 7001;
    const json = await api(TOKEN, 'sendMessage', { chat_id: chatId, text: 'Привет' });
    expect(json.body.result).toMatchObject({
      message_id: 1,
      chat: { id: chatId, type: 'private' },
      from: { id: 111111, is_bot: true, username: 'otklik_test_bot' },
      text: 'Привет',
    });
    expect(typeof json.body.result.date).toBe('number');

    // form bodies carry everything as strings: chat_id, reply ids and JSON reply_markup are normalised
    const keyboard = { inline_keyboard: [[{ text: 'Да', callback_data: 'yes' }]] };
    const form = await api(
      TOKEN,
      'sendMessage',
      { chat_id: String(chatId), text: 'Вопрос?', reply_markup: keyboard, reply_to_message_id: '1' },
      true,
    );
    expect(form.status).toBe(200);
    expect(form.body.result).toMatchObject({
      message_id: 2,
      reply_markup: keyboard,
      reply_to_message: { message_id: 1, text: 'Привет' },
    });
    const rec = emu.sent(TOKEN).find((r) => r.message_id === 2 && r.chat_id === String(chatId));
    expect(rec).toMatchObject({
      method: 'sendMessage',
      text: 'Вопрос?',
      reply_markup: keyboard,
      reply_to_message_id: 1,
    });
    expect(rec?.params.chat_id).toBe(chatId);

    expect(await api(TOKEN, 'sendMessage', { text: 'x' })).toMatchObject({
      status: 400,
      body: { ok: false, error_code: 400, description: 'Bad Request: chat_id is empty' },
    });
    expect(await api(TOKEN, 'sendMessage', { chat_id: chatId, text: '' })).toMatchObject({
      status: 400,
      body: { description: 'Bad Request: message text is empty' },
    });
    expect(
      await api(TOKEN, 'sendMessage', { chat_id: chatId, text: 'x', reply_parameters: { message_id: 999 } }),
    ).toMatchObject({
      status: 400,
      body: { description: 'Bad Request: message to be replied not found' },
    });
    // formatting and keyboards are checked like on the real server
    const md = await api(TOKEN, 'sendMessage', {
      chat_id: chatId,
      text: 'Заявка №5 принята.',
      parse_mode: 'MarkdownV2',
    });
    expect(md.status).toBe(400);
    expect(md.body.description).toMatch(/^Bad Request: can't parse entities: Character '\.' is reserved/);
    const html = await api(TOKEN, 'sendMessage', {
      chat_id: chatId,
      text: '<b>Статус</b>: &lt;в работе&gt;',
      parse_mode: 'HTML',
    });
    expect(html.body.result).toMatchObject({
      text: 'Статус: <в работе>',
      entities: [{ type: 'bold', offset: 0, length: 6 }],
    });
    const longData = { inline_keyboard: [[{ text: 'x', callback_data: 'x'.repeat(65) }]] };
    expect(
      await api(TOKEN, 'sendMessage', { chat_id: chatId, text: 'x', reply_markup: longData }),
    ).toMatchObject({
      status: 400,
      body: { description: 'Bad Request: BUTTON_DATA_INVALID' },
    });
    expect(emu.calls(TOKEN).filter((c) => c.status === 400).length).toBeGreaterThanOrEqual(5);
  });
});

describe('telegraf against the emulator', () => {
  it('calls getMe and sendMessage, uploads photos as multipart', async () => {
    const bot = newBot();
    expect(await bot.telegram.getMe()).toMatchObject({ id: 111111, username: 'otklik_test_bot' });
    const msg = await bot.telegram.sendMessage(
      8001,
      'Выберите район',
      Markup.inlineKeyboard([Markup.button.callback('Центр', 'district:1')]),
    );
    expect(msg).toMatchObject({ chat: { id: 8001 }, text: 'Выберите район', message_id: 1 });

    const upload = await bot.telegram.sendPhoto(
      8001,
      { source: Buffer.from('fake-jpeg-bytes') },
      { caption: 'Фото' },
    );
    expect(upload.photo.length).toBeGreaterThan(0);
    const uploaded = emu.sent(TOKEN).find((r) => r.method === 'sendPhoto' && r.chat_id === '8001');
    expect(uploaded).toMatchObject({ caption: 'Фото', message_id: 2 });
    expect(uploaded?.params.chat_id).toBe(8001); // a multipart string, normalised
    expect(uploaded?.params.method).toBeUndefined(); // telegraf repeats the method in multipart bodies

    const byUrl = await bot.telegram.sendPhoto(8001, 'https://example.org/pothole.jpg', { caption: 'Яма' });
    expect(byUrl.caption).toBe('Яма');
    const [again] = await emu.waitForSent((r) => r.photo === 'https://example.org/pothole.jpg');
    expect(again?.message_id).toBe(3);
    // the file of an upload can be downloaded back
    const link = await bot.telegram.getFileLink(uploaded?.photo as string);
    expect(Buffer.from(await (await fetch(link)).arrayBuffer()).toString()).toBe('fake-jpeg-bytes');
  });

  it('long-polls getUpdates until an update is pushed, and offset confirms', async () => {
    const bot = newBot();
    const started = Date.now();
    const poll = bot.telegram.getUpdates(5, 100, 0, undefined);
    setTimeout(() => emu.pushUpdate(TOKEN, emu.updates.privateText(citizen, 'Не горит фонарь')), 150);
    const got = await poll;
    expect(Date.now() - started).toBeLessThan(2000);
    expect(got).toHaveLength(1);
    const first = got[0] as Update.MessageUpdate;
    expect(first.message).toMatchObject({
      from: { id: citizen.id, is_bot: false, first_name: 'Анна', username: 'anna_k' },
      chat: { id: citizen.id, type: 'private' },
      text: 'Не горит фонарь',
    });
    // not confirmed yet: comes again; confirmed by offset: gone
    expect(await bot.telegram.getUpdates(0, 100, 0, undefined)).toHaveLength(1);
    emu.pushUpdate(TOKEN, emu.updates.privateText(citizen, 'второе'));
    const next = await bot.telegram.getUpdates(0, 100, first.update_id + 1, undefined);
    expect(next.map((u) => u.update_id)).toEqual([first.update_id + 1]);
    expect(await bot.telegram.getUpdates(0, 100, first.update_id + 2, undefined)).toEqual([]);
  });

  it('handles a /command and a callback query through bot.handleUpdate', async () => {
    const bot = newBot();
    bot.command('start', (ctx) =>
      ctx.reply(
        'Здравствуйте! Опишите проблему.',
        Markup.inlineKeyboard([Markup.button.callback('ЖКХ', 'cat:jkh')]),
      ),
    );
    bot.action(/^cat:(.+)$/, async (ctx) => {
      await ctx.answerCbQuery('Принято');
      await ctx.editMessageText(`Категория: ${ctx.match[1]}`);
    });
    const user = { id: 5002, first_name: 'Иван' };
    const start = emu.pushUpdate(TOKEN, emu.updates.privateText(user, '/start'));
    expect((start.message as { entities: unknown }).entities).toEqual([
      { type: 'bot_command', offset: 0, length: 6 },
    ]);
    const updates = await bot.telegram.getUpdates(0, 100, 0, undefined);
    for (const u of updates) await bot.handleUpdate(u);
    const [greeting] = await emu.waitForSent((r) => r.chat_id === '5002' && r.method === 'sendMessage');
    expect(greeting?.text).toBe('Здравствуйте! Опишите проблему.');

    const cb = emu.updates.callback(user, 'cat:jkh', {
      chat_id: 5002,
      message_id: greeting?.message_id as number,
    });
    expect(cb.callback_query).toMatchObject({
      from: { id: 5002 },
      data: 'cat:jkh',
      message: {
        message_id: greeting?.message_id,
        text: 'Здравствуйте! Опишите проблему.',
        reply_markup: {},
      },
    });
    await bot.handleUpdate(emu.pushUpdate(TOKEN, cb) as unknown as Update);
    const [edited] = await emu.waitForSent((r) => r.method === 'editMessageText' && r.chat_id === '5002');
    expect(edited).toMatchObject({ text: 'Категория: jkh', message_id: greeting?.message_id });
    expect(emu.calls(TOKEN).some((c) => c.method === 'answerCallbackQuery' && c.status === 200)).toBe(true);
    // the same edit again is refused like on the real server
    await expect(
      bot.telegram.editMessageText(5002, greeting?.message_id, undefined, 'Категория: jkh'),
    ).rejects.toThrow(/message is not modified/);
  });

  it('fails the next calls on demand: 429 with retry_after, 5xx', async () => {
    const bot = newBot();
    emu.failNext('sendMessage', 1, { code: 429, retryAfter: 3 });
    const err = await bot.telegram.sendMessage(9001, 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TelegramError);
    expect((err as TelegramError).code).toBe(429);
    expect((err as TelegramError).parameters?.retry_after).toBe(3);
    expect(emu.calls(TOKEN).at(-1)).toMatchObject({ method: 'sendMessage', status: 429 });

    emu.failNext('sendMessage', 1, { code: 502 }, TOKEN);
    await expect(bot.telegram.sendMessage(9001, 'x')).rejects.toMatchObject({ code: 502 });
    expect(emu.sent(TOKEN).filter((r) => r.chat_id === '9001')).toEqual([]);
    // the failures are used up
    await bot.telegram.sendMessage(9001, 'теперь дошло');
    expect(
      emu
        .sent(TOKEN)
        .filter((r) => r.chat_id === '9001')
        .map((r) => r.text),
    ).toEqual(['теперь дошло']);

    const raw = await (async () => {
      emu.failNext('getMe', 1, { code: 429, retryAfter: 7 });
      return api(TOKEN, 'getMe');
    })();
    expect(raw).toEqual({
      status: 429,
      body: {
        ok: false,
        error_code: 429,
        description: 'Too Many Requests: retry after 7',
        parameters: { retry_after: 7 },
      },
    });
  });

  it('keeps bots independent', async () => {
    const one = newBot(TOKEN);
    const two = newBot(TOKEN2);
    expect((await two.telegram.getMe()).id).toBe(222222);
    await one.telegram.getUpdates(0, 100, -1, undefined); // forget everything earlier
    const q1 = (await one.telegram.getUpdates(0, 100, 0, undefined)).at(-1)?.update_id ?? 0;
    await one.telegram.getUpdates(0, 100, q1 + 1, undefined);
    emu.pushUpdate(TOKEN2, emu.updates.privateText(citizen, 'второму боту'));
    expect(await one.telegram.getUpdates(0, 100, 0, undefined)).toEqual([]);
    const forTwo = await two.telegram.getUpdates(0, 100, 0, undefined);
    expect(forTwo).toHaveLength(1);
    await two.telegram.sendMessage(citizen.id, 'ответ второго');
    expect(emu.sent(TOKEN2).map((r) => r.text)).toEqual(['ответ второго']);
    expect(emu.sent(TOKEN).some((r) => r.text === 'ответ второго')).toBe(false);
  });
});

describe('webhooks', () => {
  it('delivers with the secret header, runs webhook replies, and refuses getUpdates (409)', async () => {
    const token = '333333:AAWebhookBot';
    emu.addBot(token);
    const bot = newBot(token);
    bot.action('ok', async (ctx) => {
      await ctx.answerCbQuery('Спасибо'); // telegraf answers this inside the webhook response
      await ctx.reply('Обращение зарегистрировано');
    });
    const callback = bot.webhookCallback('/hook', { secretToken: 's3cr3t_T0ken' });
    const receiver = await startReceiver((req, res) => void callback(req, res));
    try {
      await bot.telegram.setWebhook(receiver.url, { secret_token: 's3cr3t_T0ken' });
      expect(emu.webhook(token)).toEqual({ url: receiver.url, secret_token: 's3cr3t_T0ken' });
      await expect(bot.telegram.getUpdates(0, 100, 0, undefined)).rejects.toMatchObject({ code: 409 });

      emu.pushUpdate(token, emu.updates.callback(citizen, 'ok', { chat_id: citizen.id, message_id: 1 }));
      await emu.waitForSent((r) => r.token === token && r.text === 'Обращение зарегистрировано', {
        timeoutMs: 3000,
      });
      expect(receiver.hits[0]?.headers['x-telegram-bot-api-secret-token']).toBe('s3cr3t_T0ken');
      await until(() => emu.calls(token).some((c) => c.method === 'answerCallbackQuery'));
      expect(emu.calls(token).find((c) => c.method === 'answerCallbackQuery')).toMatchObject({
        status: 200,
        params: { text: 'Спасибо' },
      });
      expect(await bot.telegram.getWebhookInfo()).toMatchObject({
        url: receiver.url,
        pending_update_count: 0,
      });

      await bot.telegram.deleteWebhook();
      expect(emu.webhook(token)).toBeNull();
      expect(await bot.telegram.getUpdates(0, 100, 0, undefined)).toEqual([]);
    } finally {
      await receiver.close();
    }
  });

  it('retries a failing webhook and records the error', async () => {
    const token = '444444:AARetryBot';
    emu.addBot(token);
    let n = 0;
    const receiver = await startReceiver((_req, res) => {
      n++;
      res.writeHead(n <= 2 ? 500 : 200).end();
    });
    try {
      await api(token, 'setWebhook', { url: receiver.url });
      emu.pushUpdate(token, emu.updates.privateText(citizen, 'повтор'));
      await until(() => n === 3);
      const info = await api(token, 'getWebhookInfo');
      expect(info.body.result).toMatchObject({
        pending_update_count: 0,
        last_error_message: 'Wrong response from the webhook: 500 Internal Server Error',
      });
      expect(receiver.hits.every((h) => h.headers['x-telegram-bot-api-secret-token'] === undefined)).toBe(
        true,
      );
    } finally {
      await receiver.close();
    }
  });
});

describe('polls', () => {
  it('sends a non-anonymous poll, counts answers (a change moves the vote), stops it once', async () => {
    const bot = newBot();
    const sent = await bot.telegram.sendPoll(citizen.id, 'Где построить сквер?', ['У школы', 'У реки'], {
      is_anonymous: false,
    });
    expect(sent.poll).toMatchObject({
      question: 'Где построить сквер?',
      options: [
        { text: 'У школы', voter_count: 0 },
        { text: 'У реки', voter_count: 0 },
      ],
      is_anonymous: false,
      is_closed: false,
      type: 'regular',
    });
    const rec = emu.sent(TOKEN).find((r) => r.method === 'sendPoll' && r.poll?.id === sent.poll.id);
    expect(rec?.chat_id).toBe(String(citizen.id));

    const answer = emu.updates.pollAnswer(citizen, sent.poll.id, [1]);
    expect(answer).toEqual({
      poll_answer: {
        poll_id: sent.poll.id,
        user: expect.objectContaining({ id: citizen.id, is_bot: false }) as unknown,
        option_ids: [1],
      },
    });
    emu.updates.pollAnswer({ id: 5009 }, sent.poll.id, [1]);
    emu.updates.pollAnswer(citizen, sent.poll.id, [0]); // changed: the vote moves
    const stopped = await bot.telegram.stopPoll(citizen.id, sent.message_id);
    expect(stopped).toMatchObject({
      is_closed: true,
      total_voter_count: 2,
      options: [
        { text: 'У школы', voter_count: 1 },
        { text: 'У реки', voter_count: 1 },
      ],
    });
    expect(() => emu.updates.pollAnswer({ id: 5010 }, sent.poll.id, [0])).toThrow(/closed/);
    const again = await bot.telegram.stopPoll(citizen.id, sent.message_id).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(TelegramError);
    expect((again as TelegramError).description).toBe('Bad Request: poll has already been closed');
  });

  it('validates polls like the real server (form body, option objects, limits)', async () => {
    const ok = await api(
      TOKEN,
      'sendPoll',
      {
        chat_id: citizen.id,
        question: 'Вопрос?',
        options: [{ text: 'Да' }, { text: 'Нет' }],
        is_anonymous: 'false',
      },
      true,
    );
    expect(ok.status).toBe(200);
    expect(ok.body.result.poll).toMatchObject({
      is_anonymous: false,
      options: [{ text: 'Да' }, { text: 'Нет' }],
    });
    const one = await api(TOKEN, 'sendPoll', { chat_id: citizen.id, question: 'Вопрос?', options: ['Да'] });
    expect(one.body.description).toBe('Bad Request: poll must have at least 2 option');
    const long = await api(TOKEN, 'sendPoll', {
      chat_id: citizen.id,
      question: 'Вопрос?',
      options: ['Да', 'x'.repeat(101)],
    });
    expect(long.body.description).toBe('Bad Request: poll options length must not exceed 100');
    // Another bot cannot stop it; a message without a poll is not a poll to stop.
    const foreign = await api(TOKEN2, 'stopPoll', {
      chat_id: citizen.id,
      message_id: ok.body.result.message_id,
    });
    expect(foreign.body.description).toBe("Bad Request: message can't be edited");
    const text = await api(TOKEN, 'sendMessage', { chat_id: citizen.id, text: 'Просто текст' });
    const notPoll = await api(TOKEN, 'stopPoll', {
      chat_id: citizen.id,
      message_id: text.body.result.message_id,
    });
    expect(notPoll.body.description).toBe('Bad Request: message with poll to stop not found');
  });
});

describe('update builders and polling edge cases', () => {
  it('builds group, channel and discussion updates shaped like the Bot API', () => {
    const group = { id: -1001234567890, title: 'Двор на Ленина' };
    const first = emu.updates.groupMessage(group, citizen, 'Когда починят лифт?');
    const firstId = (first.message as { message_id: number }).message_id;
    const reply = emu.updates.groupMessage(group, { id: 5003 }, 'Присоединяюсь', { message_id: firstId });
    expect(reply.message).toMatchObject({
      chat: { id: group.id, type: 'supergroup', title: group.title },
      reply_to_message: { message_id: firstId, text: 'Когда починят лифт?' },
    });

    const channel = { id: -1009876543210, title: 'Новости района', username: 'rayon_news' };
    const post = emu.updates.channelPost(channel, 'Плановое отключение воды');
    expect(post.channel_post).toMatchObject({
      chat: { id: channel.id, type: 'channel', username: 'rayon_news' },
      sender_chat: { id: channel.id },
      text: 'Плановое отключение воды',
    });
    const channelMessageId = (post.channel_post as { message_id: number }).message_id;
    const discussion = { id: -1005555555555, title: 'Обсуждение новостей' };
    const comment = emu.updates.discussionComment(discussion, citizen, 'А до скольки?', {
      channelId: channel.id,
      channelMessageId,
      groupMessageId: 40,
    });
    expect(comment.message).toMatchObject({
      message_id: 41,
      message_thread_id: 40,
      chat: { id: discussion.id, type: 'supergroup' },
      text: 'А до скольки?',
      reply_to_message: {
        message_id: 40,
        is_automatic_forward: true,
        sender_chat: { id: channel.id, type: 'channel' },
        forward_from_chat: { id: channel.id },
        forward_from_message_id: channelMessageId,
        text: 'Плановое отключение воды',
      },
    });

    const photo = emu.updates.privatePhoto(citizen, 'Яма у дома 5');
    const sizes = (photo.message as { photo: Record<string, unknown>[] }).photo;
    expect(sizes.length).toBeGreaterThan(0);
    expect(Object.keys(sizes[0] ?? {}).sort()).toEqual([
      'file_id',
      'file_size',
      'file_unique_id',
      'height',
      'width',
    ]);
    expect(emu.updates.privateLocation(citizen, 55.75, 37.62).message).toMatchObject({
      location: { latitude: 55.75, longitude: 37.62 },
    });
  });

  it('terminates an older getUpdates with 409 when a second one arrives', async () => {
    const token = '555555:AAConflictBot';
    emu.addBot(token);
    const first = api(token, 'getUpdates', { timeout: 5 });
    await new Promise((r) => setTimeout(r, 50));
    const second = api(token, 'getUpdates', { timeout: 0 });
    expect((await first).status).toBe(409);
    expect((await second).body).toEqual({ ok: true, result: [] });
  });

  it('releases held long polls on close', async () => {
    const other = await startTelegramEmulator();
    other.addBot(TOKEN);
    const started = Date.now();
    const poll = fetch(`${other.url}/bot${TOKEN}/getUpdates`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ timeout: 30 }),
    });
    await new Promise((r) => setTimeout(r, 50));
    await other.close();
    expect(await (await poll).json()).toEqual({ ok: true, result: [] });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('explains a waitForSent timeout', async () => {
    await expect(emu.waitForSent((r) => r.text === 'никогда', { timeoutMs: 50 })).rejects.toThrow(
      /timed out after 50 ms[^]*Sent so far[^]*Failed calls/,
    );
  });
});

describe('real-limits mode', () => {
  const LIM = '444444:AALimitsBot';
  const send = async (e: TelegramEmulator, chat: number, token = LIM) => {
    const res = await fetch(`${e.url}/bot${token}/sendMessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ chat_id: chat, text: `to ${chat}` }),
    });
    return {
      status: res.status,
      body: (await res.json()) as {
        ok: boolean;
        description?: string;
        parameters?: { retry_after?: number };
      },
    };
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('a burst over 30/s per bot is answered 429 with retry_after and counted; a steady 25/s passes', async () => {
    const e = await startTelegramEmulator({ limits: { perSecond: 30, perChatPerSecond: 1 } });
    e.addBot(LIM);
    try {
      const t0 = Date.now();
      const burst = await Promise.all(Array.from({ length: 40 }, (_, i) => send(e, 7000 + i)));
      const span = Date.now() - t0;
      const refused = burst.filter((r) => r.status === 429);
      // 100 ms of tolerance at one message per 33 ms: four at once pass, then one per 33 ms of the time the
      // 40 requests took to arrive (a loaded machine spreads them out); the rest are over the limit.
      const allowed = 5 + Math.ceil(span / (1000 / 30));
      expect(burst.filter((r) => r.status === 200).length).toBeLessThanOrEqual(allowed);
      expect(refused.length).toBeGreaterThanOrEqual(40 - allowed);
      expect(refused.length).toBeGreaterThan(0);
      expect(refused[0]!.body).toMatchObject({ ok: false, parameters: { retry_after: 1 } });
      expect(refused[0]!.body.description).toMatch(/^Too Many Requests: retry after 1/);
      expect(e.violations(LIM)).toBe(refused.length);
      await sleep(1100);
      const before = e.violations();
      for (let i = 0; i < 25; i++) {
        expect((await send(e, 8000 + i)).status).toBe(200);
        await sleep(40);
      }
      expect(e.violations()).toBe(before);
      const st = e.limitStats(LIM);
      expect(st.accepted).toBe(25 + burst.filter((r) => r.status === 200).length);
      expect(st.busiestSecond).toBeLessThanOrEqual(30);
    } finally {
      await e.close();
    }
  });

  it('two messages to one chat within a second: the second is 429; the bot sends elsewhere meanwhile', async () => {
    const e = await startTelegramEmulator({ limits: { perSecond: 30, perChatPerSecond: 1 } });
    e.addBot(LIM);
    try {
      expect((await send(e, 9001)).status).toBe(200);
      await sleep(150);
      expect((await send(e, 9001)).status).toBe(429);
      expect((await send(e, 9002)).status).toBe(200);
      await sleep(1000);
      expect((await send(e, 9001)).status).toBe(200);
      expect(e.violations()).toBe(1);
      expect(e.limitStats().closestChatGapMs).toBeGreaterThanOrEqual(1000);
    } finally {
      await e.close();
    }
  });

  it('a user who blocked the bot: sends to them answer 403, others are delivered; no limits by default', async () => {
    emu.blockUser(6101, TOKEN);
    const blocked = await api(TOKEN, 'sendMessage', { chat_id: 6101, text: 'Новости' });
    expect(blocked).toMatchObject({
      status: 403,
      body: { ok: false, error_code: 403, description: 'Forbidden: bot was blocked by the user' },
    });
    expect((await api(TOKEN2, 'sendMessage', { chat_id: 6101, text: 'Другой бот' })).status).toBe(200);
    // Limits are off unless asked for: a burst goes through.
    const burst = await Promise.all(
      Array.from({ length: 40 }, (_, i) => api(TOKEN, 'sendMessage', { chat_id: 6200 + i, text: 'x' })),
    );
    expect(burst.every((r) => r.status === 200)).toBe(true);
    expect(emu.violations()).toBe(0);
  });
});
