/**
 * The loop the center lives in, through the Telegram Bot API emulator and real PostgreSQL/Redis/BullMQ:
 * a citizen's appeal → a card in the agency's chat → «Принять» → a draft → SMM approval → the reply in the
 * citizen's chat → «Решено» with a result → the satisfaction question → a low score reopens. Also: only
 * staff whose role and scope cover the incident can act; a breach escalates exactly once; reminders at
 * 50 and 80 %; a question to the citizen stops the clock until they answer; retries never send twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  nextMessage,
  startTelegramEmulator,
  type SentRecord,
  type TelegramEmulator,
} from './emulators/telegram.ts';
import { API_TOKEN, startTestApp, waitFor, type TestApp } from './helpers.ts';

const CITIZEN_BOT = '700200100:AAcitizen-bot-token-0123456789';
const STAFF_BOT = '700200200:AAstaff-bot-token-01234567890';
const STAFF_CHAT = -1009000001;

type Keyboard = { inline_keyboard: { text: string; callback_data: string }[][] };
const buttonsOf = (r: SentRecord) => ((r.reply_markup as Keyboard | undefined)?.inline_keyboard ?? []).flat();

describe('incident workflow', () => {
  let tg: TelegramEmulator;
  let t: TestApp;
  let smmToken: string;
  let headToken: string;
  let incidentId: number;
  let card: SentRecord;
  const citizen = { id: 5551, first_name: 'Наталья' };
  const operator = { id: 7001, first_name: 'Олег', last_name: 'Петров' };
  const outsider = { id: 7002, first_name: 'Чужой' };

  const q = <T>(sql: string, params: unknown[] = []) => t.app.database.query<T>(sql, params);
  const api = async (method: string, path: string, token: string, body?: unknown) => {
    const res = await fetch(`${t.app.url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return {
      status: res.status,
      body: (await res.json()) as Record<string, unknown> & { items?: unknown[] },
    };
  };
  const mark = () => tg.sent().length;
  const next = (token: string, chat: number, after: number, match?: RegExp) =>
    nextMessage(tg, token, chat, after, match);
  const press = (user: { id: number; first_name: string }, data: string, msg: SentRecord) =>
    tg.pushUpdate(
      STAFF_BOT,
      tg.updates.callback(user, data, { chat_id: STAFF_CHAT, message_id: msg.message_id }),
    );
  const events = async (types: string[]) =>
    q<{ type: string; actor: string; data: Record<string, unknown> }>(
      `select type, actor, data from incident_events where incident_id = $1 and type = any($2) order by id`,
      [incidentId, types],
    );

  beforeAll(async () => {
    tg = await startTelegramEmulator();
    tg.addBot(CITIZEN_BOT, { username: 'cur_citizen_bot' });
    tg.addBot(STAFF_BOT, { username: 'cur_staff_bot' });
    t = await startTestApp({
      roles: ['api', 'workers', 'connectors'],
      listen: true,
      env: {
        TELEGRAM_BOT_TOKEN: CITIZEN_BOT,
        STAFF_BOT_TOKEN: STAFF_BOT,
        TELEGRAM_API_ROOT: tg.url,
        TELEGRAM_POLL_TIMEOUT_S: '1',
        TELEGRAM_RATE_PER_CHAT_MS: '200',
        DIGEST_HOUR: '23', // keep the morning digest out of this test's chat
        CARD_REFRESH_WINDOW_MS: '1000',
      },
    });
    // Every agency and sector block works in one staff chat here.
    await q(`update agencies set telegram_chat_id = $1`, [String(STAFF_CHAT)]);
    await q(`update sector_blocks set telegram_chat_id = $1`, [String(STAFF_CHAT)]);
    t.app.reference.invalidate();
  });
  afterAll(async () => {
    await t?.close();
    await tg?.close();
  });

  it('an appeal reaches the responsible chat as a card with buttons', async () => {
    let m = mark();
    tg.pushUpdate(CITIZEN_BOT, tg.updates.privateText(citizen, '/start'));
    const greeting = await next(CITIZEN_BOT, citizen.id, m, /152-ФЗ/);
    m = mark();
    tg.pushUpdate(
      CITIZEN_BOT,
      tg.updates.callback(citizen, 'consent:yes', { chat_id: citizen.id, message_id: greeting.message_id }),
    );
    await next(CITIZEN_BOT, citizen.id, m, /согласие получено/);
    m = mark();
    tg.pushUpdate(
      CITIZEN_BOT,
      tg.updates.privateText(
        citizen,
        'В Барнауле на улице Малахова, 12 огромная яма на дороге, машины бьют колёса',
      ),
    );
    await next(CITIZEN_BOT, citizen.id, m, /зарегистрировано/);
    card = await next(STAFF_BOT, STAFF_CHAT, 0, /^Инцидент № \d{6}/);
    incidentId = Number(/№ (\d{6})/.exec(card.text!)![1]);
    expect(card.text).toContain('Сфера: Дороги');
    expect(card.text).toContain('Территория: Барнаул');
    expect(card.text).toMatch(/Тональность: негативных \d+ из 1/);
    expect(card.text).toContain(`/#/incidents/${incidentId}`); // the workspace routes on the hash
    expect(buttonsOf(card).map((b) => b.text)).toEqual([
      'Принять',
      'В работе',
      'Решено',
      'Не наша компетенция',
      'Нужны уточнения',
    ]);
    // Staff of this incident's sector; an outsider of another sector; SMM and a head with API tokens.
    const [inc] = await q<{ sector: string; agency_id: string }>(
      `select sector, agency_id from incidents where id = $1`,
      [incidentId],
    );
    await t.app.staff.create({
      login: 'petrov',
      name: 'Олег Петров',
      telegramUserId: String(operator.id),
      grants: [{ role: 'sector_responsible', sector: inc!.sector }],
    });
    await t.app.staff.create({
      login: 'outsider',
      name: 'Чужой',
      telegramUserId: String(outsider.id),
      grants: [{ role: 'sector_responsible', sector: 'health' }],
    });
    await t.app.staff.create({
      login: 'head-roads',
      name: 'Руководитель блока',
      telegramUserId: '7008',
      grants: [{ role: 'sector_head', sector: inc!.sector }],
    });
    await t.app.staff.create({
      login: 'curator',
      name: 'Куратор',
      telegramUserId: '7009',
      grants: [{ role: 'curator' }],
    });
    const smm = await t.app.staff.create({ login: 'smm1', name: 'Анна SMM', grants: [{ role: 'smm' }] });
    const head = await t.app.staff.create({
      login: 'head1',
      name: 'Руководитель ЦУР',
      grants: [{ role: 'center_head' }],
    });
    smmToken = await t.app.staff.issueToken(smm.id, 'test');
    headToken = await t.app.staff.issueToken(head.id, 'test');
  });

  it('someone outside the block cannot act: an alert to them, nothing changes', async () => {
    const before = await events(['accepted', 'status_changed']);
    press(outsider, `inc:${incidentId}:accept`, card);
    await waitFor(async () =>
      tg
        .calls(STAFF_BOT)
        .find((c) => c.method === 'answerCallbackQuery' && /нет прав/.test(String(c.params.text))),
    );
    const answer = tg
      .calls(STAFF_BOT)
      .find((c) => c.method === 'answerCallbackQuery' && /нет прав/.test(String(c.params.text)));
    expect(answer!.params.show_alert).toBe(true);
    expect(await events(['accepted', 'status_changed'])).toEqual(before);
  });

  it("«Принять» by the block's staff is recorded and the card is updated in place", async () => {
    const m = mark();
    press(operator, `inc:${incidentId}:accept`, card);
    await next(STAFF_BOT, STAFF_CHAT, m, /принят: Олег Петров/);
    const accepted = await events(['accepted']);
    expect(accepted.map((e) => e.actor)).toEqual(['staff:petrov']);
    await waitFor(async () =>
      tg
        .calls(STAFF_BOT)
        .find((c) => c.method === 'editMessageText' && c.params.message_id === card.message_id),
    );
  });

  it('SMM approves the acknowledgement draft; the citizen gets it once, in their chat, with the platform id stored', async () => {
    const list = await waitFor(async () => {
      const r = await api('GET', `/drafts?incident=${incidentId}`, smmToken);
      return (
        r.body.items as
          { id: number; kind: string; text: string; checks: { name: string; ok: boolean }[] }[] | undefined
      )?.find((d) => d.kind === 'acknowledgement');
    });
    const draft = list;
    expect(draft.text).toMatch(/№ \d{6}/);
    expect(draft.checks.map((c) => c.name).sort()).toEqual([
      'object_mentioned',
      'polite',
      'promise_has_date',
      'slots_filled',
    ]);
    // A role that is not SMM cannot approve.
    const notSmm = await t.app.staff.create({
      login: 'analyst1',
      name: 'Аналитик',
      grants: [{ role: 'analyst' }],
    });
    const analystToken = await t.app.staff.issueToken(notSmm.id, 'x');
    expect((await api('POST', `/drafts/${draft.id}/approve`, analystToken, {})).status).toBe(403);
    expect((await api('POST', `/drafts/${draft.id}/approve`, 'stf_forged', {})).status).toBe(401);

    const m = mark();
    const text = `${draft.text} Дополнительно: ремонт покрытия на ул. Малахова, 12 включён в план.`;
    const ok = await api('POST', `/drafts/${draft.id}/approve`, smmToken, { text, acceptFailedChecks: true });
    expect(ok.status).toBe(200);
    expect(ok.body.status).toBe('sent');
    const reply = await next(CITIZEN_BOT, citizen.id, m, /^Ответ по обращению/);
    expect(reply.text).toContain('Дополнительно: ремонт покрытия');
    expect(reply.reply_to_message_id).toBeDefined();
    // Approving again is refused; the citizen still has exactly one copy.
    expect((await api('POST', `/drafts/${draft.id}/approve`, smmToken, {})).status).toBe(409);
    await new Promise((r) => setTimeout(r, 500));
    expect(
      tg
        .sent(CITIZEN_BOT)
        .filter((r) => r.chat_id === String(citizen.id) && /Дополнительно: ремонт/.test(r.text ?? '')),
    ).toHaveLength(1);
    const one = await waitFor(async () => {
      const r = await api('GET', `/drafts/${draft.id}`, smmToken);
      const d = r.body.deliveries as { status: string; externalId: string }[];
      return d.length && d.every((x) => x.status === 'sent') ? r.body : undefined;
    });
    expect((one.deliveries as { externalId: string }[])[0]!.externalId).toBe(
      `${citizen.id}:${reply.message_id}`,
    );
    expect(one.originalText).toBe(draft.text);
    const [inc] = await q<{ first_responded_at: Date | null }>(
      `select first_responded_at from incidents where id = $1`,
      [incidentId],
    );
    expect(inc!.first_responded_at).not.toBeNull();
  });

  it('an approval whose process died before the reply was queued is finished by the sweeper, once', async () => {
    // The state a SIGKILL leaves between the two steps of an approval: the draft is decided (`sent`), no
    // message to the citizen was queued. Written here directly: the window is a few milliseconds wide.
    const [row] = await q<{ id: number }>(
      `insert into reply_drafts (incident_id, key, kind, text, status, approvals, decided_by, decided_at, sent_at)
       values ($1, $2, 'in_progress', $3, 'sent', $4, 'staff:smm1', now() - interval '5 minutes',
               now() - interval '5 minutes') returning id`,
      [
        incidentId,
        `${incidentId}:crash-test`,
        'Работы по ремонту ямы на ул. Малахова, 12 начнутся на этой неделе.',
        JSON.stringify([{ actor: 'staff:smm1', at: new Date().toISOString() }]),
      ],
    );
    const m = mark();
    await t.app.sweeper!.sweep();
    const reply = await next(CITIZEN_BOT, citizen.id, m, /начнутся на этой неделе/);
    expect(reply.text).toMatch(/^Ответ по обращению/);
    const [d] = await q<{ delivered_at: Date | null }>(
      `select delivered_at from reply_drafts where id = $1`,
      [row!.id],
    );
    expect(d!.delivered_at).not.toBeNull();
    // Another pass (or another worker's) changes nothing: the citizen has one copy.
    await t.app.sweeper!.sweep();
    await new Promise((r) => setTimeout(r, 700));
    expect(
      tg
        .sent(CITIZEN_BOT)
        .filter((r) => r.chat_id === String(citizen.id) && /начнутся на этой неделе/.test(r.text ?? '')),
    ).toHaveLength(1);
    expect((await events(['reply_approved'])).filter((e) => e.data.draftId === row!.id)).toHaveLength(1);
  });
  it('«Решено» asks for the result; the citizen is asked to rate; a low score with «не решено» reopens', async () => {
    let m = mark();
    press(operator, `inc:${incidentId}:done`, card);
    await next(STAFF_BOT, STAFF_CHAT, m, /опишите кратко/);
    m = mark();
    tg.pushUpdate(
      STAFF_BOT,
      tg.updates.groupMessage(
        { id: STAFF_CHAT, title: 'Дороги' },
        operator,
        'Яма заделана асфальтобетоном 27 ноября.',
      ),
    );
    await next(STAFF_BOT, STAFF_CHAT, m, /решён: Яма заделана/);
    const [resolved] = await q<{ status: string; result: string }>(
      `select status, result from incidents where id = $1`,
      [incidentId],
    );
    expect(resolved).toEqual({ status: 'resolved', result: 'Яма заделана асфальтобетоном 27 ноября.' });
    const survey = await next(CITIZEN_BOT, citizen.id, m, /Оцените, пожалуйста/);
    expect(survey.text).toContain('Результат: Яма заделана');
    expect(buttonsOf(survey).map((b) => b.text)).toEqual(['1', '2', '3', '4', '5']);
    // A «resolved» draft was prepared for SMM with the result in it.
    const resolvedDraft = await waitFor(async () =>
      (
        (await api('GET', `/drafts?incident=${incidentId}`, smmToken)).body.items as {
          kind: string;
          text: string;
        }[]
      ).find((d) => d.kind === 'resolved'),
    );
    expect(resolvedDraft.text).toContain('Яма заделана');

    m = mark();
    tg.pushUpdate(
      CITIZEN_BOT,
      tg.updates.callback(citizen, buttonsOf(survey)[1]!.callback_data, {
        chat_id: citizen.id,
        message_id: survey.message_id,
      }),
    );
    const ask = await next(CITIZEN_BOT, citizen.id, m, /проблема решена\?/);
    m = mark();
    tg.pushUpdate(
      CITIZEN_BOT,
      tg.updates.callback(citizen, buttonsOf(ask).find((b) => b.text === 'Не решено')!.callback_data, {
        chat_id: citizen.id,
        message_id: ask.message_id,
      }),
    );
    await next(CITIZEN_BOT, citizen.id, m, /возобновлено/);
    await next(STAFF_BOT, STAFF_CHAT, m, /возобновлён: заявитель сообщил/);
    const [reopened] = await q<{ status: string }>(`select status from incidents where id = $1`, [
      incidentId,
    ]);
    expect(reopened!.status).toBe('reopened');
    const [score] = await q<{ score: number; unresolved: boolean }>(
      `select score, unresolved from satisfaction where incident_id = $1`,
      [incidentId],
    );
    expect(score).toEqual({ score: 2, unresolved: true });
  });

  it('a sensitive incident needs a second approval by another person', async () => {
    await q(`update incidents set sensitive = true where id = $1`, [incidentId]);
    await t.app.workflow.queueDraft(incidentId, 'in_progress', `${incidentId}:in_progress:test`, {
      date: '5 декабря 2026 г.',
    });
    const d = await waitFor(async () =>
      (
        (await api('GET', `/drafts?incident=${incidentId}`, smmToken)).body.items as {
          id: number;
          kind: string;
          requiresSecondApproval: boolean;
        }[]
      ).find((x) => x.kind === 'in_progress'),
    );
    expect(d.requiresSecondApproval).toBe(true);
    const first = await api('POST', `/drafts/${d.id}/approve`, smmToken, { acceptFailedChecks: true });
    expect(first.body.status).toBe('approved_once');
    const same = await api('POST', `/drafts/${d.id}/approve`, smmToken, { acceptFailedChecks: true });
    expect(same.status).toBe(403);
    const m = mark();
    const second = await api('POST', `/drafts/${d.id}/approve`, headToken, { acceptFailedChecks: true });
    expect(second.body.status).toBe('sent');
    await next(CITIZEN_BOT, citizen.id, m, /^Ответ по обращению/);
  });

  it('a question to the citizen stops the clock until they answer', async () => {
    let m = mark();
    press(operator, `inc:${incidentId}:details`, card);
    await next(STAFF_BOT, STAFF_CHAT, m, /что нужно уточнить/);
    tg.pushUpdate(
      STAFF_BOT,
      tg.updates.groupMessage(
        { id: STAFF_CHAT, title: 'Дороги' },
        operator,
        'Уточните, пожалуйста, у какого подъезда яма?',
      ),
    );
    const d = await waitFor(async () =>
      (
        (await api('GET', `/drafts?incident=${incidentId}`, smmToken)).body.items as {
          id: number;
          kind: string;
          text: string;
        }[]
      ).find((x) => x.kind === 'details_request'),
    );
    expect(d.text).toContain('у какого подъезда');
    m = mark();
    await api('POST', `/drafts/${d.id}/approve`, smmToken, { acceptFailedChecks: true });
    await api('POST', `/drafts/${d.id}/approve`, headToken, { acceptFailedChecks: true }); // sensitive: second approval
    await next(CITIZEN_BOT, citizen.id, m, /у какого подъезда/);
    const [paused] = await q<{ paused_at: Date | null }>(`select paused_at from incidents where id = $1`, [
      incidentId,
    ]);
    expect(paused!.paused_at).not.toBeNull();
    m = mark();
    tg.pushUpdate(CITIZEN_BOT, tg.updates.privateText(citizen, 'У второго подъезда, прямо у входа'));
    await next(CITIZEN_BOT, citizen.id, m, /зарегистрировано/);
    await waitFor(
      async () => {
        const [r] = await q<{ paused_at: Date | null }>(`select paused_at from incidents where id = $1`, [
          incidentId,
        ]);
        return r!.paused_at === null;
      },
      { what: 'the clock to restart' },
    );
    const [inc] = await q<{ pauses: unknown[] }>(`select pauses from incidents where id = $1`, [incidentId]);
    expect(inc!.pauses).toHaveLength(1);
    expect((await events(['sla_paused', 'sla_resumed'])).map((e) => e.type)).toEqual([
      'sla_paused',
      'sla_resumed',
    ]);
    // The answer joined the same incident.
    const [joined] = await q<{ n: number }>(
      `select count(*)::int as n from messages where incident_id = $1`,
      [incidentId],
    );
    expect(joined!.n).toBe(2);
    // A later official reply reaches the citizen once, though they now have two messages in the incident.
    m = mark();
    const r = await api('POST', `/incidents/${incidentId}/replies`, API_TOKEN, {
      text: 'Яму у второго подъезда засыплют до конца недели.',
      key: 'after-the-answer',
    });
    expect(r.status).toBe(202);
    await next(CITIZEN_BOT, citizen.id, m, /засыплют до конца недели/);
    await new Promise((res) => setTimeout(res, 700));
    expect(
      tg
        .sent(CITIZEN_BOT)
        .filter((x) => x.chat_id === String(citizen.id) && /засыплют до конца недели/.test(x.text ?? '')),
    ).toHaveLength(1);
  });

  it('reminders at 50 % and 80 % of the deadline, each once', async () => {
    await q(
      `update incidents set created_at = now() - interval '6 hours', first_responded_at = null, first_response_due = now() + interval '4 hours' where id = $1`,
      [incidentId],
    );
    const run = async () => {
      await t.app.queues.get('sla-watch').add('sla-watch', {});
      await new Promise((r) => setTimeout(r, 800));
    };
    await run();
    await run();
    await q(`update incidents set first_response_due = now() + interval '1 hour' where id = $1`, [
      incidentId,
    ]);
    await run();
    await run();
    const reminders = await waitFor(async () => {
      const r = (await t.app.outbox.notifications(incidentId)).filter((n) => n.kind === 'sla_reminder');
      return r.length >= 2 ? r : undefined;
    });
    expect(reminders.map((r) => /прошло (\d+) %/.exec(r.text)![1])).toEqual(['50', '80']);
    await tg.waitForSent((r) => r.token === STAFF_BOT && /прошло 80 %/.test(r.text ?? ''));
  });

  it('a breach escalates exactly once: to the block chat and personally to its head and the curator', async () => {
    await q(`update incidents set resolution_due = now() - interval '1 hour' where id = $1`, [incidentId]);
    for (let i = 0; i < 3; i++) {
      await t.app.queues.get('sla-watch').add('sla-watch', {});
      await new Promise((r) => setTimeout(r, 700));
    }
    const sent = await tg.waitForSent(
      // «…, просрочен срок»: not the morning digest («…, просрочено 0.»), which a working day may bring meanwhile
      (r) => r.token === STAFF_BOT && /^(Просрочен|.*, просрочен) срок/.test(r.text ?? ''),
      { count: 3 },
    );
    await new Promise((r) => setTimeout(r, 1000));
    const all = tg.sent(STAFF_BOT).filter((r) => /росрочен срок/.test(r.text ?? ''));
    expect(all).toHaveLength(3);
    expect(sent.map((r) => r.chat_id).sort()).toEqual([String(STAFF_CHAT), '7008', '7009'].sort());
    expect((await events(['sla_breached'])).length).toBe(1);
  });

  it('«Не наша компетенция» hands the incident to the chosen agency; the new draft suggests the reply approved before', async () => {
    const other = { id: 5552, first_name: 'Игорь' };
    let m = mark();
    tg.pushUpdate(CITIZEN_BOT, tg.updates.privateText(other, '/start'));
    const greeting = await next(CITIZEN_BOT, other.id, m, /152-ФЗ/);
    tg.pushUpdate(
      CITIZEN_BOT,
      tg.updates.callback(other, 'consent:yes', { chat_id: other.id, message_id: greeting.message_id }),
    );
    await next(CITIZEN_BOT, other.id, m, /согласие получено/);
    m = mark();
    tg.pushUpdate(
      CITIZEN_BOT,
      tg.updates.privateText(other, 'В Бийске на улице Ленина, 40 огромная яма на дороге, колёса бьют'),
    );
    await next(CITIZEN_BOT, other.id, m, /зарегистрировано/);
    const card2 = await next(STAFF_BOT, STAFF_CHAT, m, /^Инцидент № \d{6}.*\n.*\nТерритория: Бийск/);
    const id2 = Number(/№ (\d{6})/.exec(card2.text!)![1]);
    const [before] = await q<{ agency_id: string }>(`select agency_id from incidents where id = $1`, [id2]);

    // Its acknowledgement draft offers the similar reply SMM approved for the first pothole.
    const ack = await waitFor(async () =>
      (
        (await api('GET', `/drafts?incident=${id2}`, smmToken)).body.items as {
          id: number;
          kind: string;
          suggestions: { incidentId: number }[];
        }[]
      ).find((d) => d.kind === 'acknowledgement'),
    );
    expect(ack.suggestions.map((x) => x.incidentId)).toContain(incidentId);

    // A rude edit fails the politeness check; approval is refused and shows why — even «despite the
    // remarks»: rudeness is never sent to a citizen.
    const edited = await api('POST', `/drafts/${ack.id}/edit`, smmToken, {
      text: 'Сами виноваты, ездите аккуратнее!!!',
    });
    expect(edited.body.failedChecks).toContain('polite');
    const refused = await api('POST', `/drafts/${ack.id}/approve`, smmToken, {});
    expect(refused.status).toBe(409);
    expect(refused.body.error).toBe('DRAFT_CHECKS_BLOCKING');
    const anyway = await api('POST', `/drafts/${ack.id}/approve`, smmToken, { acceptFailedChecks: true });
    expect(anyway.status).toBe(409);
    expect(anyway.body.error).toBe('DRAFT_CHECKS_BLOCKING');
    const rejected = await api('POST', `/drafts/${ack.id}/reject`, smmToken, {
      reason: 'Грубый тон, переписать',
    });
    expect(rejected.body.status).toBe('rejected');
    expect(tg.sent(CITIZEN_BOT).filter((r) => /Сами виноваты/.test(r.text ?? ''))).toHaveLength(0);

    const staffOf = await t.app.staff.create({
      login: 'biysk-op',
      name: 'Ирина Бийск',
      telegramUserId: '7011',
      grants: [{ role: 'sector_responsible', sector: 'roads' }],
    });
    expect(staffOf.grants[0]!.sector).toBe('roads');
    m = mark();
    press({ id: 7011, first_name: 'Ирина' }, `inc:${id2}:other`, card2);
    const choose = await next(STAFF_BOT, STAFF_CHAT, m, /Кому передать/);
    const target = buttonsOf(choose).find((b) => !b.callback_data.endsWith(`:${before!.agency_id}`))!;
    m = mark();
    press({ id: 7011, first_name: 'Ирина' }, target.callback_data, choose);
    await next(STAFF_BOT, STAFF_CHAT, m, /передан:/);
    // A new card for the new agency (here in the same test chat), with its buttons.
    const newCard = await next(
      STAFF_BOT,
      STAFF_CHAT,
      m,
      new RegExp(`^Инцидент № ${String(id2).padStart(6, '0')}`),
    );
    expect(newCard.message_id).not.toBe(card2.message_id);
    expect(buttonsOf(newCard).map((b) => b.text)).toContain('Принять');
    const [after] = await q<{ agency_id: string; status: string }>(
      `select agency_id, status from incidents where id = $1`,
      [id2],
    );
    expect(after!.agency_id).toBe(target.callback_data.split(':to:')[1]);
    expect(after!.status).toBe('assigned');
    const redirect = await waitFor(async () =>
      (
        (await api('GET', `/drafts?incident=${id2}`, smmToken)).body.items as { kind: string; text: string }[]
      ).find((d) => d.kind === 'redirect'),
    );
    expect(redirect.text).toMatch(/—/);
    expect(
      (
        await q(
          `select 1 from incident_events where incident_id = $1 and type = 'reassigned' and actor = 'staff:biysk-op'`,
          [id2],
        )
      ).length,
    ).toBe(1);
  });

  it('the morning digest goes to each chat once a working day', async () => {
    const { sendDigests } = await import('../src/responders/escalate.ts');
    const { calendarFromReference } = await import('../src/store/reference.store.ts');
    const deps = {
      incidents: t.app.incidents,
      outbox: t.app.outbox,
      reference: () => t.app.reference.get(),
      publicUrl: 'http://x',
      staffSource: 'telegram:700200200',
      outbound: t.app.outbound,
      queues: t.app.queues,
      calendar: async () => calendarFromReference(await t.app.reference.get()),
      digestHour: 9,
    };
    const open = await t.app.incidents.openIncidents(100);
    const monday = new Date('2026-11-30T02:30:00Z'); // 09:30 in Barnaul, a working Monday
    const sunday = new Date('2026-11-29T02:30:00Z');
    const early = new Date('2026-11-30T01:30:00Z'); // 08:30
    expect(await sendDigests(deps, sunday, open)).toBe(0);
    expect(await sendDigests(deps, early, open)).toBe(0);
    expect(await sendDigests(deps, monday, open)).toBe(1);
    expect(await sendDigests(deps, monday, open)).toBe(0);
    const digest = await tg.waitForSent(
      (r) => r.token === STAFF_BOT && /^Сводка на 30\.11\.2026/.test(r.text ?? ''),
    );
    expect(digest[0]!.text).toMatch(/открыто \d+, срок сегодня \d+, просрочено \d+/);
  });
  it('messages joining an incident update the figures on its card, once for a burst', async () => {
    const text = 'В Барнауле на улице Советской, 7 не горит уличный фонарь у подъезда';
    const writers = [
      { id: 5601, first_name: 'Ирина' },
      { id: 5602, first_name: 'Сергей' },
      { id: 5603, first_name: 'Пётр' },
    ];
    for (const w of writers) {
      let m = mark();
      tg.pushUpdate(CITIZEN_BOT, tg.updates.privateText(w, '/start'));
      const greeting = await next(CITIZEN_BOT, w.id, m, /152-ФЗ/);
      m = mark();
      tg.pushUpdate(
        CITIZEN_BOT,
        tg.updates.callback(w, 'consent:yes', { chat_id: w.id, message_id: greeting.message_id }),
      );
      await next(CITIZEN_BOT, w.id, m, /согласие получено/);
    }
    const m = mark();
    tg.pushUpdate(CITIZEN_BOT, tg.updates.privateText(writers[0]!, text));
    const first = await next(STAFF_BOT, STAFF_CHAT, m, /Советской, 7/);
    expect(first.text).toContain('Сообщений: 1, авторов: 1');
    const calls = tg.calls(STAFF_BOT).length;
    tg.pushUpdate(CITIZEN_BOT, tg.updates.privateText(writers[1]!, text));
    tg.pushUpdate(CITIZEN_BOT, tg.updates.privateText(writers[2]!, `${text}!`));
    const edited = await waitFor(
      async () =>
        tg
          .calls(STAFF_BOT)
          .slice(calls)
          .find(
            (c) =>
              c.method === 'editMessageText' &&
              c.params.message_id === first.message_id &&
              /Сообщений: 3, авторов: 3/.test(String(c.params.text)),
          ),
      { timeoutMs: 15_000 },
    );
    expect(String(edited.params.text)).toContain('Советской, 7');
    // Each citizen reads their own appeal number where staff wrote the incident's.
    const [inc] = await q<{ id: number }>(
      `select incident_id as id from messages where text = $1 order by id limit 1`,
      [text],
    );
    const mine = await q<{ id: number; chat_id: string }>(
      `select id, chat_id from messages where incident_id = $1 order by id`,
      [inc!.id],
    );
    const incNo = `№ ${String(inc!.id).padStart(6, '0')}`;
    const before = mark();
    const r = await api('POST', `/incidents/${inc!.id}/replies`, API_TOKEN, {
      text: `Здравствуйте! Ваше обращение ${incNo} передано в Барнаульскую горэлектросеть.`,
      key: 'numbers',
    });
    expect(r.status).toBe(202);
    for (const [i, w] of writers.entries()) {
      const got = await next(CITIZEN_BOT, w.id, before, /горэлектросеть/);
      const own = `№ ${String(mine[i]!.id).padStart(6, '0')}`;
      expect(got.text).toBe(
        `Ответ по обращению ${own}:\n\nЗдравствуйте! Ваше обращение ${own} передано в Барнаульскую горэлектросеть.`,
      );
    }
    // No new card for the joining messages.
    expect(
      tg.sent(STAFF_BOT).filter((r) => /Советской, 7/.test(r.text ?? '') && r.method === 'sendMessage'),
    ).toHaveLength(1);
  });
  it('a corrected sector puts its agencies first in «Не наша компетенция»; handing over moves the incident to that block', async () => {
    const [inc] = await q<{ id: number; sector: string }>(
      `select id, sector from incidents where address ilike '%Советской%' order by id desc limit 1`,
    );
    const [msg] = await q<{ id: number }>(
      `select id from messages where incident_id = $1 order by id limit 1`,
      [inc!.id],
    );
    expect(inc!.sector).not.toBe('energy');
    const label = await api('POST', `/messages/${msg!.id}/labels`, smmToken, {
      task: 'sector',
      label: 'energy',
    });
    expect(label.status).toBe(201);
    const choices = await api('GET', `/incidents/${inc!.id}/handover-choices?limit=1000`, headToken);
    const items = choices.body.items as { id: string; sector: string | null; suggested: boolean }[];
    expect(items[0]).toMatchObject({ id: 'minpromenergo', sector: 'energy', suggested: true });
    expect(items.length).toBeGreaterThan(8); // every active agency can be chosen, not only the same sector's
    const moved = await api('POST', `/incidents/${inc!.id}/actions`, headToken, {
      action: 'other',
      agencyId: 'minpromenergo',
    });
    expect(moved.status).toBe(200);
    const [after] = await q<{ sector: string; agency_id: string }>(
      `select sector, agency_id from incidents where id = $1`,
      [inc!.id],
    );
    expect(after).toEqual({ sector: 'energy', agency_id: 'minpromenergo' });
    const [ev] = await q<{ data: Record<string, unknown> }>(
      `select data from incident_events where incident_id = $1 and type = 'reassigned' order by id desc limit 1`,
      [inc!.id],
    );
    expect(ev!.data).toMatchObject({ to: 'minpromenergo', fromSector: inc!.sector, toSector: 'energy' });
  });
});
