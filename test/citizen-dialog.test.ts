/**
 * The citizen dialog loses nothing a citizen sends, through the Telegram Bot API and VK API emulators with
 * real PostgreSQL, Redis and BullMQ: what comes while the bot asks for the municipality, photo albums, edited
 * messages, the satisfaction follow-up (comment in the timeline, a typed «не решено», new problems after a
 * rating) and the answer to a question of the agency.
 */
import { describe, expect, it } from 'vitest';
import type { SentRecord } from './emulators/telegram.ts';
import { buttonsOf, numberOf, sleep, useCitizenBots } from './citizen-bots.ts';
import { API_TOKEN, waitFor } from './helpers.ts';

const BOT = '700300100:AAdialog-bot-token-0123456789ab';
const GROUP = 777301;
const VK_TOKEN = 'vk1.a.test-dialog-community-token';

describe('citizen dialog: nothing a citizen sends is lost', () => {
  const { bots, q, mark, next, sentTo, push, press, citizen, vkCitizen, routed } = useCitizenBots({
    bot: BOT,
    username: 'cur_dialog_bot',
    group: GROUP,
    vkToken: VK_TOKEN,
    firstUser: 31_000,
  });

  async function message(id: number) {
    const [r] = await q<{
      text: string;
      state: string;
      declared_municipality: string | null;
      attachments: { type: string }[];
      incident_id: number | null;
      parent_external_id: string | null;
      external_id: string;
      raw: Record<string, unknown> | null;
    }>(
      `select text, state, declared_municipality, attachments, incident_id, parent_external_id, external_id, raw
       from messages where id = $1`,
      [id],
    );
    return r!;
  }

  const messagesOf = (user: { id: number }) =>
    q<{ id: number; text: string }>(
      `select m.id, m.text from messages m join authors a on a.id = m.author_id
       where a.platform = 'telegram' and a.external_id = $1 order by m.id`,
      [String(user.id)],
    );

  async function transition(incidentId: number, to: string, reason?: string) {
    const res = await fetch(`${bots.t.app.url}/api/v1/incidents/${incidentId}/transitions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(reason ? { to, reason } : { to }),
    });
    expect(res.status, `transition to ${to}`).toBe(200);
  }

  it('while the municipality is asked, a photo and further texts join the waiting appeal', async () => {
    const user = await citizen();
    let m = mark();
    push(bots.tg.updates.privateText(user, 'Во дворе огромная яма, машины не могут проехать к подъезду'));
    await next(user.id, m, /в каком городе или районе/);

    // A photo is kept with the appeal and the question stays.
    m = mark();
    push(bots.tg.updates.privatePhoto(user));
    const photo = await next(user.id, m, /Фото добавлено к вашему обращению/);
    expect(buttonsOf(photo).some((b) => b.callback_data === 'muni:skip')).toBe(true);

    // A sentence is not a place name to search for: it is added to the appeal.
    m = mark();
    const more = 'Яма глубиной около полуметра, рядом детская площадка, вчера в неё упал ребёнок';
    push(bots.tg.updates.privateText(user, more));
    await next(user.id, m, /Добавили это к вашему обращению/);
    expect(sentTo(user.id, m, /Не нашли/)).toHaveLength(0);

    // A short name that is no municipality is added too (a village, a street), and said so.
    m = mark();
    push(bots.tg.updates.privateText(user, 'Озёрки'));
    await next(user.id, m, /Не нашли «Озёрки».*добавили это к вашему обращению/s);

    // A town with an address settles it; the address is kept with the appeal.
    m = mark();
    push(bots.tg.updates.privateText(user, 'Бийск, улица Советская, 12'));
    const conf = await next(user.id, m, /зарегистрировано/);
    expect(conf.text).toContain('(Бийск)');
    const stored = await message(numberOf(conf.text!));
    expect(stored.declared_municipality).toBe('biysk');
    expect(stored.text).toBe(
      [
        'Во дворе огромная яма, машины не могут проехать к подъезду',
        more,
        'Озёрки',
        'Бийск, улица Советская, 12',
      ].join('\n\n'),
    );
    expect(stored.attachments.map((a) => a.type)).toEqual(['photo']);
    expect(await messagesOf(user)).toHaveLength(1);

    // A bare name is the answer only: nothing is added to the text.
    m = mark();
    push(bots.tg.updates.privateText(user, 'Не работает светофор на перекрёстке у рынка'));
    await next(user.id, m, /в каком городе или районе/);
    m = mark();
    push(bots.tg.updates.privateText(user, 'в Рубцовске'));
    const conf2 = await next(user.id, m, /зарегистрировано/);
    expect(conf2.text).toContain('(Рубцовск)');
    expect((await message(numberOf(conf2.text!))).text).toBe('Не работает светофор на перекрёстке у рынка');
  });

  it('a command during the question keeps the waiting appeal (/status) or registers it and says so (/subscribe)', async () => {
    const user = await citizen();
    let m = mark();
    const appeal = bots.tg.updates.privateText(user, 'Третий день нет горячей воды во всём доме');
    push(appeal);
    await next(user.id, m, /в каком городе или районе/);

    m = mark();
    push(bots.tg.updates.privateText(user, '/status'));
    await next(user.id, m, /У вас пока нет обращений/);
    const reminder = await next(user.id, m, /ещё не зарегистрировано/);
    expect(buttonsOf(reminder).some((b) => b.callback_data === 'muni:skip')).toBe(true);
    expect(await messagesOf(user)).toHaveLength(0);

    m = mark();
    push(bots.tg.updates.privateText(user, '/subscribe'));
    const conf = await next(user.id, m, /зарегистрировали его без указания города или района/);
    expect(conf.text).toMatch(/обращение № \d{6} зарегистрировано/);
    await next(user.id, m, /темы новостей/);
    const stored = await message(numberOf(conf.text!));
    expect(stored.text).toBe('Третий день нет горячей воды во всём доме');
    expect(stored.declared_municipality).toBeNull();
    const appealMsg = appeal.message as { message_id: number };
    expect(stored.external_id).toBe(`${user.id}:${appealMsg.message_id}`);
  });

  it('an album is one appeal with one acknowledgement; its photos never join the next appeal', async () => {
    const user = await citizen();
    // The caption on the first photo (as Telegram's apps send it): the appeal is registered at once and
    // the other photos join it.
    let m = mark();
    for (const u of bots.tg.updates.privateAlbum(user, 3, {
      caption: 'В Барнауле на улице Малахова, 12 разбита дорога, огромные ямы',
    }))
      push(u);
    const conf = await next(user.id, m, /зарегистрировано/);
    const id = numberOf(conf.text!);
    await waitFor(async () => ((await message(id)).attachments.length === 3 ? true : undefined), {
      what: 'three photos on the appeal',
    });
    await sleep(800);
    expect(sentTo(user.id, m, /./)).toHaveLength(1);
    expect(await messagesOf(user)).toHaveLength(1);

    m = mark();
    push(bots.tg.updates.privateText(user, 'В Бийске на улице Ленина, 5 третий день не вывозят мусор'));
    const conf2 = await next(user.id, m, /зарегистрировано/);
    expect((await message(numberOf(conf2.text!))).attachments).toEqual([]);

    // An album without a caption: one «Фото получено», and the words that follow take all the photos.
    m = mark();
    for (const u of bots.tg.updates.privateAlbum(user, 2)) push(u);
    await next(user.id, m, /Фото получено/);
    await sleep(800);
    expect(sentTo(user.id, m, /Фото получено/)).toHaveLength(1);
    m = mark();
    push(bots.tg.updates.privateText(user, 'В Заринске на улице Металлургов, 3 упало дерево на провода'));
    const conf3 = await next(user.id, m, /зарегистрировано/);
    expect((await message(numberOf(conf3.text!))).attachments.map((a) => a.type)).toEqual(['photo', 'photo']);

    // The caption on a later item: the photos before it are kept, one acknowledgement for the album.
    m = mark();
    for (const u of bots.tg.updates.privateAlbum(user, 3, {
      caption: 'В Новоалтайске на улице Деповской, 7 прорвало трубу',
      captionIndex: 1,
    }))
      push(u);
    const conf4 = await next(user.id, m, /зарегистрировано/);
    const id4 = numberOf(conf4.text!);
    await waitFor(async () => ((await message(id4)).attachments.length === 3 ? true : undefined), {
      what: 'three photos on the last appeal',
    });
    await sleep(500);
    expect(sentTo(user.id, m, /Фото получено/)).toHaveLength(1);
    expect(await messagesOf(user)).toHaveLength(4);
  });

  it('an edit of a stored message is recorded, the earlier text kept, nothing registered anew', async () => {
    const user = await citizen();
    let m = mark();
    const original = 'В Бийске на улице Ленина, 5 не горят фонари';
    const update = bots.tg.updates.privateText(user, original);
    push(update);
    const conf = await next(user.id, m, /зарегистрировано/);
    const id = numberOf(conf.text!);
    const incidentId = await routed(id);

    m = mark();
    const fixed = 'В Бийске на улице Ленина, 7 не горят фонари уже неделю';
    push(bots.tg.updates.edited(update, fixed));
    const saved = await next(user.id, m, /Исправление сохранено/);
    expect(saved.text).toContain(`№ ${String(id).padStart(6, '0')}`);
    const stored = await message(id);
    expect(stored.text).toBe(fixed);
    expect(stored.raw?.edits).toEqual([
      expect.objectContaining({
        previousText: original,
        externalId: `${user.id}:${(update.message as { message_id: number }).message_id}`,
      }),
    ]);
    expect(await messagesOf(user)).toHaveLength(1);
    expect(sentTo(user.id, m, /зарегистрировано/)).toHaveLength(0);
    const events = await q<{ type: string; actor: string; data: { messageId: number } }>(
      `select type, actor, data from incident_events where incident_id = $1 and type = 'message_edited'`,
      [incidentId],
    );
    expect(events).toEqual([{ type: 'message_edited', actor: 'citizen', data: { messageId: id } }]);

    // An edit of a message still waiting for its municipality changes the appeal before it is stored.
    m = mark();
    const waiting = bots.tg.updates.privateText(user, 'Нет воды в доме с утра');
    push(waiting);
    await next(user.id, m, /в каком городе или районе/);
    push(bots.tg.updates.edited(waiting, 'Нет холодной воды в доме с утра'));
    await sleep(500);
    m = mark();
    push(bots.tg.updates.privateText(user, 'Бийск'));
    const conf2 = await next(user.id, m, /зарегистрировано/);
    expect((await message(numberOf(conf2.text!))).text).toBe('Нет холодной воды в доме с утра');

    // A channel post under monitoring: its edit changes the stored post.
    const channel = { id: -1001234599001, title: 'Новости Заринска' };
    const post = bots.tg.updates.channelPost(channel, 'В Заринске на улице Союза Республик прорвало трубу');
    push(post);
    const postId = (post.channel_post as { message_id: number }).message_id;
    const external = `${channel.id}:${postId}`;
    await waitFor(
      async () =>
        (await q(`select 1 from messages where external_id = $1`, [external])).length ? true : undefined,
      { what: 'the channel post stored' },
    );
    push(bots.tg.updates.edited(post, 'В Заринске на улице Союза Республик, 10 прорвало трубу, воды нет'));
    const [edited] = await waitFor(async () => {
      const r = await q<{ text: string; raw: { edits?: { previousText: string }[] } }>(
        `select text, raw from messages where external_id = $1`,
        [external],
      );
      return r[0]?.raw?.edits?.length ? r : undefined;
    });
    expect(edited!.text).toBe('В Заринске на улице Союза Республик, 10 прорвало трубу, воды нет');
    expect(edited!.raw.edits![0]!.previousText).toBe('В Заринске на улице Союза Республик прорвало трубу');
  });

  it('VK: message_edit of an appeal is recorded, nothing registered anew', async () => {
    const u = 88_001;
    const { say, vmark, reply } = await vkCitizen(u);
    let m: number;
    m = vmark();
    const ev = say('В Рубцовске на улице Светлова, 40 не работает лифт') as {
      object: Record<string, unknown>;
    };
    const conf = await reply(m, /зарегистрировано/);
    const id = numberOf(conf.message);
    m = vmark();
    bots.vk.pushEvent(
      GROUP,
      bots.vk.events.messageEdit(ev, 'В Рубцовске на улице Светлова, 42 не работает лифт'),
    );
    await reply(m, /Исправление сохранено/);
    const stored = await message(id);
    expect(stored.text).toBe('В Рубцовске на улице Светлова, 42 не работает лифт');
    expect(stored.raw?.edits).toEqual([
      expect.objectContaining({ previousText: 'В Рубцовске на улице Светлова, 40 не работает лифт' }),
    ]);
    const [n] = await q<{ n: number }>(
      `select count(*)::int as n from messages m join authors a on a.id = m.author_id
       where a.platform = 'vk' and a.external_id = $1`,
      [String(u)],
    );
    expect(n!.n).toBe(1);
  });

  it('satisfaction: a typed «не решено» reopens; the comment reaches the timeline; later texts are appeals', async () => {
    const user = await citizen();
    let m = mark();
    push(bots.tg.updates.privateText(user, 'В Барнауле на улице Попова, 100 третий день нет горячей воды'));
    const conf = await next(user.id, m, /зарегистрировано/);
    const incidentId = await routed(numberOf(conf.text!));
    const resolve = async () => {
      const [inc] = await q<{ status: string }>(`select status from incidents where id = $1`, [incidentId]);
      if (inc!.status === 'new') await transition(incidentId, 'assigned');
      await transition(incidentId, 'in_progress');
      const before = mark();
      await transition(incidentId, 'resolved');
      return next(user.id, before, /Оцените, пожалуйста/);
    };
    const rate = async (survey: SentRecord, score: number) => {
      const b = buttonsOf(survey).find((x) => x.text === String(score))!;
      press(user, b.callback_data, survey);
    };

    // A low score, then «нет, не решено» in words: reopened like the button does.
    let survey = await resolve();
    m = mark();
    await rate(survey, 2);
    const solvedQuestion = await next(user.id, m, /проблема решена\?/);
    m = mark();
    push(bots.tg.updates.privateText(user, 'нет, не решено'));
    await next(user.id, m, /возобновлено/);
    const [reopened] = await q<{ status: string }>(`select status from incidents where id = $1`, [
      incidentId,
    ]);
    expect(reopened!.status).toBe('reopened');
    // The «Не решено» button of that question pressed afterwards: noted, not thanked for as a rating, and
    // nothing reopened twice.
    m = mark();
    const notSolved = buttonsOf(solvedQuestion).find((b) => /:no:/.test(b.callback_data))!;
    press(user, notSolved.callback_data, solvedQuestion);
    const noted = await next(user.id, m, /не решена|оценку/);
    expect(noted.text).toMatch(/мы учли, что проблема не решена/);
    const reopenEvents = await q(
      `select 1 from incident_events where incident_id = $1 and type = 'status_changed' and to_status = 'reopened'`,
      [incidentId],
    );
    expect(reopenEvents).toHaveLength(1);
    const [sat] = await q<{ unresolved: boolean; comment: string | null }>(
      `select unresolved, comment from satisfaction where incident_id = $1`,
      [incidentId],
    );
    expect(sat).toEqual({ unresolved: true, comment: null });

    // A rating, then a text that reads like a new problem: a new appeal, not the comment.
    survey = await resolve();
    m = mark();
    await rate(survey, 4);
    await next(user.id, m, /напишите комментарий/);
    m = mark();
    push(bots.tg.updates.privateText(user, 'В Бийске на улице Ленина, 5 не горят фонари'));
    const other = await next(user.id, m, /зарегистрировано/);
    expect(other.text).toContain('(Бийск)');
    expect(sentTo(user.id, m, /комментарий сохранён/)).toHaveLength(0);

    // Asked again: the next text is the comment; it goes to the incident's timeline, and staff see it.
    m = mark();
    await rate(survey, 5);
    await next(user.id, m, /напишите комментарий/);
    m = mark();
    push(bots.tg.updates.privateText(user, 'Спасибо, всё сделали быстро'));
    await next(user.id, m, /комментарий сохранён в карточке обращения/);
    const res = await fetch(`${bots.t.app.url}/api/v1/incidents/${incidentId}`, {
      headers: { authorization: `Bearer ${API_TOKEN}` },
    });
    const body = (await res.json()) as {
      events: { type: string; actor: string; data: Record<string, unknown> }[];
    };
    const comment = body.events.find((e) => e.type === 'satisfaction_comment');
    expect(comment).toMatchObject({
      actor: 'citizen',
      data: { comment: 'Спасибо, всё сделали быстро', score: 5 },
    });

    // What comes after the comment was taken is not swallowed: it is a new appeal.
    m = mark();
    push(bots.tg.updates.privateText(user, 'Когда покрасят забор у школы? Он весь облупился'));
    await next(user.id, m, /в каком городе или районе/);
    const [after] = await q<{ comment: string }>(`select comment from satisfaction where incident_id = $1`, [
      incidentId,
    ]);
    expect(after!.comment).toBe('Спасибо, всё сделали быстро');

    // A low score, a comment typed instead of an answer, then «нет» typed: the question stayed open, so the
    // «нет» reopens (it is not a new appeal «нет»), and the comment is not asked for again.
    m = mark();
    push(bots.tg.updates.privateText(user, 'Барнаул')); // the fence appeal's municipality: registered, dialog free
    await next(user.id, m, /зарегистрировано/);
    await transition(incidentId, 'reopened', 'Повторная проверка');
    survey = await resolve();
    m = mark();
    await rate(survey, 1);
    await next(user.id, m, /проблема решена\?/);
    m = mark();
    push(bots.tg.updates.privateText(user, 'Сделали кое-как, вода еле тёплая'));
    await next(user.id, m, /проблема решена\?/);
    m = mark();
    push(bots.tg.updates.privateText(user, 'нет'));
    await next(user.id, m, /возобновлено/);
    expect(sentTo(user.id, m, /в каком городе или районе/)).toHaveLength(0);
    const [again] = await q<{ status: string }>(`select status from incidents where id = $1`, [incidentId]);
    expect(again!.status).toBe('reopened');
  });

  it('an answer to «Нужны уточнения» joins that appeal: its number, no new deadlines', async () => {
    const user = await citizen();
    let m = mark();
    push(bots.tg.updates.privateText(user, 'В Барнауле на улице Малахова, 12 огромная яма на дороге'));
    const conf = await next(user.id, m, /зарегистрировано/);
    const id = numberOf(conf.text!);
    const incidentId = await routed(id);
    // The state a sent question leaves (the draft approval itself is covered by the workflow test).
    expect(await bots.t.app.incidents.pause(incidentId, 'staff:test')).toBe(true);

    m = mark();
    push(bots.tg.updates.privateText(user, 'У второго подъезда, прямо у входа'));
    const added = await next(user.id, m, /добавлено к обращению/);
    expect(added.text).toContain(`№ ${String(id).padStart(6, '0')}`);
    expect(added.text).not.toMatch(/Первый ответ|срок рассмотрения/);
    expect(added.reply_to_message_id).toBeDefined();
    const answers = (await messagesOf(user)).filter((x) => x.id !== id);
    expect(answers).toHaveLength(1);
    const answerIncident = await routed(answers[0]!.id);
    expect(answerIncident).toBe(incidentId);
    expect((await message(answers[0]!.id)).parent_external_id).toBe((await message(id)).external_id);
    await waitFor(async () => {
      const [r] = await q<{ paused_at: Date | null }>(`select paused_at from incidents where id = $1`, [
        incidentId,
      ]);
      return r!.paused_at === null;
    });

    // /status lists the appeal once, not the answer as an appeal of its own.
    m = mark();
    push(bots.tg.updates.privateText(user, '/status'));
    const st = await next(user.id, m, /Ваши обращения/);
    expect(st.text).toContain(`№ ${String(id).padStart(6, '0')}`);
    expect(st.text).not.toContain(`№ ${String(answers[0]!.id).padStart(6, '0')}`);
  });
});
