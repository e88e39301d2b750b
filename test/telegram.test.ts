/**
 * The Telegram connector against the Bot API emulator (real HTTP on 127.0.0.1), with real PostgreSQL, Redis
 * and BullMQ workers: the citizen conversation over long polling with two bots at once, subscriptions,
 * public monitoring with threads, status changes, a 429 storm, and the webhook mode with its secret.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  nextMessage,
  startTelegramEmulator,
  type SentRecord,
  type TelegramEmulator,
} from './emulators/telegram.ts';
import { API_TOKEN, freePort, startTestApp, waitFor, type TestApp } from './helpers.ts';

const BOT_A = '700100200:AAtest-cur-bot-token-0123456789';
const BOT_B = '700100300:AAtest-governor-bot-token-01234';

type Keyboard = { inline_keyboard: { text: string; callback_data: string }[][] };
const buttonsOf = (r: SentRecord) => ((r.reply_markup as Keyboard | undefined)?.inline_keyboard ?? []).flat();

async function rowsOf<T>(t: TestApp, sql: string, params: unknown[] = []): Promise<T[]> {
  return t.app.database.query<T>(sql, params);
}

describe('Telegram bots over long polling', () => {
  let tg: TelegramEmulator;
  let t: TestApp;
  let nextUser = 9100;

  beforeAll(async () => {
    tg = await startTelegramEmulator();
    tg.addBot(BOT_A, { username: 'cur22_bot', first_name: 'ЦУР Алтайского края' });
    tg.addBot(BOT_B, { username: 'governor22_bot', first_name: 'Губернатор' });
    t = await startTestApp({
      roles: ['api', 'workers', 'connectors'],
      listen: true,
      env: {
        TELEGRAM_BOT_TOKEN: `${BOT_A},${BOT_B}`,
        TELEGRAM_API_ROOT: tg.url,
        TELEGRAM_POLL_TIMEOUT_S: '1',
      },
    });
  });
  afterAll(async () => {
    await t?.close(); // stops polling before the emulator goes
    await tg?.close();
  });

  const mark = () => tg.sent().length;
  const next = (token: string, chat: number, after: number, match?: RegExp) =>
    nextMessage(tg, token, chat, after, match);

  async function consent(token: string, user: { id: number; first_name: string }) {
    let m = mark();
    tg.pushUpdate(token, tg.updates.privateText(user, '/start'));
    const greeting = await next(token, user.id, m, /152-ФЗ/);
    m = mark();
    tg.pushUpdate(
      token,
      tg.updates.callback(user, 'consent:yes', { chat_id: user.id, message_id: greeting.message_id }),
    );
    await next(token, user.id, m, /согласие получено/);
    return greeting;
  }

  it('a full citizen conversation: consent, photo, text, municipality button, confirmation, /status', async () => {
    const user = { id: ++nextUser, first_name: 'Ирина', last_name: 'Соколова' };
    let m = mark();
    tg.pushUpdate(BOT_A, tg.updates.privateText(user, '/start'));
    const greeting = await next(BOT_A, user.id, m, /152-ФЗ/);
    expect(buttonsOf(greeting).map((b) => b.callback_data)).toEqual(['consent:yes', 'consent:no']);
    expect(await rowsOf(t, `select 1 from authors where external_id = $1`, [String(user.id)])).toHaveLength(
      0,
    );

    m = mark();
    tg.pushUpdate(
      BOT_A,
      tg.updates.callback(user, 'consent:yes', { chat_id: user.id, message_id: greeting.message_id }),
    );
    await next(BOT_A, user.id, m, /согласие получено/);
    // The consent buttons are gone, and the press was answered.
    const calls = tg.calls(BOT_A);
    expect(
      calls.some((c) => c.method === 'editMessageReplyMarkup' && c.params.message_id === greeting.message_id),
    ).toBe(true);
    expect(calls.some((c) => c.method === 'answerCallbackQuery')).toBe(true);

    m = mark();
    tg.pushUpdate(BOT_A, tg.updates.privatePhoto(user));
    await next(BOT_A, user.id, m, /Фото получено/);

    m = mark();
    tg.pushUpdate(BOT_A, tg.updates.privateLocation(user, 52.5186, 85.2072));
    await next(BOT_A, user.id, m, /Геопозиция получена/);

    m = mark();
    tg.pushUpdate(
      BOT_A,
      tg.updates.privateText(user, 'Во дворе огромная яма, машины не могут проехать к подъезду'),
    );
    const ask = await next(BOT_A, user.id, m, /в каком городе или районе/);
    const choice = buttonsOf(ask).find((b) => b.text === 'Бийск');
    expect(choice?.callback_data).toBe('muni:biysk');

    m = mark();
    tg.pushUpdate(
      BOT_A,
      tg.updates.callback(user, choice!.callback_data, { chat_id: user.id, message_id: ask.message_id }),
    );
    const conf = await next(BOT_A, user.id, m, /зарегистрировано/);
    expect(conf.text).toMatch(/№ \d{6} \(Бийск\)/);
    expect(conf.text).toMatch(/срок рассмотрения — до \d\d\.\d\d\.\d{4}/);
    expect(conf.reply_to_message_id).toBeDefined(); // quotes the citizen's appeal
    const id = Number(/№ (\d{6})/.exec(conf.text!)![1]);
    const msg = await waitFor(async () => {
      const [r] = await rowsOf<{
        state: string;
        municipality: string;
        attachments: { type: string }[];
        incident_id: number;
        source_id: string;
      }>(t, `select state, municipality, attachments, incident_id, source_id from messages where id = $1`, [
        id,
      ]);
      return r?.state === 'routed' ? r : undefined;
    });
    expect(msg.municipality).toBe('biysk');
    expect(msg.source_id).toBe('telegram:700100200');
    expect(msg.attachments.map((a) => a.type)).toEqual(['photo', 'location']); // sent before the words

    m = mark();
    tg.pushUpdate(BOT_A, tg.updates.privateText(user, '/status'));
    const st = await next(BOT_A, user.id, m, /Ваши обращения/);
    expect(st.text).toContain(`№ ${String(id).padStart(6, '0')}`);

    // About one message a second to one chat (Telegram's limit), however fast the citizen was: slots are
    // reserved 1000 ms apart. What the emulator sees also carries each request's own delay — tens of ms, and
    // over 150 ms on a loaded 2-core CI machine — so no single gap is held to 1000 ms: none may look like a
    // burst (unlimited sends arrive a few ms apart), and the whole run must average a second per message.
    const times = tg
      .sent(BOT_A)
      .filter((r) => r.chat_id === String(user.id) && r.method === 'sendMessage')
      .map((r) => r.at);
    expect(times.length).toBeGreaterThan(3);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(500);
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual((times.length - 1) * 1000 - 300);
  });

  it('two bots at once: each citizen is answered by the bot they wrote to', async () => {
    const user = { id: ++nextUser, first_name: 'Павел' };
    await consent(BOT_B, user);
    const m = mark();
    tg.pushUpdate(BOT_B, tg.updates.privateText(user, 'В Рубцовске не ходит автобус номер 5 уже неделю'));
    const conf = await next(BOT_B, user.id, m, /зарегистрировано/);
    expect(conf.text).toContain('(Рубцовск)');
    expect(tg.sent(BOT_A).filter((r) => r.chat_id === String(user.id))).toHaveLength(0);
    const [row] = await rowsOf<{ source_id: string }>(t, `select source_id from messages where id = $1`, [
      Number(/№ (\d{6})/.exec(conf.text!)![1]),
    ]);
    expect(row!.source_id).toBe('telegram:700100300');
  });

  it('/subscribe toggles topics in place and saves them; /stop unsubscribes and offers to withdraw consent', async () => {
    const user = { id: ++nextUser, first_name: 'Олег' };
    await consent(BOT_A, user);
    // A sticker is not an appeal: a polite word, nothing stored.
    let m = mark();
    tg.pushUpdate(BOT_A, {
      message: {
        message_id: 77001,
        date: Math.floor(Date.now() / 1000),
        chat: { id: user.id, type: 'private', first_name: user.first_name },
        from: { id: user.id, is_bot: false, first_name: user.first_name },
        sticker: {
          file_id: 'CAACAgIAAxk',
          file_unique_id: 'AgAD',
          type: 'regular',
          width: 512,
          height: 512,
          is_animated: false,
          is_video: false,
        },
      },
    });
    expect((await next(BOT_A, user.id, m, /текстом/)).text).toMatch(/не может/);
    expect(
      await rowsOf(t, `select 1 from messages where external_id = $1`, [`${user.id}:77001`]),
    ).toHaveLength(0);
    m = mark();
    tg.pushUpdate(BOT_A, tg.updates.privateText(user, '/subscribe'));
    const menu = await next(BOT_A, user.id, m, /темы новостей/);
    tg.pushUpdate(
      BOT_A,
      tg.updates.callback(user, 'sub:t:roads', { chat_id: user.id, message_id: menu.message_id }),
    );
    await waitFor(async () =>
      tg
        .calls(BOT_A)
        .find(
          (c) =>
            c.method === 'editMessageReplyMarkup' &&
            c.params.message_id === menu.message_id &&
            JSON.stringify(c.params.reply_markup).includes('✅ Дороги'),
        ),
    );
    m = mark();
    tg.pushUpdate(
      BOT_A,
      tg.updates.callback(user, 'sub:done', { chat_id: user.id, message_id: menu.message_id }),
    );
    expect((await next(BOT_A, user.id, m, /Вы подписаны/)).text).toContain('Темы: Дороги');
    const [a] = await rowsOf<{ subscribed: boolean; subscription_topics: string[] }>(
      t,
      `select subscribed, subscription_topics from authors where platform = 'telegram' and external_id = $1`,
      [String(user.id)],
    );
    expect(a).toEqual({ subscribed: true, subscription_topics: ['roads'] });

    m = mark();
    tg.pushUpdate(BOT_A, tg.updates.privateText(user, '/stop'));
    const stop = await next(BOT_A, user.id, m, /отписаны/);
    expect(buttonsOf(stop).map((b) => b.callback_data)).toEqual(['consent:withdraw']);
    m = mark();
    tg.pushUpdate(
      BOT_A,
      tg.updates.callback(user, 'consent:withdraw', { chat_id: user.id, message_id: stop.message_id }),
    );
    await next(BOT_A, user.id, m, /Согласие .* отозвано/);
    const [b] = await rowsOf<{ subscribed: boolean; consent_personal_data: boolean }>(
      t,
      `select subscribed, consent_personal_data from authors where platform = 'telegram' and external_id = $1`,
      [String(user.id)],
    );
    expect(b).toEqual({ subscribed: false, consent_personal_data: false });
  });

  it('channel posts, discussion comments and group replies become messages with their threads linked', async () => {
    const channel = { id: -1001234500001, title: 'Новости Бийска', username: 'biysk_news' };
    const group = { id: -1001234500002, title: 'Обсуждение: Новости Бийска', type: 'supergroup' as const };
    const post = tg.updates.channelPost(
      channel,
      'В Бийске на улице Льнокомбинат прорвало теплотрассу, нет отопления',
    );
    tg.pushUpdate(BOT_A, post);
    const postId = (post.channel_post as { message_id: number }).message_id;
    const resident = { id: ++nextUser, first_name: 'Анна' };
    tg.pushUpdate(
      BOT_A,
      tg.updates.discussionComment(
        group,
        resident,
        'У нас в доме 12 тоже холодные батареи со вчерашнего дня',
        {
          channelId: channel.id,
          channelMessageId: postId,
          groupMessageId: 501,
        },
      ),
    );
    const rows = await waitFor(async () => {
      const r = await rowsOf<{
        external_id: string;
        parent_external_id: string | null;
        url: string | null;
        text: string;
      }>(
        t,
        `select external_id, parent_external_id, url, text from messages where source_id = 'telegram:700100200:public' order by id`,
      );
      return r.length >= 2 ? r : undefined;
    });
    expect(rows[0]).toMatchObject({
      external_id: `${channel.id}:${postId}`,
      url: `https://t.me/biysk_news/${postId}`,
    });
    expect(rows[1]!.parent_external_id).toBe(`${channel.id}:${postId}`); // the comment hangs under the post
    const g2 = { id: -1001234500003, title: 'Чат ТСЖ «Рассвет»', type: 'supergroup' as const };
    const first = tg.updates.groupMessage(
      g2,
      resident,
      'В Барнауле на Попова, 100 третий день нет горячей воды',
    );
    tg.pushUpdate(BOT_A, first);
    const firstId = (first.message as { message_id: number }).message_id;
    tg.pushUpdate(
      BOT_A,
      tg.updates.groupMessage(g2, { id: ++nextUser, first_name: 'Илья' }, 'Подтверждаю, и у нас тоже', {
        message_id: firstId,
      }),
    );
    const reply = await waitFor(
      async () =>
        (
          await rowsOf<{ parent_external_id: string }>(
            t,
            `select parent_external_id from messages where external_id like $1 and parent_external_id is not null`,
            [`${g2.id}:%`],
          )
        )[0],
    );
    expect(reply.parent_external_id).toBe(`${g2.id}:${firstId}`);
  });

  it('tells the citizen when the incident changes status', async () => {
    const user = { id: ++nextUser, first_name: 'Вера' };
    await consent(BOT_A, user);
    let m = mark();
    tg.pushUpdate(
      BOT_A,
      tg.updates.privateText(user, 'В Заринске на улице Металлургов не работает уличное освещение'),
    );
    const conf = await next(BOT_A, user.id, m, /зарегистрировано/);
    const id = Number(/№ (\d{6})/.exec(conf.text!)![1]);
    const incidentId = await waitFor(async () => {
      const [r] = await rowsOf<{ incident_id: number | null }>(
        t,
        `select incident_id from messages where id = $1 and state = 'routed'`,
        [id],
      );
      return r?.incident_id ?? undefined;
    });
    const [inc] = await rowsOf<{ status: string }>(t, `select status from incidents where id = $1`, [
      incidentId,
    ]);
    const to = inc!.status === 'new' ? 'assigned' : 'in_progress';
    m = mark();
    const res = await fetch(`${t.app.url}/api/v1/incidents/${incidentId}/transitions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ to }),
    });
    expect(res.status).toBe(200);
    const note = await next(BOT_A, user.id, m, /По вашему обращению/);
    expect(note.text).toContain(`№ ${String(id).padStart(6, '0')}`);
    expect(note.text).toMatch(to === 'assigned' ? /передано исполнителю/ : /в работе/);
  });

  it('a 429 storm delays the confirmation but never drops or duplicates it', async () => {
    const user = { id: ++nextUser, first_name: 'Глеб' };
    await consent(BOT_A, user);
    tg.failNext('sendMessage', 3, { code: 429, retryAfter: 1 }, BOT_A);
    const m = mark();
    const started = Date.now();
    tg.pushUpdate(
      BOT_A,
      tg.updates.privateText(user, 'В Новоалтайске на улице Деповской прорвало водопровод'),
    );
    // Meanwhile the sweeper looks for stuck rows (as if Redis had lost the job): it must not add a twin.
    await new Promise((r) => setTimeout(r, 1200));
    await t.app.sweeper!.sweep(new Date(Date.now() + 3_600_000));
    const conf = await next(BOT_A, user.id, m, /зарегистрировано/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2500); // waited out retry_after three times
    await new Promise((r) => setTimeout(r, 1500));
    expect(
      tg.sent(BOT_A).filter((r) => r.chat_id === String(user.id) && /зарегистрировано/.test(r.text ?? '')),
    ).toHaveLength(1);
    const refused = tg.calls(BOT_A).filter((c) => c.method === 'sendMessage' && c.status === 429);
    expect(refused.length).toBe(3);
    const [row] = await rowsOf<{ status: string; external_id: string }>(
      t,
      `select status, external_id from outbound_messages where idempotency_key = $1`,
      [`confirm:${Number(/№ (\d{6})/.exec(conf.text!)![1])}`],
    );
    expect(row).toEqual({ status: 'sent', external_id: `${user.id}:${conf.message_id}` });
  });
});

describe('Telegram bot over a webhook', () => {
  let tg: TelegramEmulator;
  let t: TestApp;
  let url: string;

  beforeAll(async () => {
    tg = await startTelegramEmulator();
    tg.addBot(BOT_A, { username: 'cur22_bot' });
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    t = await startTestApp({
      roles: ['api', 'workers', 'connectors'],
      listen: true,
      env: {
        PORT: String(port),
        TELEGRAM_BOT_TOKEN: BOT_A,
        TELEGRAM_API_ROOT: tg.url,
        TELEGRAM_WEBHOOK_URL: url,
        TELEGRAM_WEBHOOK_SECRET: 'installation-secret-0123456789',
      },
    });
  });
  afterAll(async () => {
    await t?.close();
    await tg?.close();
  });

  it('sets the webhook with a secret token and handles what Telegram posts', async () => {
    const hook = tg.webhook(BOT_A);
    expect(hook?.url).toBe(`${url}/webhooks/telegram/700100200`);
    expect(hook?.secret_token).toMatch(/^[0-9a-f]{64}$/);
    const user = { id: 9900, first_name: 'Семён' };
    tg.pushUpdate(BOT_A, tg.updates.privateText(user, '/start'));
    const [greeting] = await tg.waitForSent((r) => r.chat_id === '9900' && /152-ФЗ/.test(r.text ?? ''));
    expect(greeting).toBeDefined();
  });

  it('refuses forged updates with 401 and stores nothing', async () => {
    const update = {
      update_id: 77,
      channel_post: {
        message_id: 5,
        date: 1,
        chat: { id: -100999, type: 'channel', title: 'Фейк' },
        text: 'В Бийске нет воды',
      },
    };
    for (const headers of [{}, { 'x-telegram-bot-api-secret-token': 'guess' }] as Record<string, string>[]) {
      const res = await fetch(`${url}/webhooks/telegram/700100200`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(update),
      });
      expect(res.status).toBe(401);
    }
    const other = await fetch(`${url}/webhooks/telegram/1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(other.status).toBe(404);
    expect(await rowsOf(t, `select 1 from messages`)).toHaveLength(0);
    // With the right secret the same update is taken.
    const ok = await fetch(`${url}/webhooks/telegram/700100200`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-telegram-bot-api-secret-token': tg.webhook(BOT_A)!.secret_token!,
      },
      body: JSON.stringify(update),
    });
    expect(ok.status).toBe(200);
    expect(await rowsOf(t, `select 1 from messages`)).toHaveLength(1);
  });
});
