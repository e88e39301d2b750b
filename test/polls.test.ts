/**
 * Polls and public discussions with the real app (PostgreSQL, Redis, BullMQ workers) and the Telegram and
 * VK protocol emulators: a poll reaches exactly its segment and only after approval, button votes are
 * counted once (a second press is refused in Russian), a native Telegram poll counts the first answer and
 * ignores changes, votes after the closing time are refused and the closing check stops or edits the poll
 * messages, results come by option and municipality; a discussion collects the comments of a Telegram
 * discussion group and of a VK post, summarised by sector, sentiment and recurring proposals, and opens
 * no incidents. Outreach guards: «Отписаться» under every poll message, four eyes on approval, and a
 * citizen who leaves while a poll goes out does not get it (replies to appeals still go).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recurringProposals, vkPostId } from '../src/responders/discussions.ts';
import { queueOutbound } from '../src/responders/outbound.ts';
import { pollButtons } from '../src/responders/polls.ts';
import { createOutboundStore } from '../src/store/outbound.store.ts';
import { startTelegramEmulator, type SentRecord, type TelegramEmulator } from './emulators/telegram.ts';
import { startVkEmulator, type VkEmulator, type VkSent } from './emulators/vk.ts';
import { startTestApp, waitFor, type TestApp } from './helpers.ts';

const BOT = '700400500:AAtest-polls-bot-token-012345';
const BOT_ID = '700400500';
const GROUP = 777400;
const VK_TOKEN = 'vk1.a.test-polls-community-token';

type Keyboard = { inline_keyboard: { text: string; callback_data: string }[][] };
const buttonsOf = (r: SentRecord) => ((r.reply_markup as Keyboard | undefined)?.inline_keyboard ?? []).flat();
const vkPayloads = (s: VkSent) =>
  (
    JSON.parse(s.params.keyboard ?? '{"buttons":[]}') as { buttons: { action: { payload?: string } }[][] }
  ).buttons
    .flat()
    .map((b) => (JSON.parse(b.action.payload ?? '{}') as { d?: string }).d);

interface Citizen {
  platform: 'telegram' | 'vk';
  id: number;
  name: string;
  municipality: string | null;
  subscribed?: boolean;
  blocked?: boolean;
}

// Subscribers: Бийск and Барнаул are the segment; the rest must never get its poll.
const TG = {
  anna: { platform: 'telegram', id: 9301, name: 'Анна', municipality: 'biysk' },
  boris: { platform: 'telegram', id: 9302, name: 'Борис', municipality: 'barnaul' },
  vera: { platform: 'telegram', id: 9303, name: 'Вера', municipality: 'biysk' },
  gleb: { platform: 'telegram', id: 9304, name: 'Глеб', municipality: 'biysk', subscribed: false },
  dina: { platform: 'telegram', id: 9305, name: 'Дина', municipality: 'barnaul', blocked: true },
  egor: { platform: 'telegram', id: 9306, name: 'Егор', municipality: 'rubtsovsk' },
} satisfies Record<string, Citizen>;
const VKU = {
  zoya: { platform: 'vk', id: 5301, name: 'Зоя', municipality: 'biysk' },
  ilya: { platform: 'vk', id: 5302, name: 'Илья', municipality: 'barnaul' },
  kira: { platform: 'vk', id: 5303, name: 'Кира', municipality: 'slavgorod' },
} satisfies Record<string, Citizen>;

describe('polls and public discussions through the bots', () => {
  let tg: TelegramEmulator;
  let vk: VkEmulator;
  let t: TestApp;
  let smm: string;
  let head: string;
  let analyst: string;
  let segmentId: number;

  const api = async <T = Record<string, unknown>>(
    method: string,
    path: string,
    token: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${t.app.url}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as T };
  };
  const rows = <T>(sql: string, params: unknown[] = []) => t.app.database.query<T>(sql, params);

  beforeAll(async () => {
    tg = await startTelegramEmulator();
    tg.addBot(BOT, { username: 'cur_polls_bot', first_name: 'ЦУР Алтайского края' });
    vk = await startVkEmulator();
    vk.addGroup(GROUP, VK_TOKEN);
    t = await startTestApp({
      roles: ['api', 'workers', 'connectors'],
      listen: true,
      env: {
        TELEGRAM_BOT_TOKEN: BOT,
        TELEGRAM_API_ROOT: tg.url,
        TELEGRAM_POLL_TIMEOUT_S: '1',
        VK_GROUP_TOKEN: VK_TOKEN,
        VK_GROUP_ID: String(GROUP),
        VK_API_BASE_URL: vk.apiBaseUrl,
        VK_API_LIMIT: '50',
        VK_POLL_WAIT_S: '1',
      },
    });
    const staff = async (login: string, role: string) => {
      const m = await t.app.staff.create({ login, name: login, grants: [{ role }] });
      return t.app.staff.issueToken(m.id, 'test');
    };
    smm = await staff('smm.polls', 'smm');
    head = await staff('head.polls', 'center_head');
    analyst = await staff('analyst.polls', 'analyst');
    for (const c of [...Object.values(TG), ...Object.values(VKU)] as Citizen[])
      await rows(
        `insert into authors (platform, external_id, name, consent_personal_data, consent_at, subscribed,
                              subscription_topics, municipality, blocked, blocked_at, subscription_source,
                              subscription_chat, subscribed_at)
         values ($1, $2, $3, true, now(), $4, '["roads","amenities"]', $5, $6, $7, $8, $2, now())`,
        [
          c.platform,
          String(c.id),
          c.name,
          c.subscribed ?? true,
          c.municipality,
          c.blocked ?? false,
          c.blocked ? new Date() : null,
          c.platform === 'telegram' ? `telegram:${BOT_ID}` : `vk:${GROUP}`,
        ],
      );
    const [seg] = await rows<{ id: number }>(
      `insert into segments (name, rules) values ('Бийск и Барнаул', '{"municipalities":["biysk","barnaul"]}') returning id`,
    );
    segmentId = Number(seg!.id);
  });
  afterAll(async () => {
    await t?.close();
    await tg?.close();
    await vk?.close();
  });

  const pollMessages = (pollId: number) => (r: SentRecord) =>
    r.method === 'sendMessage' && buttonsOf(r).some((b) => b.callback_data.startsWith(`vote:${pollId}:`));
  const vkPollMessages = (pollId: number) => (s: VkSent) =>
    s.method === 'messages.send' && vkPayloads(s).some((d) => d?.startsWith(`vote:${pollId}:`));

  /** A button press in Telegram and the bot's next answer in that chat. */
  async function press(user: Citizen, data: string, messageId: number): Promise<string> {
    const before = tg.sent().length;
    tg.pushUpdate(
      BOT,
      tg.updates.callback({ id: user.id, first_name: user.name }, data, {
        chat_id: user.id,
        message_id: messageId,
      }),
    );
    const [r] = await tg.waitForSent(
      (s) => s.method === 'sendMessage' && s.chat_id === String(user.id) && tg.sent().indexOf(s) >= before,
    );
    return r!.text!;
  }

  /** A VK keyboard button (its payload) and the community's next message to that person. */
  async function vkPress(user: Citizen, label: string, data: string): Promise<string> {
    const before = vk.sent().length;
    vk.pushEvent(
      GROUP,
      vk.events.messageNew({ fromId: user.id, text: label, payload: JSON.stringify({ d: data }) }),
    );
    const [r] = await vk.waitForSent(
      (s) => s.method === 'messages.send' && s.peer_id === user.id && vk.sent().indexOf(s) >= before,
    );
    return r!.message;
  }

  async function openPoll(body: Record<string, unknown>): Promise<number> {
    const created = await api<{ id: number; status: string }>('POST', '/polls', smm, body);
    expect(created.status).toBe(201);
    expect(created.body.status).toBe('draft');
    expect((await api('POST', `/polls/${created.body.id}/submit`, smm)).status).toBe(200);
    const approved = await api<{ poll: { status: string }; recipients: number }>(
      'POST',
      `/polls/${created.body.id}/approve`,
      head,
    );
    expect(approved.status).toBe(200);
    expect(approved.body.poll.status).toBe('open');
    return created.body.id;
  }

  it('a buttons poll reaches exactly its segment after approval; each citizen votes once', async () => {
    const created = await api<{ id: number }>('POST', '/polls', smm, {
      question: 'Какой объект благоустроить первым в 2027 году?',
      options: ['Сквер у ДК', 'Набережную', 'Детскую площадку'],
      segmentId,
      channel: 'all',
      mode: 'buttons',
      closesAt: new Date(Date.now() + 3_600_000).toISOString(),
    });
    expect(created.status).toBe(201);
    const id = created.body.id;
    expect(
      (await api<{ recipients: number }>('GET', `/polls/audience?segmentId=${segmentId}`, smm)).body,
    ).toEqual({
      recipients: 5,
    });
    // Not before approval: a draft and a submitted poll send nothing; SMM may not approve.
    expect((await api('POST', `/polls/${id}/approve`, head)).status).toBe(409);
    expect((await api('POST', `/polls/${id}/submit`, smm)).status).toBe(200);
    expect((await api('POST', `/polls/${id}/approve`, smm)).status).toBe(403);
    await new Promise((r) => setTimeout(r, 800));
    expect(tg.sent().filter(pollMessages(id))).toHaveLength(0);
    expect(vk.sent().filter(vkPollMessages(id))).toHaveLength(0);

    const approved = await api<{ recipients: number; queued: number }>('POST', `/polls/${id}/approve`, head);
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ recipients: 5, queued: 5 });
    expect((await api('POST', `/polls/${id}/approve`, head)).status).toBe(409);

    const tgSent = await tg.waitForSent(pollMessages(id), { count: 3, timeoutMs: 15_000 });
    const vkSent = await vk.waitForSent(vkPollMessages(id), { count: 2, timeoutMs: 15_000 });
    await new Promise((r) => setTimeout(r, 500));
    // Exactly the segment: Бийск and Барнаул, subscribed and not blocked, on both platforms.
    expect(
      tg
        .sent()
        .filter(pollMessages(id))
        .map((r) => Number(r.chat_id))
        .sort(),
    ).toEqual([TG.anna.id, TG.boris.id, TG.vera.id].sort());
    expect(
      vk
        .sent()
        .filter(vkPollMessages(id))
        .map((s) => s.peer_id)
        .sort(),
    ).toEqual([VKU.zoya.id, VKU.ilya.id].sort());
    const toAnna = tgSent.find((r) => r.chat_id === String(TG.anna.id))!;
    expect(toAnna.text).toContain('Какой объект благоустроить первым в 2027 году?');
    // The vote buttons, and «Отписаться» as under every campaign message (its own row).
    expect(buttonsOf(toAnna).map((b) => [b.text, b.callback_data])).toEqual([
      ['Сквер у ДК', `vote:${id}:0`],
      ['Набережную', `vote:${id}:1`],
      ['Детскую площадку', `vote:${id}:2`],
      ['Отписаться', 'unsub'],
    ]);
    expect((toAnna.reply_markup as Keyboard).inline_keyboard.at(-1)).toEqual([
      { text: 'Отписаться', callback_data: 'unsub' },
    ]);
    expect(vkPayloads(vkSent[0]!)).toEqual([`vote:${id}:0`, `vote:${id}:1`, `vote:${id}:2`, 'unsub']);
    expect(JSON.parse(vkSent[0]!.params.keyboard!)).toMatchObject({ inline: true });

    // Votes: one per citizen; a second press is refused politely and not counted.
    expect(await press(TG.anna, `vote:${id}:1`, toAnna.message_id)).toMatch(
      /^Спасибо! Ваш голос учтён: «Набережную»/,
    );
    expect(await press(TG.anna, `vote:${id}:2`, toAnna.message_id)).toMatch(
      /^Ваш голос уже учтён: «Набережную»\. Проголосовать можно только один раз/,
    );
    const toBoris = tgSent.find((r) => r.chat_id === String(TG.boris.id))!;
    // Boris has an appeal waiting for its municipality: after his vote the question is asked again.
    let before = tg.sent().length;
    tg.pushUpdate(
      BOT,
      tg.updates.privateText({ id: TG.boris.id, first_name: TG.boris.name }, 'Во дворе яма'),
    );
    await tg.waitForSent(
      (s) =>
        s.chat_id === String(TG.boris.id) &&
        tg.sent().indexOf(s) >= before &&
        /в каком городе/.test(s.text ?? ''),
    );
    before = tg.sent().length;
    expect(await press(TG.boris, `vote:${id}:1`, toBoris.message_id)).toMatch(/Ваш голос учтён/);
    await tg.waitForSent(
      (s) =>
        s.chat_id === String(TG.boris.id) &&
        tg.sent().indexOf(s) >= before &&
        /ещё не зарегистрировано/.test(s.text ?? ''),
    );
    expect(await vkPress(VKU.zoya, 'Сквер у ДК', `vote:${id}:0`)).toMatch(/Ваш голос учтён: «Сквер у ДК»/);
    expect(await vkPress(VKU.zoya, 'Детскую площадку', `vote:${id}:2`)).toMatch(
      /Ваш голос уже учтён: «Сквер у ДК»/,
    );
    // A vote for an option that does not exist is no vote.
    expect(
      await press(TG.vera, `vote:${id}:7`, tgSent.find((r) => r.chat_id === String(TG.vera.id))!.message_id),
    ).toBe('Этот опрос недоступен.');

    const votes = await rows<{ external_id: string; option: number; municipality: string }>(
      `select a.external_id, v.option, v.municipality from poll_votes v join authors a on a.id = v.author_id
       where v.poll_id = $1 order by a.external_id`,
      [id],
    );
    expect(votes.map((v) => [v.external_id, Number(v.option), v.municipality])).toEqual([
      [String(VKU.zoya.id), 0, 'biysk'],
      [String(TG.anna.id), 1, 'biysk'],
      [String(TG.boris.id), 1, 'barnaul'],
    ]);

    // Results by option and by the voter's municipality (at vote time), for an analyst too.
    const res = await api<{
      total: number;
      options: { text: string; votes: number; share: number }[];
      byMunicipality: { municipality: string; name: string; total: number; votes: number[] }[];
      delivery: { recipients: number; sent: number };
    }>('GET', `/polls/${id}/results`, analyst);
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(3);
    expect(res.body.options.map((o) => o.votes)).toEqual([1, 2, 0]);
    expect(res.body.options[1]!.share).toBeCloseTo(2 / 3);
    expect(res.body.byMunicipality).toEqual([
      { municipality: 'biysk', name: 'Бийск', total: 2, votes: [1, 1, 0] },
      { municipality: 'barnaul', name: 'Барнаул', total: 1, votes: [0, 1, 0] },
    ]);
    expect(res.body.delivery).toMatchObject({ recipients: 5, sent: 5 });
    // The municipality is the one at vote time: moving later changes nothing.
    await rows(`update authors set municipality = 'rubtsovsk' where external_id = $1`, [String(TG.boris.id)]);
    expect(
      (
        await api<{ byMunicipality: { municipality: string }[] }>('GET', `/polls/${id}/results`, analyst)
      ).body.byMunicipality.map((m) => m.municipality),
    ).toEqual(['biysk', 'barnaul']);
    await rows(`update authors set municipality = 'barnaul' where external_id = $1`, [String(TG.boris.id)]);
    const list = await api<{ items: { id: number; votes: number; recipients: number }[] }>(
      'GET',
      '/polls',
      analyst,
    );
    expect(list.body.items.find((p) => p.id === id)).toMatchObject({ votes: 3, recipients: 5 });
  });

  it('a native Telegram poll counts the first answer; a change or retraction is refused and ignored', async () => {
    const id = await openPoll({
      question: 'Нужна ли в вашем районе ярмарка выходного дня?',
      options: ['Да', 'Нет'],
      channel: 'all',
      mode: 'native',
      closesAt: new Date(Date.now() + 3_600_000).toISOString(),
    });
    // No segment: every Telegram subscriber who can be reached (not Глеб, not the blocked Дина).
    const sent = await tg.waitForSent(
      (r) => r.method === 'sendPoll' && r.poll?.question === 'Нужна ли в вашем районе ярмарка выходного дня?',
      {
        count: 4,
        timeoutMs: 15_000,
      },
    );
    expect(sent.map((r) => Number(r.chat_id)).sort()).toEqual(
      [TG.anna.id, TG.boris.id, TG.vera.id, TG.egor.id].sort(),
    );
    expect(sent[0]!.params.is_anonymous).toBe(false);
    // VK has no polls for communities: its subscribers get the text with buttons.
    const vkSent = await vk.waitForSent(vkPollMessages(id), { count: 3, timeoutMs: 15_000 });
    expect(vkSent.map((s) => s.peer_id).sort()).toEqual([VKU.zoya.id, VKU.ilya.id, VKU.kira.id].sort());
    expect(vkSent[0]!.message).toMatch(
      /^📊 Опрос\n\nНужна ли в вашем районе ярмарка выходного дня\?\n\n1\. Да\n2\. Нет/,
    );
    expect(vkPayloads(vkSent[0]!)).toEqual([`vote:${id}:0`, `vote:${id}:1`, 'unsub']);
    // The Telegram rows of a native poll carry «Отписаться» for under the poll (the sender's reply_markup).
    const nativeRows = await rows<{ buttons: unknown }>(
      `select buttons from outbound_messages where idempotency_key like $1 and source_id like 'telegram:%'`,
      [`poll:${id}:%`],
    );
    expect(nativeRows).toHaveLength(4);
    expect(nativeRows.map((r) => r.buttons)).toEqual(
      Array(4).fill([[{ text: 'Отписаться', data: 'unsub' }]]),
    );
    const toVera = sent.find((r) => r.chat_id === String(TG.vera.id))!;
    const pollId = toVera.poll!.id;
    await waitFor(
      async () =>
        (await rows(`select 1 from poll_messages where platform_poll_id = $1`, [pollId])).length > 0,
      { what: "Telegram's poll id to be recorded" },
    );

    const vera = { id: TG.vera.id, first_name: TG.vera.name };
    tg.pushUpdate(BOT, tg.updates.pollAnswer(vera, pollId, [0]));
    const counted = await waitFor(async () => {
      const [v] = await rows<{ option: number }>(`select option from poll_votes where poll_id = $1`, [id]);
      return v;
    });
    expect(Number(counted.option)).toBe(0);
    // Telegram lets her change the answer; the first one stands and she is told so.
    let before = tg.sent().length;
    tg.pushUpdate(BOT, tg.updates.pollAnswer(vera, pollId, [1]));
    const [told] = await tg.waitForSent(
      (s) => s.method === 'sendMessage' && s.chat_id === String(TG.vera.id) && tg.sent().indexOf(s) >= before,
    );
    expect(told!.text).toMatch(/^Ваш голос уже учтён: «Да»\. .*изменить или отозвать голос нельзя/);
    before = tg.sent().length;
    tg.pushUpdate(BOT, tg.updates.pollAnswer(vera, pollId, []));
    await tg.waitForSent(
      (s) =>
        s.method === 'sendMessage' &&
        s.chat_id === String(TG.vera.id) &&
        tg.sent().indexOf(s) >= before &&
        /уже учтён/.test(s.text ?? ''),
    );
    const all = await rows<{ option: number }>(`select option from poll_votes where poll_id = $1`, [id]);
    expect(all.map((v) => Number(v.option))).toEqual([0]);
    // The first vote itself got no message: Telegram shows it in the poll.
    expect(
      tg
        .sent()
        .filter(
          (s) =>
            s.method === 'sendMessage' &&
            s.chat_id === String(TG.vera.id) &&
            /уже учтён|Спасибо/.test(s.text ?? ''),
        ),
    ).toHaveLength(2);

    // Closing early stops every native poll (stopPoll), once.
    const closed = await api<{ poll: { status: string } }>('POST', `/polls/${id}/close`, smm);
    expect(closed.body.poll.status).toBe('closed');
    const stops = await tg.waitForSent(
      (r) =>
        r.method === 'stopPoll' && r.poll?.id !== undefined && sent.some((s) => s.poll?.id === r.poll!.id),
      {
        count: 4,
        timeoutMs: 15_000,
      },
    );
    expect(stops.every((s) => s.poll!.is_closed)).toBe(true);
    // Telegram's own count followed her change and retraction; ours kept the first answer.
    expect(stops.find((s) => s.poll!.id === pollId)!.poll!.total_voter_count).toBe(0);
    // …and its VK messages show the results.
    await vk.waitForSent(
      (s) => s.method === 'messages.edit' && /^📊 Опрос завершён\n\nНужна ли в вашем районе/.test(s.message),
      { count: 3, timeoutMs: 15_000 },
    );
    expect((await api('POST', `/polls/${id}/close`, smm)).status).toBe(409);
    expect((await api<{ total: number }>('GET', `/polls/${id}/results`, analyst)).body.total).toBe(1);
  });

  it('votes after the closing time are refused; the check closes the poll and shows results in its messages', async () => {
    const id = await openPoll({
      question: 'Удобно ли вам новое расписание автобусов?',
      options: ['Да', 'Нет'],
      segmentId,
      channel: 'all',
      mode: 'buttons',
      closesAt: new Date(Date.now() + 3_600_000).toISOString(),
    });
    const tgSent = await tg.waitForSent(pollMessages(id), { count: 3, timeoutMs: 15_000 });
    await vk.waitForSent(vkPollMessages(id), { count: 2, timeoutMs: 15_000 });
    const msgOf = (c: Citizen) => tgSent.find((r) => r.chat_id === String(c.id))!.message_id;
    expect(await press(TG.vera, `vote:${id}:0`, msgOf(TG.vera))).toMatch(/Ваш голос учтён: «Да»/);
    await waitFor(
      async () =>
        (await rows(`select 1 from poll_messages where poll_id = $1 and status = 'sent'`, [id])).length === 5,
      { what: 'all poll messages to be recorded as sent' },
    );
    // The closing time comes (moved here rather than waited for, so a slow machine changes nothing).
    await rows(`update polls set closes_at = now() - interval '1 second' where id = $1`, [id]);
    // Past the closing time, even before the check ran: refused, not counted.
    expect(await press(TG.anna, `vote:${id}:1`, msgOf(TG.anna))).toBe(
      'Голосование завершено — голоса больше не принимаются. Спасибо за интерес!',
    );
    expect(await vkPress(VKU.ilya, 'Нет', `vote:${id}:1`)).toMatch(/^Голосование завершено/);

    // The repeatable check (installed by the sweeper) closes it; here it is run at once.
    const schedulers = await t.app.queues.get('polls').getJobSchedulers();
    expect(schedulers.map((s) => s.key)).toContain('polls-tick');
    await t.app.participation.polls.tick(); // (the scheduled job may have closed it a moment earlier)
    const [p] = await rows<{ status: string; closed_at: Date }>(
      `select status, closed_at from polls where id = $1`,
      [id],
    );
    expect(p!.status).toBe('closed');
    const edits = await tg.waitForSent(
      (r) =>
        r.method === 'editMessageText' &&
        /Опрос завершён/.test(r.text ?? '') &&
        tgSent.some((s) => s.chat_id === r.chat_id && s.message_id === r.params.message_id),
      { count: 3, timeoutMs: 15_000 },
    );
    expect(edits[0]!.text).toContain('Удобно ли вам новое расписание автобусов?');
    expect(edits[0]!.text).toContain('Итоги (голосов: 1):');
    expect(edits[0]!.text).toContain('1. Да — 1 (100 %)');
    // The vote buttons are gone; «Отписаться» stays under the results.
    expect(edits[0]!.reply_markup).toEqual({
      inline_keyboard: [[{ text: 'Отписаться', callback_data: 'unsub' }]],
    });
    const vkEdits = await vk.waitForSent(
      (s) => s.method === 'messages.edit' && /Опрос завершён\n\nУдобно ли вам/.test(s.message),
      {
        count: 2,
        timeoutMs: 15_000,
      },
    );
    expect(vkPayloads(vkEdits[0]!)).toEqual(['unsub']);
    // A second pass changes nothing.
    const again = await t.app.participation.polls.tick();
    expect(again.queued).toBe(0);
    expect((await api<{ total: number }>('GET', `/polls/${id}/results`, analyst)).body.total).toBe(1);
  });

  it('validates poll drafts', async () => {
    const base = {
      question: 'Вопрос?',
      options: ['Да', 'Нет'],
      channel: 'all',
      closesAt: new Date(Date.now() + 3_600_000).toISOString(),
    };
    expect((await api('POST', '/polls', smm, { ...base, options: ['Да'] })).status).toBe(400);
    expect((await api('POST', '/polls', smm, { ...base, options: ['Да', 'да'] })).status).toBe(400);
    expect(
      (
        await api<{ error: string }>('POST', '/polls', smm, {
          ...base,
          closesAt: new Date(Date.now() - 1000).toISOString(),
        })
      ).body.error,
    ).toBe('POLL_CLOSES_IN_PAST');
    expect((await api('POST', '/polls', smm, { ...base, segmentId: 99_999 })).status).toBe(400);
    expect((await api('POST', '/polls', analyst, base)).status).toBe(403);
    const draft = await api<{ id: number }>('POST', '/polls', smm, base);
    const edited = await api<{ question: string; status: string }>('PATCH', `/polls/${draft.body.id}`, smm, {
      question: 'Новый вопрос?',
    });
    expect(edited.body).toMatchObject({ question: 'Новый вопрос?', status: 'draft' });
    expect(
      (await api<{ poll: { status: string } }>('POST', `/polls/${draft.body.id}/close`, smm)).body.poll
        .status,
    ).toBe('cancelled');
    const audit = await rows<{ action: string }>(
      `select action from audit_log where entity = 'poll' and entity_id = $1 order by id`,
      [String(draft.body.id)],
    );
    expect(audit.map((a) => a.action)).toEqual(['poll.create', 'poll.update', 'poll.close']);
  });

  it('a discussion in a Telegram channel: the post goes out, group comments are collected and summarised, no incidents', async () => {
    const channel = -1001777000001;
    const group = { id: -1001777000002, title: 'Обсуждение: ЦУР Алтайского края' };
    tg.updates.channelPost({ id: channel, title: 'ЦУР Алтайского края' }, 'Канал открыт'); // the emulator knows it as a channel
    const created = await api<{ id: number; status: string }>('POST', '/discussions', smm, {
      title: 'Благоустройство набережной',
      text: 'Какой вы видите набережную в Барнауле через два года? Делитесь идеями.',
      sourceId: `telegram:${BOT_ID}`,
      chatId: String(channel),
    });
    expect(created.status).toBe(201);
    const id = created.body.id;
    expect((await api('POST', `/discussions/${id}/publish`, smm)).status).toBe(403);
    expect((await api<{ status: string }>('POST', `/discussions/${id}/publish`, head)).body.status).toBe(
      'open',
    );
    const [post] = await tg.waitForSent((r) => r.method === 'sendMessage' && r.chat_id === String(channel));
    expect(post!.text).toMatch(/^Благоустройство набережной\n\nКакой вы видите набережную/);
    const postId = `${channel}:${post!.message_id}`;
    await waitFor(
      async () =>
        (await api<{ postExternalId: string | null }>('GET', `/discussions/${id}`, analyst)).body
          .postExternalId === postId,
      {
        what: 'the post id to be stored',
      },
    );

    const say = (userId: number, text: string) =>
      tg.updates.discussionComment(group, { id: userId, first_name: `Житель ${userId}` }, text, {
        channelId: channel,
        channelMessageId: post!.message_id,
        groupMessageId: 700,
      });
    const first = say(9401, 'Нужна велодорожка вдоль набережной');
    // The automatic copy of the post in the group arrives first: it is the thread's root, not an appeal.
    tg.pushUpdate(BOT, { message: (first.message as { reply_to_message: unknown }).reply_to_message });
    tg.pushUpdate(BOT, first);
    tg.pushUpdate(BOT, say(9402, 'Сделайте, пожалуйста, велодорожку вдоль набережной'));
    tg.pushUpdate(BOT, say(9403, 'Велодорожка вдоль набережной очень нужна городу'));
    const benches = say(9404, 'Поставьте больше скамеек и урн в парке');
    tg.pushUpdate(BOT, benches);
    tg.pushUpdate(BOT, say(9405, 'Ужасно, что парк до сих пор не убирают, мусор везде'));
    // A reply to a comment (not to the post) belongs to the thread too.
    tg.pushUpdate(
      BOT,
      tg.updates.groupMessage(
        group,
        { id: 9406, first_name: 'Житель 9406' },
        'Согласна, скамеек в парке не хватает',
        {
          message_id: (benches.message as { message_id: number }).message_id,
        },
      ),
    );

    type Summary = {
      total: number;
      bySector: { sector: string; name: string; count: number }[];
      bySentiment: { sentiment: string; name: string; count: number }[];
      proposals: { count: number; terms: string[]; example: { text: string }; messageIds: number[] }[];
      appeals: number;
      comments: {
        text: string;
        sector: string;
        sentiment: string;
        authorName: string | null;
        incidentId: number | null;
      }[];
    };
    const summary = await waitFor(
      async () => {
        const s = await api<Summary>('GET', `/discussions/${id}/summary`, smm);
        return s.body.total === 6 ? s.body : undefined;
      },
      { what: 'six comments to be collected', timeoutMs: 30_000 },
    );
    expect(summary.comments.every((c) => c.sector && c.sentiment)).toBe(true);
    expect(summary.bySector.reduce((n, s) => n + s.count, 0)).toBe(6);
    expect(summary.bySector[0]).toMatchObject({ sector: 'roads', name: 'Дороги', count: 3 });
    expect(summary.bySentiment.map((s) => s.sentiment)).toEqual(['negative', 'neutral', 'positive']);
    expect(summary.bySentiment.reduce((n, s) => n + s.count, 0)).toBe(6);
    expect(summary.bySentiment.find((s) => s.sentiment === 'negative')!.count).toBeGreaterThanOrEqual(1);
    // Recurring proposals: the cycle path three times, benches twice.
    expect(summary.proposals.map((p) => p.count)).toEqual([3, 2]);
    expect(summary.proposals[0]!.terms).toEqual(expect.arrayContaining(['велодорожк', 'набережн']));
    expect(summary.proposals[0]!.example.text).toMatch(/[Вв]елодорожк/);
    expect(summary.proposals[1]!.example.text).toMatch(/скамеек/);
    expect(summary.comments.map((c) => c.authorName)).toContain('Житель 9401'); // SMM sees names
    expect(summary.appeals).toBe(0);
    // Analysed, but no incident: neither the comments nor the post copy.
    const msgs = await rows<{
      external_id: string;
      state: string;
      incident_id: number | null;
      sector: string;
    }>(`select external_id, state, incident_id, sector from messages where source_id = $1`, [
      `telegram:${BOT_ID}:public`,
    ]);
    expect(msgs).toHaveLength(7);
    expect(msgs.every((m) => m.state === 'routed' && m.incident_id === null && m.sector)).toBe(true);
    expect(msgs.map((m) => m.external_id)).toContain(postId);
    const analystView = await api<Summary>('GET', `/discussions/${id}/summary`, analyst);
    expect(analystView.body.comments.every((c) => c.authorName === null)).toBe(true); // no personal data
    const list = await api<{ items: { id: number; comments: number }[] }>('GET', '/discussions', analyst);
    expect(list.body.items.find((d) => d.id === id)?.comments).toBe(6);

    // Closed: later comments are ordinary public messages again and are not collected.
    expect((await api<{ status: string }>('POST', `/discussions/${id}/close`, smm)).body.status).toBe(
      'closed',
    );
    tg.pushUpdate(BOT, say(9407, 'В Барнауле на набережной прорвало трубу, вода заливает дорогу'));
    await waitFor(
      async () =>
        (
          await rows(
            `select 1 from messages where source_id = $1 and state = 'routed' and incident_id is not null`,
            [`telegram:${BOT_ID}:public`],
          )
        ).length === 1,
      { what: 'the late comment to be routed as an appeal' },
    );
    expect((await api<Summary>('GET', `/discussions/${id}/summary`, smm)).body.total).toBe(6);
  });

  it('a discussion under a VK community post: wall comments are collected and summarised', async () => {
    // A community token cannot post on a wall: the post is published in VK and linked.
    const wrong = await api<{ field: string }>('POST', '/discussions', smm, {
      title: 'Сквер',
      text: 'Обсудим',
      sourceId: `vk:${GROUP}`,
      postUrl: 'https://vk.com/wall-1_5',
    });
    expect(wrong.status).toBe(400);
    const created = await api<{ id: number; postExternalId: string }>('POST', '/discussions', smm, {
      title: 'Парк в Бийске',
      text: 'Что изменить в парке?',
      sourceId: `vk:${GROUP}`,
      postUrl: `https://vk.com/wall-${GROUP}_300`,
    });
    expect(created.body.postExternalId).toBe(`wall-${GROUP}_300`);
    const id = created.body.id;
    // Comments before publishing are ordinary messages (not collected).
    expect((await api('POST', `/discussions/${id}/publish`, head)).status).toBe(200);
    const comment = (fromId: number, text: string, replyToComment?: number) => {
      const ev = vk.events.wallReplyNew({ groupId: GROUP, postId: 300, fromId, text, replyToComment });
      vk.pushEvent(GROUP, ev);
      return ev.object.id as number;
    };
    comment(6101, 'Нужна велодорожка вдоль набережной');
    const c2 = comment(6102, 'Поставьте больше скамеек и урн в парке');
    comment(6103, 'Сделайте, пожалуйста, велодорожку вдоль набережной');
    comment(6104, 'Согласна, скамеек в парке не хватает', c2);
    comment(6105, 'Спасибо за обсуждение, отличная идея');
    // A concrete problem at an address, said angrily: collected, and routed as an appeal as well.
    comment(
      6107,
      'Ужасно! На ул. Ленина, 5 снова прорвало трубу, вода заливает подвал, никто не приезжает, безобразие',
    );
    // Another post's comment is not part of this discussion.
    vk.pushEvent(
      GROUP,
      vk.events.wallReplyNew({
        groupId: GROUP,
        postId: 301,
        fromId: 6106,
        text: 'Велодорожка вдоль набережной нужна',
      }),
    );
    const summary = await waitFor(
      async () => {
        const s = await api<{
          total: number;
          appeals: number;
          proposals: { count: number; example: { text: string } }[];
          bySentiment: { sentiment: string; count: number }[];
          comments: { text: string; incidentId: number | null }[];
        }>('GET', `/discussions/${id}/summary`, smm);
        return s.body.total === 6 && s.body.comments.every((c) => !/Ленина/.test(c.text) || c.incidentId)
          ? s.body
          : undefined;
      },
      { what: 'six VK comments to be collected', timeoutMs: 30_000 },
    );
    expect(summary.appeals).toBe(1);
    expect(summary.comments.filter((c) => c.incidentId !== null).map((c) => c.text)).toEqual([
      expect.stringMatching(/^Ужасно! На ул\. Ленина, 5/) as unknown,
    ]);
    expect(summary.proposals.map((p) => p.count)).toEqual([2, 2]);
    expect(summary.bySentiment.find((s) => s.sentiment === 'positive')!.count).toBeGreaterThanOrEqual(1);
    // Nothing was posted on VK for it, and the other post's comment was routed as usual.
    expect(vk.sent().some((s) => s.method === 'wall.createComment')).toBe(false);
    await waitFor(
      async () =>
        (
          await rows(`select 1 from messages where external_id like $1 and state = 'routed'`, [
            `wall-${GROUP}_301_r%`,
          ])
        ).length === 1,
    );
    const linked = await rows(
      `select 1 from discussion_messages dm join messages m on m.id = dm.message_id where m.external_id like $1`,
      [`wall-${GROUP}_301_r%`],
    );
    expect(linked).toHaveLength(0);
  });

  it('a poll is approved by someone other than its author; alone, the author may, and it is audited', async () => {
    const draft = {
      question: 'Нужен ли в Бийске второй пункт проката?',
      options: ['Да', 'Нет'],
      segmentId,
      channel: 'vk',
      closesAt: new Date(Date.now() + 3_600_000).toISOString(),
    };
    const curatorMember = await t.app.staff.create({
      login: 'curator.polls',
      name: 'curator.polls',
      grants: [{ role: 'curator' }],
    });
    const curator = await t.app.staff.issueToken(curatorMember.id, 'test');
    // Others may approve (the curator, the first admin): her own poll is not hers to approve — as with campaigns.
    const own = await api<{ id: number }>('POST', '/polls', head, draft);
    await api('POST', `/polls/${own.body.id}/submit`, head);
    const self = await api<{ error: string; message: string }>('POST', `/polls/${own.body.id}/approve`, head);
    expect(self.status).toBe(403);
    expect(self.body.error).toBe('POLL_SELF_APPROVAL');
    expect(self.body.message).toBe('Опрос утверждает другой сотрудник: автор не может утвердить свой опрос.');
    expect((await api<{ status: string }>('GET', `/polls/${own.body.id}`, head)).body.status).toBe(
      'pending_approval',
    );
    const byCurator = await api<{ poll: { status: string; approvedBy: string } }>(
      'POST',
      `/polls/${own.body.id}/approve`,
      curator,
    );
    expect(byCurator.status).toBe(200);
    expect(byCurator.body.poll).toMatchObject({ status: 'open', approvedBy: 'staff:curator.polls' });
    await api('POST', `/polls/${own.body.id}/close`, head);

    // Nobody else holds an approving role (the others are deactivated): the author may, and it is audited.
    const others = ['admin', 'curator.polls'];
    await rows(`update staff_users set active = false where login = any($1::text[])`, [others]);
    try {
      const alone = await api<{ id: number }>('POST', '/polls', head, { ...draft, question: 'Второй?' });
      await api('POST', `/polls/${alone.body.id}/submit`, head);
      const selfOk = await api<{ poll: { status: string } }>('POST', `/polls/${alone.body.id}/approve`, head);
      expect(selfOk.status).toBe(200);
      expect(selfOk.body.poll.status).toBe('open');
      const audit = await rows<{ action: string; actor: string }>(
        `select action, actor from audit_log where entity = 'poll' and entity_id = $1 order by id`,
        [String(alone.body.id)],
      );
      expect(audit.map((a) => [a.action, a.actor])).toEqual([
        ['poll.create', 'staff:head.polls'],
        ['poll.submit', 'staff:head.polls'],
        ['poll.approve', 'staff:head.polls'],
        ['poll.self_approve', 'staff:head.polls'],
      ]);
      await api('POST', `/polls/${alone.body.id}/close`, head);
    } finally {
      await rows(`update staff_users set active = true where login = any($1::text[])`, [others]);
    }
  });

  it('who unsubscribes or blocks the bot while a poll goes out does not get it; replies to appeals still go', async () => {
    const send = t.app.queues.get('send');
    // A long send: the poll's messages wait in the outbox (the send queue is held here).
    await send.pause();
    let id: number;
    try {
      id = await openPoll({
        question: 'Где поставить новые остановки?',
        options: ['У школы', 'У рынка'],
        segmentId,
        channel: 'all',
        mode: 'buttons',
        closesAt: new Date(Date.now() + 3_600_000).toISOString(),
      });
      const queued = await rows<{ status: string }>(
        `select status from outbound_messages where idempotency_key like $1`,
        [`poll:${id}:%`],
      );
      expect(queued.map((r) => r.status)).toEqual(Array(5).fill('pending'));
      // Анна sends /stop in Telegram, Зоя presses «Отписаться» in VK, Борис is found to have blocked the bot.
      tg.pushUpdate(BOT, tg.updates.privateText({ id: TG.anna.id, first_name: TG.anna.name }, '/stop'));
      vk.pushEvent(
        GROUP,
        vk.events.messageNew({
          fromId: VKU.zoya.id,
          text: 'Отписаться',
          payload: JSON.stringify({ d: 'unsub' }),
        }),
      );
      await rows(`update authors set blocked = true, blocked_at = now() where external_id = $1`, [
        String(TG.boris.id),
      ]);
      await waitFor(
        async () =>
          (
            await rows(`select 1 from authors where external_id = any($1::text[]) and not subscribed`, [
              [String(TG.anna.id), String(VKU.zoya.id)],
            ])
          ).length === 2,
        { what: 'Анна and Зоя to be unsubscribed' },
      );
      // An official reply to Анна's appeal, queued meanwhile: she gets it, subscribed or not.
      await queueOutbound(
        { outbound: createOutboundStore(t.app.database), queues: t.app.queues },
        {
          idempotencyKey: `test-reply:${id}`,
          sourceId: `telegram:${BOT_ID}`,
          chatId: String(TG.anna.id),
          text: 'Ответ по вашему обращению: остановку перенесут к школе.',
          purpose: 'reply',
        },
      );
    } finally {
      await send.resume();
    }

    await tg.waitForSent(
      (r) =>
        r.method === 'sendMessage' && r.text === 'Ответ по вашему обращению: остановку перенесут к школе.',
    );
    await tg.waitForSent(pollMessages(id), { timeoutMs: 15_000 });
    await vk.waitForSent(vkPollMessages(id), { timeoutMs: 15_000 });
    await new Promise((r) => setTimeout(r, 1500));
    // Only who stayed: Вера in Telegram, Илья in VK.
    expect(
      tg
        .sent()
        .filter(pollMessages(id))
        .map((r) => Number(r.chat_id)),
    ).toEqual([TG.vera.id]);
    expect(
      vk
        .sent()
        .filter(vkPollMessages(id))
        .map((s) => s.peer_id),
    ).toEqual([VKU.ilya.id]);
    const outbox = await rows<{ chat_id: string; status: string; last_error: string | null }>(
      `select chat_id, status, last_error from outbound_messages where idempotency_key like $1 order by chat_id`,
      [`poll:${id}:%`],
    );
    expect(Object.fromEntries(outbox.map((o) => [o.chat_id, [o.status, o.last_error]]))).toEqual({
      [String(TG.anna.id)]: ['skipped', 'получатель отписался до отправки'],
      [String(TG.boris.id)]: ['skipped', 'получатель заблокировал бота до отправки'],
      [String(TG.vera.id)]: ['sent', null],
      [String(VKU.zoya.id)]: ['skipped', 'получатель отписался до отправки'],
      [String(VKU.ilya.id)]: ['sent', null],
    });
    const res = await api<{ delivery: Record<string, number> }>('GET', `/polls/${id}/results`, analyst);
    expect(res.body.delivery).toEqual({ recipients: 5, sent: 2, failed: 0, pending: 0, skipped: 3 });
    await api('POST', `/polls/${id}/close`, smm);
    await rows(
      `update authors set subscribed = true, blocked = false, blocked_at = null where external_id = any($1::text[])`,
      [[String(TG.anna.id), String(TG.boris.id), String(VKU.zoya.id)]],
    );
  });
});

describe('poll buttons, recurring proposals and VK post links (pure)', () => {
  it('puts «Отписаться» under the vote buttons, on its own row while VK shows the keyboard inline', () => {
    const unsub = { text: 'Отписаться', data: 'unsub' };
    expect(pollButtons({ id: 7, options: ['Да', 'Нет'] })).toEqual([
      [{ text: 'Да', data: 'vote:7:0' }],
      [{ text: 'Нет', data: 'vote:7:1' }],
      [unsub],
    ]);
    // 6 to 10 options: it shares the last option's row (VK: inline up to 6 rows, else at most 10 rows).
    for (const count of [6, 10]) {
      const rows = pollButtons({
        id: 7,
        options: Array.from({ length: count }, (_, i) => `Вариант ${i + 1}`),
      });
      expect(rows).toHaveLength(count);
      expect(rows.at(-1)).toEqual([{ text: `Вариант ${count}`, data: `vote:7:${count - 1}` }, unsub]);
    }
  });

  it('groups comments sharing key terms, largest first, with an example each', () => {
    const c = (id: number, terms: string[]) => ({ id, text: `#${id}`, terms });
    const groups = recurringProposals([
      c(1, ['велодорожк', 'вдол', 'набережн', 'нужн']),
      c(2, ['скамеек', 'парк', 'урн']),
      c(3, ['сдела', 'велодорожк', 'вдол', 'набережн']),
      c(4, ['освещен', 'набережн', 'сдела']),
      c(5, ['велодорожк', 'набережн']),
      c(6, []),
    ]);
    expect(groups).toEqual([
      {
        count: 3,
        terms: ['велодорожк', 'набережн', 'вдол'],
        example: { id: 1, text: '#1' },
        messageIds: [1, 3, 5],
      },
    ]);
  });

  it('reads VK post links', () => {
    expect(vkPostId('https://vk.com/wall-777_300')).toBe('wall-777_300');
    expect(vkPostId('vk.com/wall-777_300?reply=5')).toBe('wall-777_300');
    expect(vkPostId('wall-777_300')).toBe('wall-777_300');
    expect(vkPostId('https://vk.com/club777')).toBeUndefined();
  });
});
