/**
 * Audience and campaigns through the protocol emulators in real-limits mode (Telegram 30 messages/s per bot
 * and 1/s per chat, VK 20 requests/s per community), with real PostgreSQL, Redis and BullMQ: subscribing
 * in the bots, segments with their live count, approval required (and by someone else than the author),
 * delivery to exactly the segment within the limits, «Отписаться» and /stop at once, who unsubscribed
 * before their turn skipped, who blocked the bot marked, pause / resume / cancel, clicks counted; and a
 * worker process killed with SIGKILL mid-broadcast: nobody gets the message twice, VK exactly once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kickCampaign } from '../src/responders/broadcast.ts';
import {
  nextMessage,
  startTelegramEmulator,
  type SentRecord,
  type TelegramEmulator,
} from './emulators/telegram.ts';
import { startVkEmulator, type VkEmulator } from './emulators/vk.ts';
import { freePort, startTestApp, waitFor, type TestApp } from './helpers.ts';

const BOT = '700500600:AAtest-outreach-bot-token-0123456';
const BOT_ID = '700500600';
const GROUP = 777500;
const VK_TOKEN = 'vk1.a.test-outreach-community-token';
const PHOTO = 'https://example.org/photos/bus-route-12.jpg';
const LINK = 'https://www.altairegion22.ru/news/bus-12';

type Keyboard = { inline_keyboard: { text: string; url?: string; callback_data?: string }[][] };
type VkKeyboard = {
  buttons: { action: { type: string; link?: string; label: string; payload?: string } }[][];
};
const buttonsOf = (r: SentRecord) => ((r.reply_markup as Keyboard | undefined)?.inline_keyboard ?? []).flat();

interface Sub {
  platform: 'telegram' | 'vk';
  id: number;
  municipality: string | null;
  topics: string[];
  language?: string;
  consent?: boolean;
  subscribed?: boolean;
  blocked?: boolean;
}

/** Subscribers as the bot dialog stores them (bulk: the dialog itself is proven with a few people below). */
async function addSubscribers(t: TestApp, subs: Sub[]) {
  await t.app.database.query(
    `insert into authors (platform, external_id, name, consent_personal_data, consent_at, subscribed,
                          subscription_topics, municipality, language, subscription_source, subscription_chat,
                          subscribed_at, blocked, blocked_at)
     select s.platform, s.ext, 'Подписчик ' || s.ext, s.consent, now(), s.subscribed, s.topics::jsonb,
            s.municipality, s.language, s.source, s.ext, now(), s.blocked, case when s.blocked then now() end
     from unnest($1::text[], $2::text[], $3::boolean[], $4::boolean[], $5::text[], $6::text[], $7::text[],
                 $8::text[], $9::boolean[])
       as s(platform, ext, consent, subscribed, topics, municipality, language, source, blocked)`,
    [
      subs.map((s) => s.platform),
      subs.map((s) => String(s.id)),
      subs.map((s) => s.consent ?? true),
      subs.map((s) => s.subscribed ?? true),
      subs.map((s) => JSON.stringify(s.topics)),
      subs.map((s) => s.municipality),
      subs.map((s) => s.language ?? 'ru'),
      subs.map((s) => (s.platform === 'telegram' ? `telegram:${BOT_ID}` : `vk:${GROUP}`)),
      subs.map((s) => s.blocked ?? false),
    ],
  );
}

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

/** Staff with the given roles and their personal tokens. */
async function staffTokens(t: TestApp, people: Record<string, string[]>) {
  const out: Record<string, string> = {};
  for (const [login, roles] of Object.entries(people)) {
    const m = await t.app.staff.create({ login, name: login, grants: roles.map((role) => ({ role })) });
    out[login] = await t.app.staff.issueToken(m.id, 'test');
  }
  return out;
}

function caller(t: TestApp, tokens: Record<string, string>) {
  return async <T = Record<string, unknown>>(who: string, method: string, url: string, body?: unknown) => {
    const res = await t.app.api!.inject({
      method: method as 'GET',
      url: `/api/v1${url}`,
      headers: {
        authorization: `Bearer ${tokens[who]}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      payload: body !== undefined ? JSON.stringify(body) : undefined,
    });
    return { status: res.statusCode, body: res.json() as T };
  };
}

interface Stats {
  recipients: number;
  pending: number;
  sending: number;
  sent: number;
  failed: number;
  blocked: number;
  skipped: number;
  uncertain: number;
  clicked: number;
  clickRate: number | null;
}
interface CampaignView {
  id: number;
  status: string;
  stats: Stats | null;
  audience: number | null;
}

describe('audience and campaigns through the emulators at the real limits', () => {
  let tg: TelegramEmulator;
  let vk: VkEmulator;
  let t: TestApp;
  let publicUrl: string;
  let api: ReturnType<typeof caller>;

  // Biysk × transport: the segment. Others are there to be left out.
  const tgIn = range(51_000, 40);
  const vkIn = range(61_000, 15);
  const tgBlockedInEmulator = [tgIn[5]!, tgIn[6]!];
  const vkBlockedInEmulator = [vkIn[3]!];
  const stopper = tgIn[tgIn.length - 1]!; // last in line: sends /stop while the campaign is paused
  const tgOut = range(52_000, 12);
  const tgUser = { id: 50_001, first_name: 'Айгерим' };
  const vkUser = 60_001;

  beforeAll(async () => {
    tg = await startTelegramEmulator({ limits: { perSecond: 30, perChatPerSecond: 1 } });
    tg.addBot(BOT, { username: 'cur22_news_bot', first_name: 'ЦУР Алтайского края' });
    vk = await startVkEmulator({ limits: { perSecond: 20 } });
    vk.addGroup(GROUP, VK_TOKEN);
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    t = await startTestApp({
      roles: ['api', 'workers', 'connectors'],
      listen: true,
      env: {
        PORT: String(port),
        PUBLIC_URL: publicUrl,
        TELEGRAM_BOT_TOKEN: BOT,
        TELEGRAM_API_ROOT: tg.url,
        TELEGRAM_POLL_TIMEOUT_S: '1',
        TELEGRAM_RATE_PER_SECOND: '30',
        TELEGRAM_RATE_PER_CHAT_MS: '1000',
        VK_GROUP_TOKEN: VK_TOKEN,
        VK_GROUP_ID: String(GROUP),
        VK_API_BASE_URL: vk.apiBaseUrl,
        VK_API_LIMIT: '20',
        VK_POLL_WAIT_S: '1',
        SWEEP_INTERVAL_MS: '500',
      },
    });
    api = caller(
      t,
      await staffTokens(t, {
        smm: ['smm'],
        head: ['center_head'],
        curator: ['curator'],
        analyst: ['analyst'],
      }),
    );
  });
  afterAll(async () => {
    await t?.close();
    await tg?.close();
    await vk?.close();
  });

  const authorRow = async (platform: string, id: number) =>
    (
      await t.app.database.query<{
        subscribed: boolean;
        blocked: boolean;
        blocked_at: Date | null;
        language: string;
        municipality: string | null;
        subscription_topics: string[];
        subscription_source: string | null;
        subscription_chat: string | null;
        subscribed_at: Date | null;
        unsubscribed_at: Date | null;
      }>(`select * from authors where platform = $1 and external_id = $2`, [platform, String(id)])
    )[0]!;

  it('subscribing in the bots records the bot, the chat, the municipality, the topics, the language and the time', async () => {
    const tgFlow = async () => {
      const mark = () => tg.sent().length;
      const next = (after: number, re: RegExp) => nextMessage(tg, BOT, tgUser.id, after, re);
      const press = (data: string, m: SentRecord) =>
        tg.pushUpdate(
          BOT,
          tg.updates.callback(tgUser, data, { chat_id: tgUser.id, message_id: m.message_id }),
        );
      let m = mark();
      tg.pushUpdate(BOT, tg.updates.privateText(tgUser, '/start'));
      const greeting = await next(m, /152-ФЗ/);
      m = mark();
      press('consent:yes', greeting);
      await next(m, /согласие получено/);
      m = mark();
      tg.pushUpdate(BOT, tg.updates.privateText(tgUser, '/subscribe'));
      const menu = await next(m, /темы новостей/);
      expect(buttonsOf(menu).map((b) => b.callback_data)).toContain('sub:l');
      press('sub:t:transport', menu);
      m = mark();
      press('sub:m', menu);
      const munis = await next(m, /район/i);
      expect(buttonsOf(munis).map((b) => b.callback_data)).toContain('subm:biysk');
      m = mark();
      press('subm:biysk', munis);
      const menu2 = await next(m, /темы новостей/);
      m = mark();
      press('sub:l', menu2);
      const langs = await next(m, /На каком языке/);
      expect(buttonsOf(langs).map((b) => b.text)).toEqual(['Русский', 'Қазақша', 'Deutsch']);
      m = mark();
      press('subl:kk', langs);
      const menu3 = await next(m, /темы новостей/);
      expect(buttonsOf(menu3).map((b) => b.text)).toContain('Язык: Қазақша');
      m = mark();
      press('sub:done', menu3);
      const done = await next(m, /Вы подписаны/);
      expect(done.text).toContain('Темы: Транспорт. Район: Бийск. Язык: Қазақша.');
    };
    const vkFlow = async () => {
      const say = (text: string, payload?: string) =>
        vk.pushEvent(
          GROUP,
          vk.events.messageNew({
            fromId: vkUser,
            text,
            ...(payload ? { payload: JSON.stringify({ d: payload }) } : {}),
          }),
        );
      const reply = async (after: number, re: RegExp) =>
        (
          await vk.waitForSent(
            (s) => s.peer_id === vkUser && vk.sent().indexOf(s) >= after && re.test(s.message),
            {
              timeoutMs: 20_000,
            },
          )
        )[0]!;
      let m = vk.sent().length;
      say('Начать');
      await reply(m, /152-ФЗ/);
      for (const [text, payload, re] of [
        ['Даю согласие', 'consent:yes', /согласие получено/],
        ['/subscribe', undefined, /темы новостей/],
        ['Транспорт', 'sub:t:transport', /темы новостей/],
        ['Район', 'sub:m', /район/i],
        ['Бийск', 'subm:biysk', /темы новостей/],
        ['Язык', 'sub:l', /На каком языке/],
        ['Deutsch', 'subl:de', /темы новостей/],
        ['Готово', 'sub:done', /Вы подписаны/],
      ] as const) {
        m = vk.sent().length;
        say(text, payload);
        await reply(m, re);
      }
    };
    const t0 = new Date();
    await Promise.all([tgFlow(), vkFlow()]);
    const a = await authorRow('telegram', tgUser.id);
    expect(a).toMatchObject({
      subscribed: true,
      municipality: 'biysk',
      subscription_topics: ['transport'],
      language: 'kk',
      subscription_source: `telegram:${BOT_ID}`,
      subscription_chat: String(tgUser.id),
      unsubscribed_at: null,
    });
    expect(a.subscribed_at!.getTime()).toBeGreaterThanOrEqual(t0.getTime() - 1000);
    expect(await authorRow('vk', vkUser)).toMatchObject({
      subscribed: true,
      municipality: 'biysk',
      subscription_topics: ['transport'],
      language: 'de',
      subscription_source: `vk:${GROUP}`,
      subscription_chat: String(vkUser),
    });
  });

  it('a segment selects exactly the subscribed, consenting, not blocked people matching its rules, with a live count', async () => {
    await addSubscribers(t, [
      ...tgIn.map((id) => ({
        platform: 'telegram' as const,
        id,
        municipality: 'biysk',
        topics: ['transport', 'roads'],
      })),
      ...vkIn.map((id) => ({ platform: 'vk' as const, id, municipality: 'biysk', topics: ['transport'] })),
      // Left out: another town, another topic, unsubscribed, no consent, blocked, the whole krai.
      ...tgOut
        .slice(0, 4)
        .map((id) => ({ platform: 'telegram' as const, id, municipality: 'barnaul', topics: ['transport'] })),
      ...tgOut
        .slice(4, 6)
        .map((id) => ({ platform: 'telegram' as const, id, municipality: 'biysk', topics: ['health'] })),
      {
        platform: 'telegram',
        id: tgOut[6]!,
        municipality: 'biysk',
        topics: ['transport'],
        subscribed: false,
      },
      { platform: 'telegram', id: tgOut[7]!, municipality: 'biysk', topics: ['transport'], consent: false },
      { platform: 'telegram', id: tgOut[8]!, municipality: 'biysk', topics: ['transport'], blocked: true },
      { platform: 'vk', id: tgOut[9]!, municipality: 'biysk', topics: ['transport'], blocked: true },
      { platform: 'telegram', id: tgOut[10]!, municipality: null, topics: ['transport'] },
      { platform: 'telegram', id: tgOut[11]!, municipality: 'biysk', topics: [] },
    ]);
    const rules = { municipalities: ['biysk'], topics: ['transport'] };
    const preview = await api('smm', 'POST', '/segments/count', { rules });
    expect(preview).toEqual({ status: 200, body: { total: 57, telegram: 41, vk: 16 } });
    expect(
      (await api('smm', 'POST', '/segments/count', { rules: { ...rules, languages: ['kk'] } })).body,
    ).toEqual({
      total: 1,
      telegram: 1,
      vk: 0,
    });
    expect(
      (await api('smm', 'POST', '/segments/count', { rules: { municipalities: ['nowhere'] } })).status,
    ).toBe(400);
    const created = await api<{ id: number; count: { total: number } }>('smm', 'POST', '/segments', {
      name: 'Бийск, Транспорт',
      rules,
    });
    expect(created.status).toBe(201);
    expect(created.body.count.total).toBe(57);
    expect((await api('analyst', 'GET', `/segments/${created.body.id}/count?channel=vk`)).body).toEqual({
      total: 16,
      telegram: 0,
      vk: 16,
    });
    expect((await api('analyst', 'POST', '/segments', { name: 'x', rules: {} })).status).toBe(403);
    const audit = await t.app.database.query<{ action: string; actor: string }>(
      `select action, actor from audit_log where entity = 'segment'`,
      [],
    );
    expect(audit).toEqual([{ action: 'segment.create', actor: 'staff:smm' }]);
  });

  let campaignId: number;

  it('a campaign needs approval, by a role allowed to send and by someone other than the author', async () => {
    const [seg] = (await api<{ items: { id: number }[] }>('smm', 'GET', '/segments')).body.items;
    const bad = await api<{ error: string; message: string }>('smm', 'POST', '/campaigns', {
      title: 'x',
      text: '<script>alert(1)</script>',
      segmentId: seg!.id,
      channel: 'all',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('CAMPAIGN_INVALID');
    expect(bad.body.message).toMatch(/Тег <script> не поддерживается/);
    const created = await api<CampaignView>('smm', 'POST', '/campaigns', {
      title: 'Автобус № 12 в Бийске',
      text: '<b>С 1 декабря</b> автобус № 12 ходит <i>чаще</i>: каждые 10 минут. Подробнее — <a href="https://www.altairegion22.ru/news">на сайте</a> & в приложении.',
      photoUrl: PHOTO,
      buttons: [{ text: 'Расписание', url: LINK }],
      segmentId: seg!.id,
      channel: 'all',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: 'draft', audience: 57, stats: null });
    campaignId = created.body.id;

    // A draft, then a campaign waiting for approval: nothing is sent, whatever kicks the engine.
    const nothingSent = async () => {
      await t.app.sweeper!.sweep();
      await kickCampaign(t.app.queues, campaignId);
      await new Promise((r) => setTimeout(r, 800));
      const [d] = await t.app.database.query<{ n: number }>(
        `select count(*)::int as n from campaign_deliveries where campaign_id = $1`,
        [campaignId],
      );
      expect(d!.n).toBe(0);
      expect(tg.sent().filter((s) => s.method === 'sendPhoto')).toHaveLength(0);
    };
    await nothingSent();
    expect((await api('smm', 'POST', `/campaigns/${campaignId}/approve`)).status).toBe(403); // SMM: no approving role
    expect((await api<CampaignView>('smm', 'POST', `/campaigns/${campaignId}/submit`)).body.status).toBe(
      'pending_approval',
    );
    await nothingSent();
    expect((await api('analyst', 'POST', `/campaigns/${campaignId}/approve`)).status).toBe(403);
    expect((await api('smm', 'POST', `/campaigns/${campaignId}/resume`)).status).toBe(403);

    // The head of the center may not approve her own campaign while someone else could.
    const own = await api<CampaignView>('head', 'POST', '/campaigns', {
      title: 'Своя',
      text: 'Проверка правила четырёх глаз',
      segmentId: seg!.id,
      channel: 'telegram',
    });
    await api('head', 'POST', `/campaigns/${own.body.id}/submit`);
    const self = await api<{ error: string }>('head', 'POST', `/campaigns/${own.body.id}/approve`);
    expect(self).toMatchObject({ status: 403, body: { error: 'CAMPAIGN_SELF_APPROVAL' } });
    expect((await api<CampaignView>('head', 'POST', `/campaigns/${own.body.id}/cancel`)).body.status).toBe(
      'cancelled',
    );
  });

  it('delivers to exactly the segment within the limits; pause, /stop before their turn, resume; «Отписаться»; blocked marked; clicks counted', async () => {
    for (const id of tgBlockedInEmulator) tg.blockUser(id);
    for (const id of vkBlockedInEmulator) vk.blockUser(id);
    const approved = await api<CampaignView & { approvedBy: string }>(
      'head',
      'POST',
      `/campaigns/${campaignId}/approve`,
    );
    expect(approved.body).toMatchObject({ status: 'approved', approvedBy: 'staff:head' });
    const stats = async () => (await api<CampaignView>('analyst', 'GET', `/campaigns/${campaignId}`)).body;

    // Pause mid-way: what is in flight finishes, then nothing more goes out.
    await waitFor(async () => ((await stats()).stats?.sent ?? 0) >= 10, { intervalMs: 20, what: '10 sent' });
    expect((await api<CampaignView>('smm', 'POST', `/campaigns/${campaignId}/pause`)).body.status).toBe(
      'paused',
    );
    const paused = await waitFor(
      async () => {
        const s = await stats();
        return s.stats!.sending === 0 ? s : undefined;
      },
      { what: 'in-flight sends settled' },
    );
    const sendsAtPause = tg.sent().length + vk.sent().length;
    await new Promise((r) => setTimeout(r, 1200));
    expect(tg.sent().length + vk.sent().length).toBe(sendsAtPause);
    expect(paused.stats!.pending).toBeGreaterThan(0);
    const [stopperRow] = await t.app.database.query<{ status: string }>(
      `select d.status from campaign_deliveries d join authors a on a.id = d.author_id
       where d.campaign_id = $1 and a.external_id = $2`,
      [campaignId, String(stopper)],
    );
    expect(stopperRow!.status).toBe('pending');

    // /stop before their turn: unsubscribed at once, confirmed in Russian; the delivery is skipped later.
    let m = tg.sent().length;
    tg.pushUpdate(BOT, tg.updates.privateText({ id: stopper, first_name: 'Пётр' }, '/stop'));
    await nextMessage(tg, BOT, stopper, m, /Вы отписаны/);
    expect((await authorRow('telegram', stopper)).subscribed).toBe(false);

    expect((await api<CampaignView>('curator', 'POST', `/campaigns/${campaignId}/resume`)).body.status).toBe(
      'running',
    );
    const done = await waitFor(
      async () => {
        const s = await stats();
        return s.status === 'done' ? s : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200, what: 'the campaign done' },
    );
    expect(done.stats).toMatchObject({
      recipients: 57,
      pending: 0,
      sending: 0,
      sent: 57 - 3 - 1,
      blocked: 3,
      skipped: 1,
      failed: 0,
      uncertain: 0,
    });

    // Telegram: a photo with the HTML caption, the link through the click counter, «Отписаться».
    const tgMsgs = tg.sent(BOT).filter((s) => s.method === 'sendPhoto');
    const tgChats = tgMsgs.map((s) => Number(s.chat_id));
    const expectTg = [tgUser.id, ...tgIn].filter((id) => !tgBlockedInEmulator.includes(id) && id !== stopper);
    expect(tgChats.sort()).toEqual(expectTg.sort()); // each exactly once, nobody else
    const first = tgMsgs.find((s) => s.chat_id === String(tgUser.id))!;
    // By URL until Telegram gave a file_id (at most the first few in flight), by the file_id afterwards.
    expect(tgMsgs.filter((s) => s.photo === PHOTO).length).toBeLessThanOrEqual(4);
    expect(tgMsgs[tgMsgs.length - 1]!.photo).not.toBe(PHOTO);
    expect(first.params.parse_mode).toBe('HTML');
    expect(first.caption).toContain('<b>С 1 декабря</b>');
    expect(first.caption).toContain('&amp; в приложении');
    const [link, unsub] = buttonsOf(first);
    expect(link!.text).toBe('Расписание');
    expect(link!.url).toMatch(new RegExp(`^${publicUrl}/r/[A-Za-z0-9_-]{20,}/0$`));
    expect(unsub).toEqual({ text: 'Отписаться', callback_data: 'unsub' });

    // VK: plain text with the links kept, the photo as a link, open_link and «Отписаться» buttons.
    const vkMsgs = vk.sent(GROUP).filter((s) => s.message.includes('С 1 декабря'));
    const expectVk = [vkUser, ...vkIn].filter((id) => !vkBlockedInEmulator.includes(id));
    expect(vkMsgs.map((s) => s.peer_id).sort()).toEqual(expectVk.sort());
    expect(vkMsgs[0]!.message).toBe(
      'С 1 декабря автобус № 12 ходит чаще: каждые 10 минут. Подробнее — на сайте (https://www.altairegion22.ru/news) & в приложении.\n\n' +
        PHOTO,
    );
    const kb = JSON.parse(vkMsgs[0]!.params.keyboard!) as VkKeyboard;
    expect(kb.buttons.flat().map((b) => b.action.type)).toEqual(['open_link', 'text']);
    expect(JSON.parse(kb.buttons[1]![0]!.action.payload!)).toEqual({ d: 'unsub' });

    // Who blocked the bot is marked, with the moment.
    for (const [platform, id] of [
      ...tgBlockedInEmulator.map((id) => ['telegram', id] as const),
      ...vkBlockedInEmulator.map((id) => ['vk', id] as const),
    ]) {
      const a = await authorRow(platform, id);
      expect(a.blocked).toBe(true);
      expect(a.blocked_at).not.toBeNull();
    }

    // The limits held: no 429 from Telegram, no error 6 from VK.
    expect(tg.violations()).toBe(0);
    expect(vk.violations()).toBe(0);
    expect(tg.limitStats(BOT).busiestSecond).toBeLessThanOrEqual(33);

    // «Отписаться» under the message: unsubscribed at once, a confirmation comes.
    m = tg.sent().length;
    tg.pushUpdate(
      BOT,
      tg.updates.callback(tgUser, 'unsub', { chat_id: tgUser.id, message_id: first.message_id }),
    );
    await nextMessage(tg, BOT, tgUser.id, m, /Вы отписаны/);
    const after = await authorRow('telegram', tgUser.id);
    expect(after.subscribed).toBe(false);
    expect(after.unsubscribed_at).not.toBeNull();
    const vm = vk.sent().length;
    vk.pushEvent(
      GROUP,
      vk.events.messageNew({ fromId: vkUser, text: 'Отписаться', payload: JSON.stringify({ d: 'unsub' }) }),
    );
    await vk.waitForSent(
      (s) => s.peer_id === vkUser && vk.sent().indexOf(s) >= vm && /Вы отписаны/.test(s.message),
    );
    expect((await authorRow('vk', vkUser)).subscribed).toBe(false);

    // A click on the link: counted, then 302 to the button's address; a made-up token is a Russian 404 page.
    const res = await fetch(link!.url!, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(LINK);
    await fetch(link!.url!, { redirect: 'manual' });
    const clicked = (await stats()).stats!;
    expect(clicked).toMatchObject({ clicked: 1 });
    expect(clicked.clickRate).toBeCloseTo(1 / 53, 5);
    const missing = await fetch(`${publicUrl}/r/AAAAAAAAAAAAAAAAAAAAAA/0`, { redirect: 'manual' });
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('Ссылка не найдена');

    const audit = await t.app.database.query<{ action: string; actor: string }>(
      `select action, actor from audit_log where entity = 'campaign' and entity_id = $1 order by id`,
      [String(campaignId)],
    );
    expect(audit.map((a) => `${a.action} ${a.actor}`)).toEqual([
      'campaign.create staff:smm',
      'campaign.submit staff:smm',
      'campaign.approve staff:head',
      'campaign.pause staff:smm',
      'campaign.resume staff:curator',
    ]);
  });

  it('cancel stops a running campaign at once; the rest is never sent', async () => {
    const seg = await api<{ id: number }>('smm', 'POST', '/segments', {
      name: 'Telegram, все',
      rules: { platforms: ['telegram'] },
    });
    const c = await api<CampaignView>('smm', 'POST', '/campaigns', {
      title: 'Опрос о транспорте',
      text: 'Оцените, пожалуйста, работу общественного транспорта.',
      segmentId: seg.body.id,
      channel: 'telegram',
    });
    await api('smm', 'POST', `/campaigns/${c.body.id}/submit`);
    await api('curator', 'POST', `/campaigns/${c.body.id}/approve`);
    const sentOf = async () => (await api<CampaignView>('smm', 'GET', `/campaigns/${c.body.id}`)).body.stats;
    await waitFor(async () => ((await sentOf())?.sent ?? 0) >= 3, { intervalMs: 20, what: '3 sent' });
    expect((await api<CampaignView>('smm', 'POST', `/campaigns/${c.body.id}/cancel`)).body.status).toBe(
      'cancelled',
    );
    await new Promise((r) => setTimeout(r, 300));
    const count = () => tg.sent(BOT).filter((s) => s.text?.startsWith('Оцените')).length;
    const atCancel = count();
    await new Promise((r) => setTimeout(r, 1500));
    expect(count()).toBe(atCancel);
    const s = (await sentOf())!;
    expect(s.pending).toBeGreaterThan(0);
    expect(s.sent).toBe(atCancel);
    expect((await api('head', 'POST', `/campaigns/${c.body.id}/resume`)).status).toBe(409);
    expect(tg.violations()).toBe(0);
  });

  it('what was approved is what goes: the rules of a segment are frozen while a campaign or poll holds them', async () => {
    const seg = await api<{ id: number; name: string }>('smm', 'POST', '/segments', {
      name: 'Я: Барнаул',
      rules: { municipalities: ['barnaul'] },
    });
    const c = await api<CampaignView>('smm', 'POST', '/campaigns', {
      title: 'Ярмарка в Барнауле',
      text: 'В субботу на площади Советов — ярмарка выходного дня.',
      segmentId: seg.body.id,
      channel: 'telegram',
      scheduledAt: new Date(Date.now() + 3_600_000).toISOString(),
    });
    expect(c.body.audience).toBe(4);
    const widen = () =>
      api<{ error: string; message: string }>('smm', 'PATCH', `/segments/${seg.body.id}`, { rules: {} });
    // A draft: the segment may still change (the approver will see it as it is then).
    expect((await widen()).status).toBe(200);
    expect(
      (
        await api('smm', 'PATCH', `/segments/${seg.body.id}`, {
          name: 'Я: Барнаул',
          rules: { municipalities: ['barnaul'] },
        })
      ).status,
    ).toBe(200);
    await api('smm', 'POST', `/campaigns/${c.body.id}/submit`);

    // Waiting for approval, then approved: no rule changes (SMM may not approve, so may not widen it after).
    const refused = await widen();
    expect(refused.status).toBe(409);
    expect(refused.body.error).toBe('SEGMENT_IN_USE');
    expect(refused.body.message).toMatch(
      /^Правила сегмента «Я: Барнаул» сейчас менять нельзя: по нему рассылка «Ярмарка в Барнауле» \(на согласовании\)\./,
    );
    // A new name is no new audience.
    const renamed = await api<{ name: string; rules: unknown }>('smm', 'PATCH', `/segments/${seg.body.id}`, {
      name: 'Я: Барнаул (все темы)',
      rules: { municipalities: ['barnaul'] },
    });
    expect(renamed).toMatchObject({
      status: 200,
      body: { name: 'Я: Барнаул (все темы)', rules: { municipalities: ['barnaul'] } },
    });
    expect((await api('curator', 'POST', `/campaigns/${c.body.id}/approve`)).status).toBe(200);
    const afterApproval = await widen();
    expect(afterApproval.status).toBe(409);
    expect(afterApproval.body.message).toMatch(/рассылка «Ярмарка в Барнауле» \(согласована\)/);
    const listed = await api<{
      items: { id: number; inUse: { kind: string; id: number; text: string }[] }[];
    }>('analyst', 'GET', '/segments');
    expect(listed.body.items.find((x) => x.id === seg.body.id)!.inUse).toEqual([
      {
        kind: 'campaign',
        id: c.body.id,
        title: 'Ярмарка в Барнауле',
        status: 'approved',
        text: 'рассылка «Ярмарка в Барнауле» (согласована)',
      },
    ]);
    const [audit] = await t.app.database.query<{ n: number }>(
      `select count(*)::int as n from audit_log where entity = 'segment' and entity_id = $1 and action = 'segment.update'`,
      [String(seg.body.id)],
    );
    expect(audit!.n).toBe(3); // the refused changes left nothing

    // Its time comes: exactly the approved audience (4 in Барнаул), not every subscriber.
    // (moved here rather than waited for: the schedule and the delayed run job approval added)
    await t.app.database.query(`update campaigns set scheduled_at = now() where id = $1`, [c.body.id]);
    await (await t.app.queues.get('broadcast').getJob(`broadcast-${c.body.id}`))!.promote();
    const done = await waitFor(
      async () => {
        const v = (await api<CampaignView>('smm', 'GET', `/campaigns/${c.body.id}`)).body;
        return v.status === 'done' ? v : undefined;
      },
      { what: 'the scheduled campaign to finish', timeoutMs: 30_000 },
    );
    expect(done.stats!.recipients).toBe(4);
    expect(tg.sent(BOT).filter((s) => s.text?.startsWith('В субботу на площади Советов'))).toHaveLength(4);
    // Started, its audience is fixed: the segment is free again.
    expect((await widen()).status).toBe(200);

    // A poll waiting for approval holds its segment too (its audience is chosen at approval).
    const poll = await api<{ id: number }>('smm', 'POST', '/polls', {
      question: 'Нужна ли ярмарка каждую субботу?',
      options: ['Да', 'Нет'],
      segmentId: seg.body.id,
      channel: 'telegram',
      closesAt: new Date(Date.now() + 3_600_000).toISOString(),
    });
    await api('smm', 'POST', `/polls/${poll.body.id}/submit`);
    const byPoll = await api<{ message: string }>('smm', 'PATCH', `/segments/${seg.body.id}`, {
      rules: { municipalities: ['biysk'] },
    });
    expect(byPoll.status).toBe(409);
    expect(byPoll.body.message).toMatch(
      /по нему опрос «Нужна ли ярмарка каждую субботу\?» \(на согласовании\)/,
    );
    await api('smm', 'POST', `/polls/${poll.body.id}/close`); // cancelled
    expect(
      (await api('smm', 'PATCH', `/segments/${seg.body.id}`, { rules: { municipalities: ['biysk'] } }))
        .status,
    ).toBe(200);
  });
});

describe('a worker killed with SIGKILL mid-broadcast', () => {
  let tg: TelegramEmulator;
  let vk: VkEmulator;
  let t: TestApp;
  const children: ChildProcess[] = [];
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await t?.close();
    await tg?.close();
    await vk?.close();
  });

  function startWorker(): ChildProcess {
    const c = spawn(process.execPath, ['bin/otklik.js', 'worker'], {
      env: {
        ...process.env,
        DATABASE_URL: t.config.DATABASE_URL,
        REDIS_URL: t.config.REDIS_URL,
        QUEUE_PREFIX: t.config.QUEUE_PREFIX,
        DATA_DIR: t.config.dataDir,
        INGEST_TOKEN: t.config.INGEST_TOKEN,
        API_TOKEN: t.config.API_TOKEN,
        PUBLIC_URL: t.config.PUBLIC_URL,
        TELEGRAM_BOT_TOKEN: BOT,
        TELEGRAM_API_ROOT: tg.url,
        VK_GROUP_TOKEN: VK_TOKEN,
        VK_GROUP_ID: String(GROUP),
        VK_API_BASE_URL: vk.apiBaseUrl,
        VK_API_LIMIT: '20',
        ANALYZER: 'classic',
        LOG_LEVEL: 'warn',
        LOG_FORMAT: 'json',
        WORKER_LOCK_MS: '3000',
        SWEEP_INTERVAL_MS: '1000',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(c);
    return c;
  }

  it('after a restart each person got the message at most once, VK exactly once, and every recipient is accounted for', async () => {
    // Answers come 150 ms after Telegram took the message: a kill in between leaves one delivered unheard.
    tg = await startTelegramEmulator({ limits: { perSecond: 30, perChatPerSecond: 1 }, sendLatencyMs: 150 });
    tg.addBot(BOT);
    vk = await startVkEmulator({ limits: { perSecond: 20 }, sendLatencyMs: 150 });
    vk.addGroup(GROUP, VK_TOKEN);
    t = await startTestApp({ roles: ['api'] });
    const tgIds = range(81_000, 150);
    const vkIds = range(91_000, 60);
    await addSubscribers(t, [
      ...tgIds.map((id) => ({
        platform: 'telegram' as const,
        id,
        municipality: 'rubtsovsk',
        topics: ['housing'],
      })),
      ...vkIds.map((id) => ({ platform: 'vk' as const, id, municipality: 'rubtsovsk', topics: ['housing'] })),
    ]);
    const api = caller(t, await staffTokens(t, { smm: ['smm'], head: ['center_head'] }));
    const seg = await api<{ id: number }>('smm', 'POST', '/segments', {
      name: 'Рубцовск, ЖКХ',
      rules: { municipalities: ['rubtsovsk'], topics: ['housing'] },
    });
    const c = await api<CampaignView>('smm', 'POST', '/campaigns', {
      title: 'Отключение воды',
      text: 'В Рубцовске 5 декабря с 9:00 до 17:00 не будет холодной воды (ремонт водовода).',
      segmentId: seg.body.id,
      channel: 'all',
    });
    await api('smm', 'POST', `/campaigns/${c.body.id}/submit`);
    const first = startWorker();
    expect((await api<CampaignView>('head', 'POST', `/campaigns/${c.body.id}/approve`)).body.status).toBe(
      'approved',
    );
    const counts = async () =>
      Object.fromEntries(
        (
          await t.app.database.query<{ status: string; n: number }>(
            `select status, count(*)::int as n from campaign_deliveries where campaign_id = $1 group by status`,
            [c.body.id],
          )
        ).map((r) => [r.status, r.n]),
      ) as Record<string, number>;
    // Kill it while messages are in flight on both platforms (claimed, taken by the platform, not yet answered).
    const inFlightNow = async () =>
      (
        await t.app.database.query<{ sent: number; tg: number; vk: number }>(
          `select count(*) filter (where status = 'sent')::int as sent,
                  count(*) filter (where status = 'sending' and source_id like 'telegram:%')::int as tg,
                  count(*) filter (where status = 'sending' and source_id like 'vk:%')::int as vk
           from campaign_deliveries where campaign_id = $1`,
          [c.body.id],
        )
      )[0]!;
    await waitFor(
      async () => {
        const k = await inFlightNow();
        return k.sent >= 40 && k.tg > 0 && k.vk > 1;
      },
      { timeoutMs: 60_000, intervalMs: 5, what: '40 sent and some in flight on both platforms' },
    );
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const atKill = await counts();
    expect(atKill.sent ?? 0).toBeLessThan(210);
    expect(atKill.sending ?? 0).toBeGreaterThan(0);
    const [inFlight] = await t.app.database.query<{ tg: number; vk: number }>(
      `select count(*) filter (where source_id like 'telegram:%')::int as tg,
              count(*) filter (where source_id like 'vk:%')::int as vk
       from campaign_deliveries where campaign_id = $1 and status = 'sending'`,
      [c.body.id],
    );

    startWorker();
    await waitFor(
      async () =>
        (
          await t.app.database.query<{ status: string }>(`select status from campaigns where id = $1`, [
            c.body.id,
          ])
        )[0]!.status === 'done',
      { timeoutMs: 90_000, intervalMs: 250, what: 'the campaign done after the restart' },
    );
    const end = await counts();
    expect((end.sent ?? 0) + (end.uncertain ?? 0)).toBe(210);
    expect(end.pending ?? 0).toBe(0);
    expect(end.sending ?? 0).toBe(0);

    // Telegram: nobody twice; every `sent` row has its message; an `uncertain` one may or may not.
    const perChat = new Map<string, number>();
    for (const s of tg.sent(BOT)) perChat.set(s.chat_id, (perChat.get(s.chat_id) ?? 0) + 1);
    expect([...perChat.values()].every((n) => n === 1)).toBe(true);
    const rows = await t.app.database.query<{ chat_id: string; status: string; source_id: string }>(
      `select chat_id, status, source_id from campaign_deliveries where campaign_id = $1`,
      [c.body.id],
    );
    for (const r of rows.filter((x) => x.source_id.startsWith('telegram:') && x.status === 'sent'))
      expect(perChat.get(r.chat_id)).toBe(1);
    const uncertain = rows.filter((x) => x.status === 'uncertain');
    expect(uncertain.every((x) => x.source_id.startsWith('telegram:'))).toBe(true);
    expect(uncertain.length).toBeLessThanOrEqual(atKill.sending ?? 0);
    expect(perChat.size).toBeGreaterThanOrEqual(150 - uncertain.length);

    // VK: each person exactly once (a resend after the crash carried the same random_id and was dropped).
    const vkPeers = vk.sent(GROUP).map((s) => s.peer_id!);
    expect(vkPeers.sort()).toEqual([...vkIds].sort());
    expect(rows.filter((x) => x.source_id.startsWith('vk:')).every((x) => x.status === 'sent')).toBe(true);
    // …and VK was asked again for those in flight at the kill that had reached it: VK dropped the repeat.
    const vkCalls = vk.calls().filter((x) => x.method === 'messages.send' && !x.errorCode).length;
    expect(vkCalls).toBeGreaterThan(60);
    expect(vkCalls).toBeLessThanOrEqual(60 + inFlight!.vk);
    // Telegram's in flight at the kill were not sent again: they are `uncertain`.
    expect(uncertain.length).toBe(inFlight!.tg);
    expect(tg.violations()).toBe(0);
    expect(vk.violations()).toBe(0);
  });
});
