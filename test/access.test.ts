/**
 * Who may call what, on the real API (PostgreSQL, Redis): every role of the regulation against every
 * endpoint class (allowed / refused, per the ACCESS table that the README prints), integration scopes,
 * staff login (argon2, lockout, CSRF), scope by agency, personal data by role, the audit trail, the
 * OpenAPI document.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS, type AccessClass } from '../src/api/access.ts';
import { ROLES } from '../src/store/seed.ts';
import { API_TOKEN, INGEST_TOKEN, ingestBody, ROOT, startTestApp, waitFor, type TestApp } from './helpers.ts';

describe('access control', () => {
  let t: TestApp;
  let messageId: number;
  let incidentId: number;
  const tokens = new Map<string, string>();

  const call = async (method: string, url: string, headers: Record<string, string>, body?: unknown) =>
    t.app.api!.inject({
      method: method as 'GET',
      url,
      headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) },
      payload: body ? JSON.stringify(body) : undefined,
    });

  /** One representative request per access class; «allowed» means neither 401 nor 403. */
  const PROBES: Record<AccessClass, () => [string, string, unknown?]> = {
    'messages.ingest': () => [
      'POST',
      '/api/v1/messages',
      ingestBody('В Бийске нет света на улице Мартьянова'),
    ],
    'messages.read': () => ['GET', `/api/v1/messages/${messageId}`],
    'labels.write': () => [
      'POST',
      `/api/v1/messages/${messageId}/labels`,
      { task: 'sentiment', label: 'negative' },
    ],
    'incidents.read': () => ['GET', '/api/v1/incidents?limit=1'],
    'incidents.act': () => ['POST', `/api/v1/incidents/${incidentId}/transitions`, { to: 'closed' }],
    'incidents.reply': () => [
      'POST',
      `/api/v1/incidents/${incidentId}/replies`,
      { text: 'Спасибо, работы ведутся.', key: `k${Math.random().toString(36).slice(2)}` },
    ],
    'drafts.read': () => ['GET', '/api/v1/drafts'],
    'drafts.decide': () => ['POST', '/api/v1/drafts/999999/reject', { reason: 'проверка прав' }],
    'analytics.read': () => ['GET', '/api/v1/analytics/slice?measure=incidents&by=sector'],
    'alerts.ack': () => ['POST', '/api/v1/alerts/999999/ack', {}],
    'reports.generate': () => ['POST', '/api/v1/reports/weekly', { week: '2999-01-01' }],
    'settings.read': () => ['GET', '/api/v1/settings/sectors'],
    'settings.write': () => ['PATCH', '/api/v1/settings/sectors/other', { active: true }],
    'users.manage': () => ['GET', '/api/v1/settings/users'],
    'outreach.read': () => ['GET', '/api/v1/campaigns'],
    'outreach.write': () => ['POST', '/api/v1/campaigns/999999/pause', {}],
    'outreach.approve': () => ['POST', '/api/v1/campaigns/999999/approve', {}],
    'privacy.manage': () => ['GET', '/api/v1/privacy/citizens?authorId=999999'],
  };

  beforeAll(async () => {
    t = await startTestApp({ roles: ['api', 'workers'] });
    const r = await call(
      'POST',
      '/api/v1/messages',
      { authorization: `Bearer ${INGEST_TOKEN}` },
      ingestBody('В Барнауле на улице Попова, 10 яма на дороге'),
    );
    messageId = (r.json() as { id: number }).id;
    incidentId = await waitFor(async () => {
      const m = await call('GET', `/api/v1/messages/${messageId}`, { authorization: `Bearer ${API_TOKEN}` });
      return (m.json() as { incidentId: number | null }).incidentId ?? undefined;
    });
    for (const role of ROLES) {
      const m = await t.app.staff.create({
        login: `u-${role.code}`,
        name: role.name,
        grants: [{ role: role.code }],
      });
      tokens.set(role.code, await t.app.staff.issueToken(m.id, 'test'));
    }
  });
  afterAll(async () => t?.close());

  it('the README documents every access class with the roles of the table', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    for (const [cls, rule] of Object.entries(ACCESS)) {
      const row = readme.split('\n').find((l) => l.startsWith(`| \`${cls}\``));
      expect(row, cls).toBeDefined();
      for (const role of rule.roles) expect(row, `${cls} ${role}`).toContain(role);
    }
  });

  it('every role against every endpoint class, as the table says', async () => {
    const wrong: string[] = [];
    for (const role of ROLES) {
      for (const [cls, probe] of Object.entries(PROBES) as [
        AccessClass,
        () => [string, string, unknown?],
      ][]) {
        const [method, url, body] = probe();
        const res = await call(method, url, { authorization: `Bearer ${tokens.get(role.code)}` }, body);
        const allowed = (ACCESS[cls].roles as readonly string[]).includes(role.code);
        const got = res.statusCode !== 401 && res.statusCode !== 403;
        if (allowed !== got)
          wrong.push(
            `${role.code} ${cls}: expected ${allowed ? 'allowed' : 'refused'}, got ${res.statusCode} ${res.body.slice(0, 120)}`,
          );
        if (!allowed && res.statusCode !== 403)
          wrong.push(`${role.code} ${cls}: refusal must be 403, got ${res.statusCode}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('integration tokens act by scope; drafts are for named staff only', async () => {
    const readOnly = await t.app.auth.createApiToken('dashboard', ['read']);
    const wrong: string[] = [];
    for (const [cls, probe] of Object.entries(PROBES) as [AccessClass, () => [string, string, unknown?]][]) {
      const [method, url, body] = probe();
      const res = await call(method, url, { authorization: `Bearer ${readOnly}` }, body);
      const allowed = (ACCESS[cls].scopes as readonly string[]).includes('read');
      if (allowed !== (res.statusCode !== 401 && res.statusCode !== 403))
        wrong.push(`${cls}: ${res.statusCode}`);
    }
    expect(wrong).toEqual([]);
    const drafts = await call('GET', '/api/v1/drafts', { authorization: `Bearer ${API_TOKEN}` });
    expect(drafts.statusCode).toBe(403);
    expect((await call('GET', '/api/v1/incidents', { authorization: 'Bearer int_forged' })).statusCode).toBe(
      401,
    );
    expect((await call('GET', '/api/v1/incidents', {})).statusCode).toBe(401);
  });

  it('an approved reply to an appeal no bot can answer (API ingest) reaches nobody and is not a first response', async () => {
    const r = await call(
      'POST',
      '/api/v1/messages',
      { authorization: `Bearer ${INGEST_TOKEN}` },
      ingestBody('В Бийске на улице Ленина, 3 не работает светофор'),
    );
    const id = (r.json() as { id: number }).id;
    const smm = { authorization: `Bearer ${tokens.get('smm')!}` };
    const draft = await waitFor(async () => {
      const m = await call('GET', `/api/v1/messages/${id}`, { authorization: `Bearer ${API_TOKEN}` });
      const inc = (m.json() as { incidentId: number | null }).incidentId;
      if (!inc) return undefined;
      const d = await call('GET', `/api/v1/drafts?incident=${inc}`, smm);
      return (d.json() as { items: { id: number; incidentId: number; kind: string }[] }).items.find(
        (x) => x.kind === 'acknowledgement',
      );
    });
    // A `{slot}` left unfilled is never sent, even «despite the remarks».
    const blocked = await call('POST', `/api/v1/drafts/${draft.id}/approve`, smm, {
      text: 'Здравствуйте! Работы выполнят до {deadline}. Спасибо за обращение.',
      acceptFailedChecks: true,
    });
    expect(blocked.statusCode).toBe(409);
    expect(blocked.json()).toMatchObject({ error: 'DRAFT_CHECKS_BLOCKING' });
    expect(
      (
        await t.app.database.query<{ status: string }>(`select status from reply_drafts where id = $1`, [
          draft.id,
        ])
      )[0]!.status,
    ).toBe('pending');
    const ok = await call('POST', `/api/v1/drafts/${draft.id}/approve`, smm, {
      text: 'Здравствуйте! Обращение принято, светофор на ул. Ленина, 3 проверят. Спасибо за обращение.',
      acceptFailedChecks: true,
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ status: 'sent', recipients: 0, queued: 0 });
    const [inc] = await t.app.database.query<{ first_responded_at: Date | null }>(
      `select first_responded_at from incidents where id = $1`,
      [draft.incidentId],
    );
    expect(inc!.first_responded_at).toBeNull();
    // A rejection's reason goes to the citizens as written, so a rude one is refused and nothing changes.
    const api = { authorization: `Bearer ${API_TOKEN}` };
    const rude = await call('POST', `/api/v1/incidents/${draft.incidentId}/transitions`, api, {
      to: 'rejected',
      reason: 'Сами виноваты, идиоты, нечего писать',
    });
    expect(rude.statusCode).toBe(400);
    expect(rude.json()).toMatchObject({ error: 'REASON_NOT_POLITE' });
    const [still] = await t.app.database.query<{ status: string }>(
      `select status from incidents where id = $1`,
      [draft.incidentId],
    );
    expect(still!.status).not.toBe('rejected');
    const polite = await call('POST', `/api/v1/incidents/${draft.incidentId}/transitions`, api, {
      to: 'rejected',
      reason: 'Светофор исправен: проверка 28.11 неисправности не выявила.',
    });
    expect(polite.statusCode).toBe(200);
  });

  it("an agency operator sees only their agency: the list is filtered and another agency's incident is refused", async () => {
    const inc = (
      await call('GET', `/api/v1/incidents/${incidentId}`, { authorization: `Bearer ${API_TOKEN}` })
    ).json() as { agencyId: string };
    const own = await t.app.staff.create({
      login: 'op-own',
      name: 'Свой',
      grants: [{ role: 'agency_operator', agencyId: inc.agencyId }],
    });
    const other = await t.app.staff.create({
      login: 'op-other',
      name: 'Чужой',
      grants: [{ role: 'agency_operator', agencyId: 'minzdrav' }],
    });
    const ownT = await t.app.staff.issueToken(own.id, 't');
    const otherT = await t.app.staff.issueToken(other.id, 't');
    expect(
      (await call('GET', `/api/v1/incidents/${incidentId}`, { authorization: `Bearer ${ownT}` })).statusCode,
    ).toBe(200);
    const refused = await call('GET', `/api/v1/incidents/${incidentId}`, {
      authorization: `Bearer ${otherT}`,
    });
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ error: 'FORBIDDEN_SCOPE' });
    const list = (await call('GET', '/api/v1/incidents', { authorization: `Bearer ${otherT}` })).json() as {
      items: { id: number }[];
    };
    expect(list.items.map((i) => i.id)).not.toContain(incidentId);
    // Nor its messages (text, attachments, place), by id, to read or to relabel.
    const msg = await call('GET', `/api/v1/messages/${messageId}`, { authorization: `Bearer ${otherT}` });
    expect(msg.statusCode).toBe(403);
    expect(msg.json()).toMatchObject({ error: 'FORBIDDEN_SCOPE' });
    expect(
      (await call('GET', `/api/v1/messages/${messageId}`, { authorization: `Bearer ${ownT}` })).statusCode,
    ).toBe(200);
    const relabel = await call(
      'POST',
      `/api/v1/messages/${messageId}/labels`,
      { authorization: `Bearer ${otherT}` },
      { task: 'sentiment', label: 'positive' },
    );
    expect(relabel.statusCode).toBe(403);
    // Nor its drafts in the approval queue.
    const drafts = (
      await call('GET', '/api/v1/drafts?status=pending,approved_once,sent', {
        authorization: `Bearer ${otherT}`,
      })
    ).json() as { items: { incidentId: number }[] };
    expect(drafts.items.map((d) => d.incidentId)).not.toContain(incidentId);
    const ownDrafts = (
      await call('GET', '/api/v1/drafts?status=pending,approved_once,sent', {
        authorization: `Bearer ${ownT}`,
      })
    ).json() as { items: { incidentId: number }[] };
    expect(ownDrafts.items.map((d) => d.incidentId)).toContain(incidentId);
  });

  it("citizens' names only for roles that may see personal data", async () => {
    const smm = (
      await call('GET', `/api/v1/incidents/${incidentId}`, { authorization: `Bearer ${tokens.get('smm')}` })
    ).json() as { messages: { author: string | null }[] };
    const analyst = (
      await call('GET', `/api/v1/incidents/${incidentId}`, {
        authorization: `Bearer ${tokens.get('analyst')}`,
      })
    ).json() as { messages: { author: string | null; text: string }[] };
    expect(smm.messages[0]!.author).not.toBeNull();
    expect(analyst.messages[0]!.author).toBeNull();
    expect(analyst.messages[0]!.text).toContain('Попова');
  });

  it('staff log in with a password; writes need the CSRF header; five failures lock the account', async () => {
    const m = await t.app.staff.create({ login: 'web-smm', name: 'Веб SMM', grants: [{ role: 'smm' }] });
    await t.app.auth.setPassword(m.id, 'correct horse battery');
    const bad = await call('POST', '/api/v1/auth/login', {}, { login: 'web-smm', password: 'wrong' });
    expect(bad.statusCode).toBe(401);
    const ok = await call(
      'POST',
      '/api/v1/auth/login',
      {},
      { login: 'web-smm', password: 'correct horse battery' },
    );
    expect(ok.statusCode).toBe(200);
    const { csrfToken, user } = ok.json() as { csrfToken: string; user: { roles: string[] } };
    expect(user.roles).toEqual(['smm']);
    const cookie = ok.cookies.find((c) => c.name === 'otklik_session')!;
    expect(cookie.httpOnly).toBe(true);
    expect(cookie.sameSite).toBe('Strict');
    const hdr = { cookie: `otklik_session=${cookie.value}` };
    expect((await call('GET', '/api/v1/drafts', hdr)).statusCode).toBe(200);
    const noCsrf = await call('POST', `/api/v1/messages/${messageId}/labels`, hdr, {
      task: 'sentiment',
      label: 'neutral',
    });
    expect(noCsrf.statusCode).toBe(403);
    expect(noCsrf.json()).toMatchObject({ error: 'CSRF_FAILED' });
    const withCsrf = await call(
      'POST',
      `/api/v1/messages/${messageId}/labels`,
      { ...hdr, 'x-csrf-token': csrfToken },
      { task: 'sentiment', label: 'neutral' },
    );
    expect(withCsrf.statusCode).toBe(201);
    expect((await call('POST', '/api/v1/auth/logout', hdr)).statusCode).toBe(204);
    expect((await call('GET', '/api/v1/drafts', hdr)).statusCode).toBe(401);
    const trail = await t.app.database.query<{ action: string; actor: string }>(
      `select action, actor from audit_log where entity = 'staff_user' and entity_id = $1 order by id`,
      [String(m.id)],
    );
    expect(trail.map((r) => r.action)).toEqual(['auth.login', 'auth.logout']);
    expect(trail.at(-1)!.actor).toBe('staff:web-smm');
    // Lockout: 5 wrong passwords in a row, then even the right one is refused with 423.
    for (let i = 0; i < 4; i++)
      expect(
        (await call('POST', '/api/v1/auth/login', {}, { login: 'web-smm', password: `x${i}` })).statusCode,
      ).toBe(401);
    expect(
      (await call('POST', '/api/v1/auth/login', {}, { login: 'web-smm', password: 'x5' })).statusCode,
    ).toBe(423);
    const locked = await call(
      'POST',
      '/api/v1/auth/login',
      {},
      { login: 'web-smm', password: 'correct horse battery' },
    );
    expect(locked.statusCode).toBe(423);
    expect(locked.json()).toMatchObject({ error: 'AUTH_LOCKED' });
    // Staff read the time in Barnaul's local form, not an ISO timestamp.
    expect(locked.json<{ message: string }>().message).toMatch(
      /вход заблокирован до \d{2}\.\d{2}\.\d{4},? \d{2}:\d{2} \(время барнаульское\)/,
    );
    const [row] = await t.app.database.query<{ password_hash: string }>(
      `select password_hash from staff_users where login = 'web-smm'`,
      [],
    );
    expect(row!.password_hash).toMatch(/^\$argon2id\$/);
  });

  it('every write is in the audit trail with who, before and after', async () => {
    const res = await call(
      'PATCH',
      '/api/v1/settings/sectors/roads',
      { authorization: `Bearer ${tokens.get('tech_admin')}` },
      { telegramChatId: '-100777' },
    );
    expect(res.statusCode).toBe(200);
    const audit = (
      await call('GET', '/api/v1/audit?entity=sector_block&entityId=roads', {
        authorization: `Bearer ${tokens.get('tech_admin')}`,
      })
    ).json() as {
      items: {
        actor: string;
        before: { telegramChatId: string | null };
        after: { telegramChatId: string };
      }[];
    };
    expect(audit.items[0]).toMatchObject({
      actor: 'staff:u-tech_admin',
      before: { telegramChatId: null },
      after: { telegramChatId: '-100777' },
    });
    const labels = (
      await call('GET', `/api/v1/audit?entity=message&entityId=${messageId}`, {
        authorization: `Bearer ${tokens.get('tech_admin')}`,
      })
    ).json() as { items: { action: string }[] };
    expect(labels.items.map((i) => i.action)).toContain('label.create');
  });

  it('settings forms: an empty scope means none (a rule for all municipalities, an unscoped grant)', async () => {
    const admin = { authorization: `Bearer ${tokens.get('tech_admin')}` };
    const rule = await call('POST', '/api/v1/settings/routing-rules', admin, {
      id: 'test-housing-all',
      sector: 'housing',
      municipality: '',
      agencyId: 'minstroy',
      priority: 1,
    });
    expect(rule.statusCode).toBe(201);
    expect(rule.json()).toMatchObject({ municipality: null });
    const user = await call('POST', '/api/v1/settings/users', admin, {
      login: 'curator2',
      name: 'Второй куратор',
      password: 'a long password 123',
      grants: [{ role: 'curator', sector: '', agencyId: '', municipality: '' }],
    });
    expect(user.statusCode).toBe(201);
    expect(user.json()).toMatchObject({
      grants: [{ role: 'curator', sector: null, agencyId: null, municipality: null }],
    });
    const bad = await call('POST', '/api/v1/settings/routing-rules', admin, {
      id: 'test-bad',
      sector: 'housing',
      agencyId: 'no-such-agency',
    });
    expect(bad.statusCode).toBe(400);
    // A calendar day that would make the calendar inconsistent (every deadline is computed on it) or that
    // falls in a year the calendar does not have is refused, and nothing is stored.
    const days = async () =>
      (await t.app.database.query<{ n: number }>(`select count(*)::int as n from calendar_days`, []))[0]!.n;
    const before = await days();
    for (const [body, code] of [
      [{ day: '2026-12-09', kind: 'working_weekend' }, 'CALENDAR_DAY_INVALID'], // a Wednesday
      [{ day: '2026-12-13', kind: 'short_day' }, 'CALENDAR_DAY_INVALID'], // a Sunday
      [{ day: '2031-05-05', kind: 'holiday' }, 'CALENDAR_YEAR_MISSING'],
    ] as const) {
      const r = await call('POST', '/api/v1/settings/calendar', admin, body);
      expect(r.statusCode, JSON.stringify(body)).toBe(400);
      expect(r.json()).toMatchObject({ error: code });
    }
    expect(await days()).toBe(before);
    const ok = await call('POST', '/api/v1/settings/calendar', admin, { day: '2026-12-14', kind: 'holiday' });
    expect(ok.statusCode).toBe(201);
    // Edits naming something that does not exist: 400 with the field, like the create forms, not a 500.
    const badRule = await call('PATCH', '/api/v1/settings/routing-rules/test-housing-all', admin, {
      agencyId: 'no-such-agency',
    });
    expect(badRule.statusCode).toBe(400);
    expect(badRule.json()).toMatchObject({ field: 'agencyId' });
    const [curator] = await t.app.database.query<{ id: number }>(
      `select id from staff_users where login = 'curator2'`,
      [],
    );
    const badUser = await call('PATCH', `/api/v1/settings/users/${curator!.id}`, admin, {
      grants: [{ role: 'curator', agencyId: 'no-such-agency' }],
    });
    expect(badUser.statusCode).toBe(400);
    expect(badUser.json()).toMatchObject({ field: 'grants' });
  });

  it('a deactivated agency gets no new incidents: its rules step aside, the sector block takes them', async () => {
    const admin = { authorization: `Bearer ${tokens.get('tech_admin')}` };
    const apiAuth = { authorization: `Bearer ${API_TOKEN}` };
    const route = async (text: string) => {
      const r = await call(
        'POST',
        '/api/v1/messages',
        { authorization: `Bearer ${INGEST_TOKEN}` },
        ingestBody(text),
      );
      const id = (r.json() as { id: number }).id;
      const incident = await waitFor(async () => {
        const m = await call('GET', `/api/v1/messages/${id}`, apiAuth);
        return (m.json() as { incidentId: number | null }).incidentId ?? undefined;
      });
      return (await call('GET', `/api/v1/incidents/${incident}`, apiAuth)).json() as {
        sector: string;
        agencyId: string | null;
      };
    };
    const first = await route('В Рубцовске на улице Комсомольской, 3 перестали ходить автобусы маршрута 7');
    expect(first.agencyId).not.toBeNull();
    const off = await call('PATCH', `/api/v1/settings/agencies/${first.agencyId}`, admin, { active: false });
    expect(off.statusCode).toBe(200);
    t.app.reference.invalidate();
    try {
      const second = await route(
        'В Рубцовске на улице Ленина, 40 отменили автобус маршрута 12, люди ждут часами',
      );
      expect(second.sector).toBe(first.sector);
      expect(second.agencyId).not.toBe(first.agencyId);
    } finally {
      await call('PATCH', `/api/v1/settings/agencies/${first.agencyId}`, admin, { active: true });
      t.app.reference.invalidate();
    }
  });

  it('finds incidents by Russian full-text search (word forms) and filters by channel and sentiment', async () => {
    const auth = { authorization: `Bearer ${API_TOKEN}` };
    const found = (
      await call('GET', `/api/v1/incidents?q=${encodeURIComponent('ямы дороги')}`, auth)
    ).json() as { items: { id: number }[] };
    expect(found.items.map((i) => i.id)).toContain(incidentId);
    const none = (
      await call('GET', `/api/v1/incidents?q=${encodeURIComponent('больница')}`, auth)
    ).json() as { items: unknown[] };
    expect(none.items).toHaveLength(0);
    const api = (await call('GET', '/api/v1/incidents?channel=api&sort=deadline', auth)).json() as {
      items: { id: number }[];
    };
    expect(api.items.map((i) => i.id)).toContain(incidentId);
    const social = (await call('GET', '/api/v1/incidents?channel=social', auth)).json() as {
      items: { id: number }[];
    };
    expect(social.items.map((i) => i.id)).not.toContain(incidentId);
  });

  it('streams live incident updates (Server-Sent Events) to a logged-in workspace', async () => {
    await t.app.api!.listen({ port: 0, host: '127.0.0.1' });
    const addr = t.app.api!.server.address() as { port: number };
    const ctrl = new AbortController();
    const res = await fetch(`http://127.0.0.1:${addr.port}/api/v1/stream`, {
      headers: { authorization: `Bearer ${tokens.get('center_head')}` },
      signal: ctrl.signal,
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    let text = '';
    const got = (async () => {
      while (!text.includes('event: incident')) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
    })();
    await new Promise((r) => setTimeout(r, 200));
    await call(
      'POST',
      `/api/v1/incidents/${incidentId}/transitions`,
      { authorization: `Bearer ${API_TOKEN}` },
      { to: 'spam' },
    );
    await Promise.race([got, new Promise((r) => setTimeout(r, 5000))]);
    ctrl.abort();
    expect(text).toContain('event: incident');
    expect(text).toContain(`"id":${incidentId}`);
    expect(text).toContain('"status":"spam"');
  });

  it('publishes an OpenAPI document and Swagger UI at /docs, each operation naming its access class', async () => {
    const ui = await call('GET', '/docs/', {});
    expect(ui.statusCode).toBe(200);
    expect(ui.body).toMatch(/swagger/i);
    const doc = (await call('GET', '/docs/json', {})).json() as {
      paths: Record<string, Record<string, { description?: string }>>;
    };
    expect(doc.paths['/api/v1/incidents']!.get!.description).toContain('incidents.read');
    expect(doc.paths['/api/v1/drafts/{id}/approve']!.post!.description).toContain('drafts.decide');
  });
});
