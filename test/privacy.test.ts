/**
 * Personal data (152-ФЗ), on the real API (PostgreSQL, Redis): the retention pass anonymises what has
 * outlived its period and nothing recent, every analytics slice stays exactly the same, it is audited and
 * idempotent, and the sweeper installs it as a repeatable job; a citizen's data found, exported and erased
 * on request by a technical administrator only, audited without the data, analytics unchanged, and the same
 * account writing again starts with a fresh consent; roles without access to personal data read no names,
 * platform ids, phone numbers or e-mails in incidents, messages, replies, analytics and the weekly report.
 */
import ExcelJS from 'exceljs';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maskContacts, maskText, privacyProcessor } from '../src/responders/privacy.ts';
import { createPrivacyStore, ERASED_MARKER, RETENTION_MARKER } from '../src/store/privacy.store.ts';
import { startSweeper } from '../src/workers/sweeper.ts';
import { openDatabase } from '../src/store/db.ts';
import { seedReferenceData } from '../src/store/seed.ts';
import { API_TOKEN, startTestApp, type TestApp } from './helpers.ts';

const DAY = 86_400_000;
const TG = 'telegram:555000111';

describe('personal data (152-ФЗ)', () => {
  let t: TestApp;
  const tokens = new Map<string, string>();
  const q = <T = Record<string, unknown>>(text: string, params: unknown[] = []) =>
    t.app.database.query<T>(text, params);
  const call = (method: string, url: string, token: string | undefined, body?: unknown) =>
    t.app.api!.inject({
      method: method as 'GET',
      url,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      payload: body ? JSON.stringify(body) : undefined,
    });
  const as = (role: string) => tokens.get(role)!;
  const ago = (days: number) => new Date(Date.now() - days * DAY).toISOString();

  async function author(externalId: string, name: string, extra: Record<string, unknown> = {}) {
    const cols = ['platform', 'external_id', 'name', ...Object.keys(extra)];
    const vals = ['telegram', externalId, name, ...Object.values(extra)];
    const [r] = await q<{ id: number }>(
      `insert into authors (${cols.join(', ')}) values (${cols.map((_, i) => `$${i + 1}`).join(', ')}) returning id`,
      vals,
    );
    return Number(r!.id);
  }
  async function incident(o: {
    status: string;
    sector: string;
    municipality: string;
    agency: string;
    summary: string;
    daysAgo: number;
    resolutionDueDays?: number;
    terms?: string[];
  }) {
    const [r] = await q<{ id: number }>(
      `insert into incidents (status, sector, municipality, agency_id, summary, terms, channel_kind, message_count,
                              author_count, negative_count, first_message_at, last_message_at, first_response_due,
                              resolution_due, first_responded_at, created_at, notified_at, drafted_at)
       values ($1, $2, $3, $4, $5, $6::jsonb, 'messenger', 1, 1, 1, $7, $7, $8::timestamptz + interval '1 day',
               $8::timestamptz + make_interval(days => $9), $8::timestamptz + interval '2 hours', $7, now(), now())
       returning id`,
      [
        o.status,
        o.sector,
        o.municipality,
        o.agency,
        o.summary,
        JSON.stringify(o.terms ?? []),
        ago(o.daysAgo),
        ago(o.daysAgo),
        o.resolutionDueDays ?? 5,
      ],
    );
    return Number(r!.id);
  }
  async function message(o: {
    authorId: number | null;
    incidentId: number | null;
    text: string;
    daysAgo: number;
    sector: string;
    municipality: string;
    chatId?: string;
  }) {
    const [r] = await q<{ id: number }>(
      `insert into messages (source_id, external_id, author_id, text, posted_at, received_at, url, chat_id, attachments,
                             raw, state, sector, sentiment, municipality, incident_id, analyzed_at, routed_at)
       values ($1, $2, $3, $4, $5, $5, $6, $7, $8::jsonb, $9::jsonb, 'routed', $10, 'negative', $11, $12, $5, $5)
       returning id`,
      [
        TG,
        `${o.chatId ?? '1'}:${Math.floor(Math.random() * 1e9)}`,
        o.authorId,
        o.text,
        ago(o.daysAgo),
        'https://t.me/c/1/2',
        o.chatId ?? null,
        JSON.stringify([{ type: 'photo', fileId: 'AgACAgIAAxkBAAIB', caption: 'мой дом' }]),
        JSON.stringify({ from: { id: Number(o.chatId ?? 1), first_name: 'Имя' } }),
        o.sector,
        o.municipality,
        o.incidentId,
      ],
    );
    return Number(r!.id);
  }
  async function outbound(
    chatId: string,
    purpose: string,
    text: string,
    daysAgo: number,
    messageId?: number,
  ) {
    const [r] = await q<{ id: number }>(
      `insert into outbound_messages (idempotency_key, source_id, chat_id, text, purpose, message_id, status,
                                      external_id, created_at, sent_at)
       values ($1, $2, $3, $4, $5, $6, 'sent', $3 || ':77', $7, $7) returning id`,
      [`k-${Math.random()}`, TG, chatId, text, purpose, messageId ?? null, ago(daysAgo)],
    );
    return Number(r!.id);
  }

  /** Every slice the analytics page can ask for over five years, as JSON text. */
  const slices = async () => {
    const to = new Date(Math.floor(Date.now() / DAY) * DAY + 2 * DAY).toISOString();
    const from = new Date(Date.parse(to) - 5 * 366 * DAY).toISOString();
    const out: string[] = [];
    for (const measure of ['messages', 'authors', 'incidents', 'satisfaction', 'first_response_hours'])
      for (const by of ['', 'sector', 'municipality,sentiment', 'agency,status', 'channel'])
        for (const period of ['', 'month']) {
          const r = await call(
            'GET',
            `/api/v1/analytics/slice?measure=${measure}&from=${from}&to=${to}${by ? `&by=${by}` : ''}${period ? `&period=${period}` : ''}`,
            API_TOKEN,
          );
          expect(r.statusCode, r.body).toBe(200);
          out.push(`${measure} ${by} ${period}: ${JSON.stringify((r.json() as { rows: unknown[] }).rows)}`);
        }
    return out;
  };
  const audits = async (entity: string, entityId: string) =>
    (
      (await call('GET', `/api/v1/audit?entity=${entity}&entityId=${entityId}`, as('tech_admin'))).json() as {
        items: { actor: string; action: string; entityId: string; after: unknown; before: unknown }[];
      }
    ).items;

  beforeAll(async () => {
    t = await startTestApp({ roles: ['api'] });
    await q(
      `insert into sources (id, platform, channel_kind, name) values ($1, 'telegram', 'messenger', 'Бот ЦУР')`,
      [TG],
    );
    for (const role of ['tech_admin', 'analyst', 'smm', 'center_head', 'internal_policy']) {
      const m = await t.app.staff.create({ login: `p-${role}`, name: role, grants: [{ role }] });
      tokens.set(role, await t.app.staff.issueToken(m.id, 'test'));
    }
  });
  afterAll(async () => t?.close());

  it('maskContacts: phones, e-mails, usernames and profile links; dates and house numbers stay', () => {
    expect(maskContacts('Звоните +7 913 123-45-67 или 8 (3852) 61-23-45, пишите ivanov@mail.ru')).toBe(
      'Звоните +7 *** ***-**-67 или +7 *** ***-**-45, пишите i***@mail.ru',
    );
    expect(maskContacts('89131234567, 913 123 45 67, 61-23-45, +375 29 123-45-67')).toBe(
      '+7 *** ***-**-67, +7 *** ***-**-67, **-**-45, +*** ***-**-67',
    );
    expect(maskContacts('@ivan_petrov, vk.com/id12345, https://t.me/ivanpetrov')).toBe(
      '@***, vk.com/***, https://t.me/***',
    );
    const plain = 'Дом 12, кв. 34, 15.03.2024 в 10:30, заявка № 1234567, ул. Попова, 10';
    expect(maskContacts(plain)).toBe(plain);
    expect(maskText('Пишет Иван Петров. С уважением, Петров И.', 'Иван Петров')).toBe(
      'Пишет *** ***. С уважением, *** И.',
    );
  });

  it('settings: defaults, validated limits, written by settings roles and audited', async () => {
    const r = await call('GET', '/api/v1/settings/privacy', as('center_head'));
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({
      messageRetentionDays: 1095,
      dialogRetentionDays: 30,
      auditRetentionDays: 1095,
    });
    expect((await call('GET', '/api/v1/settings/privacy', as('analyst'))).statusCode).toBe(403);
    const bad = await call('PUT', '/api/v1/settings/privacy', as('tech_admin'), { messageRetentionDays: 5 });
    expect(bad.statusCode).toBe(400);
    expect(
      (await call('PUT', '/api/v1/settings/privacy', as('smm'), { dialogRetentionDays: 10 })).statusCode,
    ).toBe(403);
    const ok = await call('PUT', '/api/v1/settings/privacy', as('tech_admin'), { dialogRetentionDays: 30 });
    expect(ok.statusCode).toBe(200);
    const a = await audits('settings', 'privacy');
    expect(a[0]).toMatchObject({ actor: 'staff:p-tech_admin', action: 'settings.privacy.update' });
  });

  it('retention: old data anonymised, recent and open untouched, analytics slices identical, audited, idempotent', async () => {
    const OLD = 4 * 365;
    // A: wrote only long ago. B: long ago and recently. C: long ago, still subscribed to news.
    const a = await author('5001', 'Анна Старова', {
      consent_personal_data: true,
      consent_at: ago(OLD),
      created_at: ago(OLD),
    });
    const b = await author('5002', 'Борис Смешанов', { created_at: ago(OLD) });
    const c = await author('5003', 'Вера Подписчикова', {
      created_at: ago(OLD),
      subscribed: true,
      subscribed_at: ago(OLD),
    });
    const closedOld = await incident({
      status: 'closed',
      sector: 'roads',
      municipality: 'barnaul',
      agency: 'altayavtodor',
      summary: 'Яма на Попова, звоните +7 913 111-22-33',
      daysAgo: OLD,
    });
    const openOld = await incident({
      status: 'in_progress',
      sector: 'housing',
      municipality: 'biysk',
      agency: 'minstroy',
      summary: 'Течёт крыша уже много лет',
      daysAgo: OLD,
      resolutionDueDays: 5000,
    });
    const recent = await incident({
      status: 'new',
      sector: 'roads',
      municipality: 'barnaul',
      agency: 'altayavtodor',
      summary: 'Снова яма на Попова',
      daysAgo: 3,
      resolutionDueDays: 30,
    });
    const m1 = await message({
      authorId: a,
      incidentId: closedOld,
      text: 'Яма на Попова, звоните +7 913 111-22-33',
      daysAgo: OLD,
      sector: 'roads',
      municipality: 'barnaul',
      chatId: '5001',
    });
    const m2 = await message({
      authorId: b,
      incidentId: closedOld,
      text: 'Подтверждаю, яма',
      daysAgo: OLD - 1,
      sector: 'roads',
      municipality: 'barnaul',
      chatId: '5002',
    });
    const m3 = await message({
      authorId: b,
      incidentId: recent,
      text: 'Снова яма на Попова',
      daysAgo: 3,
      sector: 'roads',
      municipality: 'barnaul',
      chatId: '5002',
    });
    const m4 = await message({
      authorId: c,
      incidentId: openOld,
      text: 'Течёт крыша уже много лет',
      daysAgo: OLD,
      sector: 'housing',
      municipality: 'biysk',
      chatId: '5003',
    });
    const m5 = await message({
      authorId: c,
      incidentId: null,
      text: 'Спасибо за ответ',
      daysAgo: OLD,
      sector: 'other',
      municipality: 'biysk',
      chatId: '5003',
    });
    const o1 = await outbound('5001', 'reply', 'Анна, яму заделают до пятницы', OLD, m1);
    const o2 = await outbound('5002', 'confirmation', 'Обращение № 2 принято', 3, m3);
    const o3 = await outbound('-100500', 'report', 'Еженедельный доклад', OLD);
    await q(
      `insert into satisfaction (incident_id, author_id, score, comment, created_at) values ($1, $2, 4, 'Звоните 8 913 000-00-00', $3)`,
      [closedOld, a, ago(OLD)],
    );
    await q(
      `insert into notifications (idempotency_key, incident_id, channel, recipient, kind, text, status, created_at)
       values ('card-old', $1, 'telegram', '-100777', 'card', 'Инцидент. Суть: Яма на Попова, звоните +7 913 111-22-33', 'sent', $2)`,
      [closedOld, ago(OLD)],
    );
    await q(
      `insert into bot_dialogs (source_id, chat_id, state, data, updated_at) values
         ($1, '5001', 'await_municipality', '{"pending":{"text":"моя старая заявка"}}', $2),
         ($1, '5002', 'ready', '{}', $3)`,
      [TG, ago(40), ago(1)],
    );
    await q(`insert into audit_log (actor, action, entity, at) values ('staff:old', 'old.action', 'x', $1)`, [
      ago(OLD),
    ]);

    const before = await slices();
    const run = await call('POST', '/api/v1/privacy/retention/run', as('tech_admin'));
    expect(run.statusCode, run.body).toBe(200);
    expect(run.json()).toMatchObject({
      messages: 3,
      authors: 1,
      outbound: 1,
      incidents: 1,
      satisfaction: 1,
      dialogs: 1,
    });
    expect((run.json() as { audit: number }).audit).toBeGreaterThanOrEqual(1);
    expect(await slices()).toEqual(before);

    const msgs = new Map(
      (
        await q<{
          id: number;
          text: string;
          raw: unknown;
          url: string | null;
          chat_id: string | null;
          attachments: unknown;
          external_id: string;
          author_id: number;
          sector: string;
          received_at: Date;
        }>(`select * from messages where id = any($1::bigint[])`, [[m1, m2, m3, m4, m5]])
      ).map((m) => [Number(m.id), m]),
    );
    for (const id of [m1, m2, m5]) {
      const m = msgs.get(id)!;
      expect(m).toMatchObject({
        text: RETENTION_MARKER,
        raw: null,
        url: null,
        chat_id: null,
        attachments: [],
      });
      expect(m.external_id).toMatch(/^anon:/);
      expect(m.author_id).not.toBeNull(); // the link stays: distinct authors are still counted
      expect(m.sector).not.toBeNull();
    }
    expect(msgs.get(m3)!.text).toBe('Снова яма на Попова'); // recent
    expect(msgs.get(m4)!.text).toBe('Течёт крыша уже много лет'); // its incident is still open
    expect(msgs.get(m4)!.chat_id).toBe('5003');

    const authors = new Map(
      (
        await q<{
          id: number;
          name: string | null;
          external_id: string;
          anonymized_reason: string | null;
          consent_personal_data: boolean;
        }>(`select * from authors where id = any($1::bigint[])`, [[a, b, c]])
      ).map((x) => [Number(x.id), x]),
    );
    expect(authors.get(a)).toMatchObject({
      name: null,
      anonymized_reason: 'retention',
      consent_personal_data: false,
    });
    expect(authors.get(a)!.external_id).not.toBe('5001');
    expect(authors.get(b)).toMatchObject({
      name: 'Борис Смешанов',
      external_id: '5002',
      anonymized_reason: null,
    });
    expect(authors.get(c)).toMatchObject({ name: 'Вера Подписчикова', anonymized_reason: null });

    const incs = new Map(
      (
        await q<{ id: number; summary: string }>(
          `select id, summary from incidents where id = any($1::bigint[])`,
          [[closedOld, openOld, recent]],
        )
      ).map((x) => [Number(x.id), x.summary]),
    );
    expect(incs.get(closedOld)).toBe(RETENTION_MARKER);
    expect(incs.get(openOld)).toBe('Течёт крыша уже много лет');
    expect(incs.get(recent)).toBe('Снова яма на Попова');

    const outs = new Map(
      (
        await q<{ id: number; text: string; chat_id: string; external_id: string | null }>(
          `select id, text, chat_id, external_id from outbound_messages where id = any($1::bigint[])`,
          [[o1, o2, o3]],
        )
      ).map((x) => [Number(x.id), x]),
    );
    expect(outs.get(o1)).toMatchObject({ text: RETENTION_MARKER, external_id: null });
    expect(outs.get(o1)!.chat_id).toMatch(/^anon:/);
    expect(outs.get(o2)).toMatchObject({ text: 'Обращение № 2 принято', chat_id: '5002' });
    expect(outs.get(o3)).toMatchObject({ text: 'Еженедельный доклад' }); // to staff, not a citizen

    const [sat] = await q<{ score: number; comment: string | null }>(
      `select score, comment from satisfaction where incident_id = $1`,
      [closedOld],
    );
    expect(sat).toMatchObject({ score: 4, comment: null });
    const [card] = await q<{ text: string }>(
      `select text from notifications where idempotency_key = 'card-old'`,
    );
    expect(card!.text).not.toContain('913');
    expect(
      (await q(`select chat_id from bot_dialogs where source_id = $1 order by chat_id`, [TG])).map(
        (r) => r.chat_id,
      ),
    ).toEqual(['5002']);
    expect(await q(`select 1 from audit_log where action = 'old.action'`)).toHaveLength(0);

    const trail = await audits('settings', 'privacy');
    expect(trail.find((x) => x.action === 'privacy.retention')).toMatchObject({
      actor: 'staff:p-tech_admin',
      after: { messages: 3, authors: 1 },
    });

    // Idempotent: a second pass (the job's) changes nothing and leaves the slices as they are.
    const store = createPrivacyStore(t.app.database);
    const again = await store.applyRetention(await store.settings(), new Date());
    expect(
      Object.values(again).every((n) => n === 0),
      JSON.stringify(again),
    ).toBe(true);
    expect(await slices()).toEqual(before);
  });

  it('the sweeper installs the retention pass as a repeatable job, and the job runs it', async () => {
    const sweeper = startSweeper({
      messages: t.app.messages,
      incidents: t.app.incidents,
      queues: t.app.queues,
      log: pino({ level: 'silent' }),
      metrics: t.app.metrics,
      intervalMs: 3_600_000,
    });
    try {
      await sweeper.sweep();
    } finally {
      sweeper.stop();
    }
    const schedulers = await t.app.queues.get('privacy').getJobSchedulers();
    expect(schedulers.map((s) => s.key)).toContain('privacy-retention');
    const entries: unknown[] = [];
    const run = privacyProcessor({
      store: createPrivacyStore(t.app.database),
      audit: async (e) => void entries.push(e),
      log: pino({ level: 'silent' }),
    });
    await run({ data: { kind: 'retention' } } as never, 'token');
    expect(entries).toEqual([]); // nothing left to anonymise: no audit noise every hour
  });

  it("a citizen's data: found, exported and erased by a technical administrator only, audited without the data", async () => {
    const d = await author('7001', 'Дмитрий Заявителев', {
      consent_personal_data: true,
      consent_at: ago(10),
      subscribed: true,
      subscribed_at: ago(9),
      subscription_source: TG,
      subscription_chat: '7001',
      subscription_topics: JSON.stringify(['roads']),
      municipality: 'barnaul',
    });
    const other = await author('7002', 'Другой Житель');
    const inc = await incident({
      status: 'in_progress',
      sector: 'roads',
      municipality: 'barnaul',
      agency: 'altayavtodor',
      summary: 'Дмитрий: яма у дома, мой телефон +7 913 444-55-66',
      daysAgo: 10,
      resolutionDueDays: 300,
    });
    const m6 = await message({
      authorId: d,
      incidentId: inc,
      text: 'Дмитрий: яма у дома, мой телефон +7 913 444-55-66',
      daysAgo: 10,
      sector: 'roads',
      municipality: 'barnaul',
      chatId: '7001',
    });
    const m7 = await message({
      authorId: other,
      incidentId: inc,
      text: 'И у нашего дома тоже яма',
      daysAgo: 9,
      sector: 'roads',
      municipality: 'barnaul',
      chatId: '7002',
    });
    await outbound('7001', 'reply', 'Дмитрий, яму заделают', 5, m6);
    await outbound('7001', 'prompt', 'Выберите муниципалитет', 10);
    const otherReply = await outbound('7002', 'reply', 'Яму заделают', 5, m7);
    await q(`insert into bot_dialogs (source_id, chat_id, state, data) values ($1, '7001', 'ready', '{}')`, [
      TG,
    ]);
    await q(
      `insert into satisfaction (incident_id, author_id, score, comment) values ($1, $2, 5, 'Спасибо, Дмитрий')`,
      [inc, d],
    );
    const [poll] = await q<{ id: number }>(
      `insert into polls (question, options, channel, status, closes_at) values ('Нужен ли сквер?', '["Да","Нет"]', 'all', 'open', now() + interval '1 day') returning id`,
    );
    await q(
      `insert into poll_votes (poll_id, author_id, option, municipality) values ($1, $2, 0, 'barnaul')`,
      [poll!.id, d],
    );
    await q(
      `insert into poll_messages (poll_id, author_id, source_id, chat_id, status, external_id) values ($1, $2, $3, '7001', 'sent', '7001:9')`,
      [poll!.id, d, TG],
    );

    // Only a technical administrator: other roles and integration tokens are refused.
    const find = `/api/v1/privacy/citizens?platform=telegram&externalId=7001`;
    for (const token of [as('smm'), as('center_head'), as('analyst'), API_TOKEN])
      expect((await call('GET', find, token)).statusCode).toBe(403);
    expect((await call('DELETE', `/api/v1/privacy/citizens/${d}`, API_TOKEN)).statusCode).toBe(403);
    for (const bad of [
      'platform=telegram',
      'platform=telegram&externalId=%00',
      'platform=Tele%20gram&externalId=1',
    ])
      expect((await call('GET', `/api/v1/privacy/citizens?${bad}`, as('tech_admin'))).statusCode, bad).toBe(
        400,
      );

    const found = await call('GET', find, as('tech_admin'));
    expect(found.statusCode).toBe(200);
    expect(found.json()).toMatchObject({
      items: [{ id: d, name: 'Дмитрий Заявителев', messages: 1, subscribed: true }],
    });

    const exp = await call('GET', `/api/v1/privacy/citizens/${d}/export`, as('tech_admin'));
    expect(exp.statusCode).toBe(200);
    expect(exp.headers['content-disposition']).toContain(`otklik-citizen-${d}.json`);
    const data = exp.json() as {
      profile: { externalId: string; name: string };
      consents: { personalData: boolean };
      subscriptions: { subscribed: boolean; topics: string[] };
      messages: { text: string }[];
      replies: { text: string }[];
      votes: { optionText: string }[];
      satisfaction: { score: number; comment: string }[];
      dialogs: { state: string }[];
    };
    expect(data.profile).toMatchObject({ externalId: '7001', name: 'Дмитрий Заявителев' });
    expect(data.consents.personalData).toBe(true);
    expect(data.subscriptions).toMatchObject({ subscribed: true, topics: ['roads'] });
    expect(data.messages.map((m) => m.text)).toEqual(['Дмитрий: яма у дома, мой телефон +7 913 444-55-66']);
    expect(data.replies.map((r) => r.text).sort()).toEqual([
      'Выберите муниципалитет',
      'Дмитрий, яму заделают',
    ]);
    expect(data.votes).toMatchObject([{ optionText: 'Да' }]);
    expect(data.satisfaction).toMatchObject([{ score: 5, comment: 'Спасибо, Дмитрий' }]);
    expect(data.dialogs).toMatchObject([{ state: 'ready' }]);

    const before = await slices();
    const del = await call('DELETE', `/api/v1/privacy/citizens/${d}`, as('tech_admin'));
    expect(del.statusCode, del.body).toBe(200);
    expect(del.json()).toMatchObject({
      erased: {
        messages: 1,
        replies: 2,
        incidents: 1,
        dialogs: 1,
        satisfaction: 1,
        votes: 1,
        pollMessages: 1,
      },
    });
    expect(await slices()).toEqual(before);

    const [m] = await q<{ text: string; chat_id: string | null; author_id: number }>(
      `select text, chat_id, author_id from messages where id = $1`,
      [m6],
    );
    expect(m).toMatchObject({ text: ERASED_MARKER, chat_id: null, author_id: d });
    expect((await q(`select text from messages where id = $1`, [m7]))[0]).toMatchObject({
      text: 'И у нашего дома тоже яма',
    });
    const [au] = await q<Record<string, unknown>>(`select * from authors where id = $1`, [d]);
    expect(au).toMatchObject({
      name: null,
      consent_personal_data: false,
      subscribed: false,
      subscription_chat: null,
      municipality: null,
      anonymized_reason: 'request',
    });
    expect(au!.external_id).not.toBe('7001');
    expect(await q(`select 1 from bot_dialogs where chat_id = '7001'`)).toHaveLength(0);
    expect(
      await q(`select 1 from outbound_messages where chat_id = '7001' or text like '%Дмитрий%'`),
    ).toHaveLength(0);
    expect((await q(`select text from outbound_messages where id = $1`, [otherReply]))[0]).toMatchObject({
      text: 'Яму заделают',
    });
    expect((await q(`select summary from incidents where id = $1`, [inc]))[0]).toMatchObject({
      summary: ERASED_MARKER,
    });
    expect((await q(`select score, comment from satisfaction where author_id = $1`, [d]))[0]).toMatchObject({
      score: 5,
      comment: null,
    });
    expect(await q(`select 1 from poll_votes where author_id = $1`, [d])).toHaveLength(1); // results stay
    expect(await q(`select 1 from poll_messages where chat_id = '7001'`)).toHaveLength(0);

    // Audited: who and which citizen, never the data.
    const trail = await audits('author', String(d));
    expect(trail.map((x) => x.action).sort()).toEqual(['privacy.erase', 'privacy.export', 'privacy.lookup']);
    expect(trail.every((x) => x.actor === 'staff:p-tech_admin')).toBe(true);
    const text = JSON.stringify(trail);
    for (const secret of ['Дмитрий', '7001', '444-55-66']) expect(text).not.toContain(secret);

    // The same account writing again is a new person to the platform: consent is asked again.
    expect(await t.app.citizens.author('telegram', '7001')).toBeUndefined();
    const again = await t.app.citizens.giveConsent('telegram', '7001', 'Дмитрий');
    expect(again.id).not.toBe(d);
    // Erasing again is harmless.
    const twice = await call('DELETE', `/api/v1/privacy/citizens/${d}`, as('tech_admin'));
    expect(twice.json()).toMatchObject({ erased: { messages: 0, replies: 0, dialogs: 0 } });
    expect((await call('DELETE', '/api/v1/privacy/citizens/99999999', as('tech_admin'))).statusCode).toBe(
      404,
    );
  });

  it('roles without access to personal data read no names, platform ids, phones or e-mails — in the API and exports', async () => {
    const NAME = 'Иван Контактов';
    const TEXT = `На Попова, 10 в Барнауле яма. ${NAME}, +7 913 123-45-67, ivan.kontaktov@mail.ru, @ivan_kontaktov`;
    const SECRETS = [
      '123-45-67',
      '913 123',
      'ivan.kontaktov@mail.ru',
      'ivan_kontaktov',
      NAME,
      'Контактов',
      '9001',
      'AgACAgIAAxkBAAIB',
    ];
    const au = await author('9001', NAME);
    const inc = await incident({
      status: 'assigned',
      sector: 'roads',
      municipality: 'barnaul',
      agency: 'altayavtodor',
      summary: TEXT,
      daysAgo: 35,
      resolutionDueDays: 3, // overdue: the weekly report lists it
      terms: ['яма', 'попов', 'дорог'],
    });
    const msg = await message({
      authorId: au,
      incidentId: inc,
      text: TEXT,
      daysAgo: 35,
      sector: 'roads',
      municipality: 'barnaul',
      chatId: '9001',
    });
    await outbound('9001', 'reply', `${NAME}, спасибо, яму заделают`, 30, msg);
    await q(
      `insert into conflict_alerts (kind, severity, key, sector, municipality, incident_id, text) values ('repeat_author', 'warning', 'k-9001', 'roads', 'barnaul', $1, $2)`,
      [inc, `Повторные обращения. Суть: ${TEXT}`],
    );
    const from = ago(60);
    const to = new Date().toISOString();
    const reads = [
      `/api/v1/incidents/${inc}`,
      `/api/v1/incidents?limit=200`,
      `/api/v1/incidents/${inc}/outbound`,
      `/api/v1/messages/${msg}`,
      `/api/v1/sla/monitor`,
      `/api/v1/alerts?limit=500`,
      `/api/v1/analytics/slice?measure=messages&by=sector,municipality&from=${from}&to=${to}&format=csv`,
      `/api/v1/analytics/top-problems?from=${from}&to=${to}`,
      `/api/v1/reports/weekly?format=json`,
    ];
    for (const role of ['analyst', 'internal_policy']) {
      for (const url of reads) {
        const r = await call('GET', url, as(role));
        if (r.statusCode === 403) continue; // not this role's endpoint
        expect(r.statusCode, `${role} ${url}: ${r.body.slice(0, 200)}`).toBe(200);
        for (const s of SECRETS) expect(r.body, `${role} ${url}`).not.toContain(s);
      }
    }
    const thread = (await call('GET', `/api/v1/incidents/${inc}`, as('analyst'))).json() as {
      summary: string;
      messages: { text: string; author: null; authorId: null; externalId: null; attachments: unknown[] }[];
    };
    expect(thread.summary).toContain('+7 *** ***-**-67');
    expect(thread.messages[0]).toMatchObject({
      author: null,
      authorId: null,
      externalId: null,
      attachments: [{ type: 'photo' }],
    });
    expect(thread.messages[0]!.text).toContain('i***@mail.ru');
    expect(thread.messages[0]!.text).toContain('На Попова, 10 в Барнауле яма.');
    const report = (await call('GET', '/api/v1/reports/weekly?format=json', as('analyst'))).json() as {
      overdue: { id: number; summary: string }[];
    };
    expect(report.overdue.find((o) => o.id === inc)?.summary).toContain('+7 *** ***-**-67');

    // The XLSX exports, read back.
    for (const url of [
      `/api/v1/analytics/slice?measure=messages&by=sector,municipality&from=${from}&to=${to}&format=xlsx`,
      `/api/v1/reports/weekly?format=xlsx`,
    ]) {
      const r = await call('GET', url, as('analyst'));
      expect(r.statusCode).toBe(200);
      const wb = new ExcelJS.Workbook();
      await wb.xlsx.load(r.rawPayload as unknown as ArrayBuffer);
      const cells: string[] = [];
      wb.eachSheet((ws) => ws.eachRow((row) => row.eachCell((c) => void cells.push(String(c.value ?? '')))));
      const all = cells.join('\n');
      expect(all.length).toBeGreaterThan(0);
      for (const s of SECRETS) expect(all, url).not.toContain(s);
    }

    // Roles with access to personal data see the citizen as they wrote.
    const smm = (await call('GET', `/api/v1/incidents/${inc}`, as('smm'))).json() as {
      summary: string;
      messages: { text: string; author: string }[];
    };
    expect(smm.summary).toBe(TEXT);
    expect(smm.messages[0]).toMatchObject({ text: TEXT, author: NAME });
  });
});

describe('personal data on embedded PGlite', () => {
  it('the same retention pass, export and erasure', async () => {
    const db = await openDatabase({ dataDir: 'memory://' });
    try {
      await seedReferenceData(db);
      const q = <T = Record<string, unknown>>(text: string, params: unknown[] = []) =>
        db.query<T>(text, params);
      const old = new Date(Date.now() - 4 * 365 * DAY).toISOString();
      const [a] = await q<{ id: number }>(
        `insert into authors (platform, external_id, name, created_at) values ('api', 'p1', 'Пётр Глайтов', $1) returning id`,
        [old],
      );
      const [b] = await q<{ id: number }>(
        `insert into authors (platform, external_id, name) values ('api', 'p2', 'Ольга Свежова') returning id`,
      );
      await q(
        `insert into messages (source_id, external_id, author_id, text, posted_at, received_at, raw, sector, state)
         values ('api', 'e1', $1, 'Старое +7 913 111-22-33', $2, $2, '{"a":1}', 'roads', 'routed'),
                ('api', 'e2', $3, 'Новое ivan@mail.ru', now(), now(), '{"b":2}', 'roads', 'routed')`,
        [a!.id, old, b!.id],
      );
      // Comments on ratings are copied into the incident's timeline: they go with the rest.
      const [inc] = await q<{ id: number }>(
        `insert into incidents (status, sector, summary, channel_kind, message_count, author_count, negative_count,
                                first_message_at, last_message_at, first_response_due, resolution_due, created_at)
         values ('resolved', 'roads', 'Яма', 'api', 2, 2, 0, $1, now(), now(), now(), $1) returning id`,
        [old],
      );
      await q(
        `insert into incident_events (incident_id, type, actor, at, data)
         values ($1, 'satisfaction_comment', 'citizen', $2, jsonb_build_object('comment', 'Звоните +7 913 111-22-33', 'authorId', $3::bigint)),
                ($1, 'satisfaction_comment', 'citizen', now(), jsonb_build_object('comment', 'Пишите ivan@mail.ru', 'authorId', $4::bigint))`,
        [inc!.id, old, a!.id, b!.id],
      );
      const comments = async () =>
        (
          await q<{ c: string }>(
            `select data->>'comment' as c from incident_events where type = 'satisfaction_comment' order by id`,
          )
        ).map((r) => r.c);
      const store = createPrivacyStore(db);
      const counts = await store.applyRetention(await store.settings(), new Date());
      expect(await comments()).toEqual([RETENTION_MARKER, 'Пишите ivan@mail.ru']);
      expect(counts).toMatchObject({ messages: 1, authors: 1 });
      expect(await store.applyRetention(await store.settings(), new Date())).toMatchObject({
        messages: 0,
        authors: 0,
      });
      const data = await store.exportCitizen(Number(b!.id));
      expect(data!.messages).toMatchObject([{ text: 'Новое ivan@mail.ru', raw: { b: 2 } }]);
      expect(await store.eraseCitizen(Number(b!.id))).toMatchObject({ messages: 1 });
      const texts = (await q<{ text: string }>(`select text from messages order by id`)).map((r) => r.text);
      expect(texts).toEqual([RETENTION_MARKER, ERASED_MARKER]);
      expect(await comments()).toEqual([RETENTION_MARKER, ERASED_MARKER]);
      expect(await store.findCitizens({ platform: 'api', externalId: 'p2' })).toEqual([]);
    } finally {
      await db.close();
    }
  });
});
