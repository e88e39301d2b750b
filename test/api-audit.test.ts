/**
 * The staff API under bad input and refusals (an audit of what a staff member or an integrator would
 * notice): dates out of range, huge ids and offsets, empty patches, taken logins and Telegram ids are a 4xx
 * naming the field, never a 500; a refused request writes nothing, and what is written is in the audit
 * trail; every error code the API raises with an English message has a Russian text in the workspace.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertIncident } from './analytics-fixtures.ts';
import { INGEST_TOKEN, ingestBody, ROOT, startTestApp, type TestApp } from './helpers.ts';

describe('staff API: bad input, refusals and the audit trail', () => {
  let t: TestApp;
  let admin: string;
  let smm: string;
  let curator: string;
  let incidentId: number;

  const call = (method: string, url: string, token: string, body?: unknown) =>
    t.app.api!.inject({
      method: method as 'GET',
      url,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      payload: body === undefined ? undefined : JSON.stringify(body),
    });
  const q = <T>(sql: string, params: unknown[] = []) => t.app.database.query<T>(sql, params);
  const auditCount = async (action: string) =>
    (await q<{ n: number }>(`select count(*)::int as n from audit_log where action = $1`, [action]))[0]!.n;

  beforeAll(async () => {
    t = await startTestApp({ roles: ['api'] });
    const token = async (login: string, roles: string[]) =>
      t.app.staff.issueToken(
        (await t.app.staff.create({ login, name: login, grants: roles.map((role) => ({ role })) })).id,
        'test',
      );
    admin = await token('audit-admin', ['tech_admin', 'center_head', 'smm']);
    smm = await token('audit-smm', ['smm']);
    curator = await token('audit-curator', ['curator']);
    incidentId = await insertIncident(t, {
      agency: 'mintrans',
      sector: 'transport',
      muni: 'barnaul',
      daysAgo: 1,
      status: 'assigned',
      dueH: 48,
    });
  });
  afterAll(async () => t?.close());

  it('dates outside 1970–2099 are a 400 naming the field (PostgreSQL refused the year 0: a 500)', async () => {
    const wrong: string[] = [];
    const expect400 = async (what: string, field: string, p: ReturnType<typeof call>, reason = /1970/) => {
      const r = await p;
      const body = r.json() as { error?: string; field?: string; reason?: string };
      if (r.statusCode !== 400 || body.field !== field)
        wrong.push(`${what}: ${r.statusCode} ${r.body.slice(0, 160)}`);
      else if (!reason.test(body.reason ?? ''))
        wrong.push(`${what}: the reason does not say which dates are allowed: ${body.reason}`);
    };
    const y0 = '0000-01-01T00:00:00Z';
    await expect400('incidents from', 'from', call('GET', `/api/v1/incidents?from=${y0}`, admin));
    await expect400('incidents to', 'to', call('GET', `/api/v1/incidents?to=${y0}`, admin));
    await expect400('map', 'from', call('GET', `/api/v1/analytics/map?from=${y0}`, admin));
    await expect400(
      'slice',
      'from',
      call('GET', `/api/v1/analytics/slice?measure=incidents&period=day&from=${y0}`, admin),
    );
    // The previous period of ratings reached before the year 1.
    await expect400(
      'ratings',
      'from',
      call('GET', '/api/v1/analytics/ratings?from=1000-01-01T00:00:00Z', admin),
    );
    await expect400(
      'ingest postedAt',
      'postedAt',
      call('POST', '/api/v1/messages', INGEST_TOKEN, ingestBody('Яма на дороге', { postedAt: y0 })),
    );
    await expect400(
      'campaign scheduledAt',
      'scheduledAt',
      call('POST', '/api/v1/campaigns', admin, {
        title: 'Новости',
        text: 'Текст рассылки',
        segmentId: 1,
        channel: 'telegram',
        scheduledAt: y0,
      }),
    );
    await expect400(
      'poll closesAt',
      'closesAt',
      call('POST', '/api/v1/polls', admin, {
        question: 'Вопрос?',
        options: ['да', 'нет'],
        channel: 'telegram',
        closesAt: '9999-12-31T00:00:00Z',
      }),
    );
    // A day that does not exist was rolled over to another week; a week of the year 1 became 1900.
    await expect400(
      'week 31 February',
      'week',
      call('GET', '/api/v1/reports/weekly?week=2025-02-31', admin),
      /not a valid date/,
    );
    await expect400(
      'week of the year 1',
      'week',
      call('GET', '/api/v1/reports/weekly?week=0001-01-01', admin),
      /2000/,
    );
    expect(wrong).toEqual([]);
    // Dates within the range still work, with any zone.
    const ok = await call('GET', '/api/v1/incidents?from=2025-01-01T00:00:00%2B07:00', admin);
    expect(ok.statusCode, ok.body).toBe(200);
    expect((ok.json() as { total: number }).total).toBe(1);
  });

  it('ids and offsets beyond what the database holds are a 400, not a 500', async () => {
    const huge = '100000000000000000000';
    const urls: [string, string, unknown?][] = [
      ['GET', `/api/v1/drafts?offset=${huge}`],
      ['GET', `/api/v1/drafts?incident=${huge}`],
      ['GET', `/api/v1/alerts?offset=${huge}`],
      ['POST', `/api/v1/alerts/${huge}/ack`, {}],
      ['GET', `/api/v1/audit?offset=${huge}`],
      ['GET', `/api/v1/campaigns?offset=${huge}`],
      ['GET', `/api/v1/campaigns/${huge}`],
      ['GET', `/api/v1/campaigns/1/deliveries?offset=${huge}`],
      ['GET', `/api/v1/polls?offset=${huge}`],
      ['GET', `/api/v1/polls/${huge}`],
      ['GET', `/api/v1/polls/audience?segmentId=${huge}`],
      ['GET', `/api/v1/discussions?offset=${huge}`],
      ['GET', `/api/v1/discussions/${huge}`],
      ['GET', `/api/v1/reports/${huge}/pdf`],
      ['PATCH', `/api/v1/settings/users/${huge}`, { name: 'Тест' }],
      [
        'POST',
        '/api/v1/polls',
        {
          question: 'Вопрос?',
          options: ['да', 'нет'],
          channel: 'telegram',
          segmentId: Number(huge),
          closesAt: '2090-01-01T00:00:00Z',
        },
      ],
      [
        'POST',
        '/api/v1/campaigns',
        { title: 'Т', text: 'Текст', segmentId: Number(huge), channel: 'telegram' },
      ],
    ];
    const wrong: string[] = [];
    for (const [method, url, body] of urls) {
      const r = await call(method, url, admin, body);
      const b = r.json() as { error?: string; field?: string };
      if (r.statusCode !== 400 || b.error !== 'VALIDATION_FAILED' || !b.field)
        wrong.push(`${method} ${url}: ${r.statusCode} ${r.body.slice(0, 120)}`);
    }
    expect(wrong).toEqual([]);
  });

  it('an empty PATCH of a sector block, agency or routing rule changes nothing (was a 500)', async () => {
    const before = await auditCount('settings.agency.update');
    for (const url of [
      '/api/v1/settings/sectors/roads',
      '/api/v1/settings/agencies/mintrans',
      '/api/v1/settings/routing-rules/muni-amenities-aleysk',
    ]) {
      const r = await call('PATCH', url, admin, {});
      expect(r.statusCode, `${url} ${r.body}`).toBe(200);
    }
    expect(
      ((await call('PATCH', '/api/v1/settings/agencies/mintrans', admin, {})).json() as { id: string }).id,
    ).toBe('mintrans');
    expect(await auditCount('settings.agency.update')).toBe(before);
  });

  it('a login of a deactivated user and a Telegram id of another active user are a 409, nothing written', async () => {
    const create = (login: string, telegramUserId?: string) =>
      call('POST', '/api/v1/settings/users', admin, {
        login,
        name: 'Сотрудник',
        password: 'correct-horse-42',
        grants: [{ role: 'smm' }],
        ...(telegramUserId ? { telegramUserId } : {}),
      });
    const users = async () => (await q<{ n: number }>(`select count(*)::int as n from staff_users`))[0]!.n;

    const first = await create('gone', '5550001');
    expect(first.statusCode, first.body).toBe(201);
    const goneId = (first.json() as { id: number }).id;
    expect(
      (await call('PATCH', `/api/v1/settings/users/${goneId}`, admin, { active: false })).statusCode,
    ).toBe(200);
    const n = await users();
    // The unique login index made this a 500 (only active users were looked up).
    const again = await create('gone');
    expect(again.statusCode, again.body).toBe(409);
    expect((again.json() as { error: string }).error).toBe('EXISTS');

    // The deactivated user's Telegram id is free again; an active user's is not.
    const taker = await create('taker', '5550001');
    expect(taker.statusCode, taker.body).toBe(201);
    const takerId = (taker.json() as { id: number }).id;
    const dup = await create('dup', '5550001');
    expect(dup.statusCode, dup.body).toBe(409);
    expect(dup.json()).toMatchObject({ error: 'TELEGRAM_ID_IN_USE', field: 'telegramUserId' });
    expect(await users()).toBe(n + 1);

    const other = await create('other', '5550002');
    const otherId = (other.json() as { id: number }).id;
    const patch = await call('PATCH', `/api/v1/settings/users/${otherId}`, admin, {
      telegramUserId: '5550001',
      name: 'Переименован',
    });
    expect(patch.statusCode, patch.body).toBe(409);
    const [row] = await q<{ name: string; telegram_user_id: string }>(
      `select name, telegram_user_id from staff_users where id = $1`,
      [otherId],
    );
    expect(row).toEqual({ name: 'Сотрудник', telegram_user_id: '5550002' });
    // Reactivating the old user whose id is now someone else's is refused too; keeping one's own id is fine.
    const back = await call('PATCH', `/api/v1/settings/users/${goneId}`, admin, { active: true });
    expect(back.statusCode, back.body).toBe(409);
    const own = await call('PATCH', `/api/v1/settings/users/${takerId}`, admin, {
      telegramUserId: '5550001',
    });
    expect(own.statusCode, own.body).toBe(200);
  });

  it('a refused label correction (message not analysed yet) is not in the audit trail', async () => {
    const r = await call('POST', '/api/v1/messages', INGEST_TOKEN, ingestBody('Не вывозят мусор в Бийске'));
    const messageId = (r.json() as { id: number }).id;
    const before = await auditCount('label.create');
    const res = await call('POST', `/api/v1/messages/${messageId}/labels`, admin, {
      task: 'sector',
      label: 'waste',
    });
    expect(res.statusCode, res.body).toBe(409);
    expect((res.json() as { error: string }).error).toBe('MESSAGE_NOT_ANALYZED');
    expect(await auditCount('label.create')).toBe(before);
  });

  it('approving with a changed text: refused by role → nothing written; refused by checks → the edit is audited', async () => {
    const addDraft = async (key: string) => {
      const [row] = await q<{ id: number }>(
        `insert into reply_drafts (incident_id, key, kind, text, checks)
         values ($1, $2, 'acknowledgement', 'Ваше обращение по Барнаулу принято.', '[]') returning id`,
        [incidentId, key],
      );
      return row!.id;
    };
    const draftRow = async (id: number) =>
      (
        await q<{ text: string; status: string }>(`select text, status from reply_drafts where id = $1`, [id])
      )[0];
    const edited = async (id: number) =>
      (
        await q<{ n: number }>(
          `select count(*)::int as n from incident_events where type = 'draft_edited' and (data->>'draftId')::int = $1`,
          [id],
        )
      )[0]!.n;

    // A curator gives second approvals only: a changed text needs a first approval again, so the request is
    // refused — and used to leave the draft edited (text, approvals reset) without an audit entry.
    const a = await addDraft('audit:a');
    const refused = await call('POST', `/api/v1/drafts/${a}/approve`, curator, {
      text: 'Здравствуйте! Новый текст ответа.',
    });
    expect(refused.statusCode, refused.body).toBe(403);
    expect(await draftRow(a)).toEqual({ text: 'Ваше обращение по Барнаулу принято.', status: 'pending' });
    expect(await edited(a)).toBe(0);

    // SMM changes the text, its checks fail (no address or municipality): 409, the text is kept with its
    // checks to fix or accept, and the edit is in the audit trail.
    const b = await addDraft('audit:b');
    const editsBefore = await auditCount('draft.edit');
    const failed = await call('POST', `/api/v1/drafts/${b}/approve`, smm, {
      text: 'Здравствуйте! Спасибо за обращение.',
    });
    expect(failed.statusCode, failed.body).toBe(409);
    expect((failed.json() as { error: string }).error).toBe('DRAFT_CHECKS_FAILED');
    expect((await draftRow(b))!.text).toBe('Здравствуйте! Спасибо за обращение.');
    expect(await auditCount('draft.edit')).toBe(editsBefore + 1);
    const [entry] = await q<{ actor: string; before: { text: string }; after: { text: string } }>(
      `select actor, before, after from audit_log where action = 'draft.edit' and entity_id = $1`,
      [String(b)],
    );
    expect(entry).toEqual({
      actor: 'staff:audit-smm',
      before: { text: 'Ваше обращение по Барнаулу принято.' },
      after: { text: 'Здравствуйте! Спасибо за обращение.' },
    });
  });

  /** A new roads incident in Biysk (agency altayavtodor). */
  const roads = () =>
    insertIncident(t, {
      agency: 'altayavtodor',
      sector: 'roads',
      muni: 'biysk',
      daysAgo: 1,
      status: 'new',
      dueH: 48,
    });

  it("suggested replies of a draft are only those of incidents within the reader's scope", async () => {
    const [own, target] = [await roads(), await roads()];
    const suggestions = [
      { draftId: 9001, incidentId, text: 'Ответ по транспорту: маршрут № 17 восстановлен.', similarity: 0.6 },
      { draftId: 9002, incidentId: own, text: 'Ответ по дороге в Бийске: яму заделали.', similarity: 0.5 },
    ];
    const [row] = await q<{ id: number }>(
      `insert into reply_drafts (incident_id, key, kind, text, suggestions)
       values ($1, 'audit:suggest', 'acknowledgement', 'Ваше обращение по Бийску принято.', $2) returning id`,
      [target, JSON.stringify(suggestions)],
    );
    const draftId = Number(row!.id);
    const head = await t.app.staff.issueToken(
      (
        await t.app.staff.create({
          login: 'audit-roads-head',
          name: 'Начальник блока',
          grants: [{ role: 'sector_head', sector: 'roads' }],
        })
      ).id,
      'test',
    );
    type Draft = { id: number; suggestions: { incidentId: number }[] };
    const one = await call('GET', `/api/v1/drafts/${draftId}`, head);
    expect(one.statusCode, one.body).toBe(200);
    expect((one.json() as Draft).suggestions.map((x) => x.incidentId)).toEqual([own]);
    const list = await call('GET', `/api/v1/drafts?incident=${target}`, head);
    expect(
      (list.json() as { items: Draft[] }).items.map((d) => d.suggestions.map((x) => x.incidentId)),
    ).toEqual([[own]]);
    // An unscoped reader sees them all.
    const all = await call('GET', `/api/v1/drafts/${draftId}`, admin);
    expect((all.json() as Draft).suggestions.map((x) => x.incidentId)).toEqual([incidentId, own]);
  });

  it('a draft read by a role without access to personal data shows its contacts masked; SMM sees them', async () => {
    const target = await roads();
    const text = 'Уважаемый заявитель! Мы перезвоним вам по номеру +7 913 555-12-34.';
    const [row] = await q<{ id: number }>(
      `insert into reply_drafts (incident_id, key, kind, text) values ($1, 'audit:mask', 'acknowledgement', $2)
       returning id`,
      [target, text],
    );
    const tokenOf = async (login: string, role: string) =>
      t.app.staff.issueToken(
        (await t.app.staff.create({ login, name: login, grants: [{ role }] })).id,
        'test',
      );
    const read = async (token: string) =>
      (await call('GET', `/api/v1/drafts/${Number(row!.id)}`, token)).json() as { text: string };
    const masked = (await read(await tokenOf('audit-analyst-pd', 'analyst'))).text;
    expect(masked).not.toContain('555-12-34');
    expect(masked).toContain('+7 *** ***-**-34');
    expect((await read(await tokenOf('audit-smm-pd', 'smm'))).text).toBe(text);
  });

  it('every error code raised with an English message has a Russian text in the workspace', () => {
    const web = fs.readFileSync(path.join(ROOT, 'web/src/api.ts'), 'utf8');
    const map = web.slice(web.indexOf('const RU_ERRORS'), web.indexOf('};', web.indexOf('const RU_ERRORS')));
    const mapped = new Set([...map.matchAll(/^\s+([A-Z_]+):/gm)].map((m) => m[1]!));
    // Codes whose messages are written in Russian for staff, or that staff never meet (webhooks).
    const russianOrInternal = new Set([
      'CAMPAIGN_STATE',
      'CAMPAIGN_SELF_APPROVAL',
      'CAMPAIGN_INVALID',
      'POLL_SELF_APPROVAL',
      'SEGMENT_IN_USE',
      'WEBHOOK_FORGED',
    ]);
    const files = ['src/api', 'src/responders', 'src/domain'].flatMap((dir) =>
      fs
        .readdirSync(path.join(ROOT, dir))
        .filter((f) => f.endsWith('.ts'))
        .map((f) => path.join(ROOT, dir, f)),
    );
    const raised = new Set(
      files.flatMap((f) => [...fs.readFileSync(f, 'utf8').matchAll(/code: '([A-Z_]+)'/g)].map((m) => m[1]!)),
    );
    expect(raised.size).toBeGreaterThan(20);
    expect([...raised].filter((c) => !mapped.has(c) && !russianOrInternal.has(c)).sort()).toEqual([]);
  });
});
