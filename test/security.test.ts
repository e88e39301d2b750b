/**
 * Hostile callers, on the real app (PostgreSQL, Redis, workers, Telegram and VK emulators): forged and
 * replayed webhooks, missing / wrong / expired / revoked credentials on every protected route, SQL and HTML
 * in every text field of the write routes (stored verbatim as text, read back equal, tables intact, never
 * served as HTML), CSRF on every state-changing route of the route table, and brute force on login (lockout
 * per account, parallel guesses included, and throttling per client address).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteEntry } from '../src/api/server.ts';
import { LOGIN_IP_MAX_FAILURES } from '../src/api/auth.routes.ts';
import { MAX_FAILED_LOGINS } from '../src/store/auth.store.ts';
import { ROLES } from '../src/store/seed.ts';
import { startTelegramEmulator, type TelegramEmulator } from './emulators/telegram.ts';
import { startVkEmulator, type VkEmulator } from './emulators/vk.ts';
import {
  API_TOKEN,
  freePort,
  INGEST_TOKEN,
  ingestBody,
  ROOT,
  startTestApp,
  waitFor,
  type TestApp,
} from './helpers.ts';

const BOT = '700100950:AAsecurity-bot-token-0123456789ab';
const BOT_ID = '700100950';
const GROUP = 777950;
const VK_TOKEN = 'vk1.a.security-community-token-0001';
const VK_SECRET = 'security-callback-secret-42';
const INSTALLATION_SECRET = 'security-installation-secret-0123456789';

const SQL = [
  "'; drop table messages; --",
  "' or 1=1 --",
  '" or ""="',
  "1; delete from staff_users where '1'='1",
  "'); truncate incidents cascade; --",
  "x' union select password_hash, login from staff_users --",
  "'; select pg_sleep(5); --",
  "$1 $$ \\x00 E'\\047'",
];
const HTML = [
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(1)>',
  '"><svg onload=alert(document.cookie)>',
  'javascript:alert(1)',
  '&lt;b&gt;&amp;',
  '{{constructor.constructor("alert(1)")()}}',
];
const PAYLOADS = [...SQL, ...HTML];

/** Harmless values for path parameters: ids that do not exist. */
function fill(url: string): string {
  return url
    .replace(/:day\b/, '2999-01-01')
    .replace(/:kind\b/, 'holiday')
    .replace(/:format\b/, 'pdf')
    .replace(/:botId\b/, BOT_ID)
    .replace(/:groupId\b/, String(GROUP))
    .replace(/:token\b/, 'no-such-token')
    .replace(/:n\b/, '1')
    .replace(/:[A-Za-z]+/g, '999999999')
    .replace(/\*$/, '');
}
const WRITE = ['POST', 'PUT', 'PATCH', 'DELETE'];

describe('security', () => {
  let t: TestApp;
  let tg: TelegramEmulator;
  let vk: VkEmulator;
  let base: string;
  let tgSecret: string;
  let routes: RouteEntry[];
  const tokens = new Map<string, string>();

  const call = (
    method: string,
    url: string,
    headers: Record<string, string> = {},
    body?: unknown,
    remoteAddress?: string,
  ) =>
    t.app.api!.inject({
      method: method as 'GET',
      url,
      headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      payload: body !== undefined ? JSON.stringify(body) : undefined,
      ...(remoteAddress ? { remoteAddress } : {}),
    });
  const as = (role: string) => ({ authorization: `Bearer ${tokens.get(role)}` });
  const api = { authorization: `Bearer ${API_TOKEN}` };
  const counts = async () => {
    const [r] = await t.app.database.query<{ m: string; a: string; d: string }>(
      `select (select count(*) from messages) as m, (select count(*) from authors) as a,
              (select count(*) from bot_dialogs) as d`,
      [],
    );
    return { messages: Number(r!.m), authors: Number(r!.a), dialogs: Number(r!.d) };
  };
  const tables = async () =>
    (
      await t.app.database.query<{ tablename: string }>(
        `select tablename from pg_tables where schemaname = 'public' order by tablename`,
        [],
      )
    ).map((r) => r.tablename);

  /** A staff member with a password; returns a logged-in session. */
  async function session(login: string, roles: string[], remoteAddress?: string) {
    const m = await t.app.staff.create({ login, name: login, grants: roles.map((role) => ({ role })) });
    await t.app.auth.setPassword(m.id, 'correct horse battery');
    const res = await call(
      'POST',
      '/api/v1/auth/login',
      {},
      { login, password: 'correct horse battery' },
      remoteAddress,
    );
    expect(res.statusCode, res.body).toBe(200);
    const cookie = res.cookies.find((c) => c.name === 'otklik_session')!.value;
    return { id: m.id, cookie, csrf: (res.json() as { csrfToken: string }).csrfToken };
  }

  beforeAll(async () => {
    tg = await startTelegramEmulator();
    tg.addBot(BOT, { username: 'security_bot' });
    vk = await startVkEmulator();
    vk.addGroup(GROUP, VK_TOKEN);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    t = await startTestApp({
      roles: ['api', 'workers', 'connectors'],
      listen: true,
      env: {
        PORT: String(port),
        ANALYZER: 'classic',
        TELEGRAM_BOT_TOKEN: BOT,
        TELEGRAM_API_ROOT: tg.url,
        TELEGRAM_WEBHOOK_URL: base,
        TELEGRAM_WEBHOOK_SECRET: INSTALLATION_SECRET,
        VK_GROUP_TOKEN: VK_TOKEN,
        VK_GROUP_ID: String(GROUP),
        VK_API_BASE_URL: vk.apiBaseUrl,
        VK_CONFIRMATION: 'secconfirm',
        VK_CALLBACK_SECRET: VK_SECRET,
      },
    });
    tgSecret = tg.webhook(BOT)!.secret_token!;
    routes = t.app.api!.routeTable;
    for (const role of ROLES) {
      const m = await t.app.staff.create({
        login: `r-${role.code}`,
        name: role.name,
        grants: [{ role: role.code }],
      });
      tokens.set(role.code, await t.app.staff.issueToken(m.id, 'test'));
    }
  });
  afterAll(async () => {
    await t?.close();
    await tg?.close();
    await vk?.close();
  });

  // ---- webhooks -------------------------------------------------------------------------------------

  const channelPost = (updateId: number, messageId: number, text: string) => ({
    update_id: updateId,
    channel_post: {
      message_id: messageId,
      date: Math.floor(Date.now() / 1000),
      chat: { id: -1001234567, type: 'channel', title: 'Новости Бийска' },
      sender_chat: { id: -1001234567, type: 'channel', title: 'Новости Бийска' },
      text,
    },
  });
  const postTelegram = (
    update: unknown,
    headers: Record<string, string>,
    url = `/webhooks/telegram/${BOT_ID}`,
  ) => call('POST', url, headers, update);
  const wallReply = (eventId: string, commentId: number, extra: Record<string, unknown> = {}) => ({
    type: 'wall_reply_new',
    group_id: GROUP,
    event_id: eventId,
    object: {
      id: commentId,
      from_id: 31337,
      date: Math.floor(Date.now() / 1000),
      text: 'В Бийске на улице Ленина не убирают снег',
      post_id: 5,
      owner_id: -GROUP,
    },
    ...extra,
  });

  it('forged webhooks (no, wrong or misplaced secret) are refused 401/404/400 and store nothing', async () => {
    const before = await counts();
    const update = channelPost(101, 7, 'Поддельная новость про воду в Бийске');
    const forged: [string, Promise<{ statusCode: number; json: () => unknown }>, number][] = [
      ['no secret header', postTelegram(update, {}), 401],
      ['a wrong secret', postTelegram(update, { 'x-telegram-bot-api-secret-token': 'guess' }), 401],
      [
        'the secret plus a space',
        postTelegram(update, { 'x-telegram-bot-api-secret-token': `${tgSecret} ` }),
        401,
      ],
      [
        'the installation secret (not the per-bot one)',
        postTelegram(update, { 'x-telegram-bot-api-secret-token': INSTALLATION_SECRET }),
        401,
      ],
      [
        'the secret in the query string',
        postTelegram(update, {}, `/webhooks/telegram/${BOT_ID}?secret_token=${tgSecret}`),
        401,
      ],
      ['the secret as a bearer token', postTelegram(update, { authorization: `Bearer ${tgSecret}` }), 401],
      [
        'an API token instead of the secret',
        postTelegram(update, { authorization: `Bearer ${API_TOKEN}` }),
        401,
      ],
      [
        'the right secret for a bot that is not ours',
        postTelegram(update, { 'x-telegram-bot-api-secret-token': tgSecret }, '/webhooks/telegram/1'),
        404,
      ],
      ['VK: no secret', call('POST', `/webhooks/vk/${GROUP}`, {}, wallReply('f1', 900)), 401],
      [
        'VK: a wrong secret',
        call('POST', `/webhooks/vk/${GROUP}`, {}, wallReply('f2', 900, { secret: 'wrong' })),
        401,
      ],
      [
        'VK: the secret in a header',
        call('POST', `/webhooks/vk/${GROUP}`, { 'x-secret': VK_SECRET }, wallReply('f3', 900)),
        401,
      ],
      [
        'VK: the secret as a number',
        call('POST', `/webhooks/vk/${GROUP}`, {}, wallReply('f4', 900, { secret: 42 })),
        401,
      ],
      [
        'VK: the right secret for another community',
        call('POST', `/webhooks/vk/${GROUP}`, {}, wallReply('f5', 900, { secret: VK_SECRET, group_id: 1 })),
        400,
      ],
      [
        'VK: a community that is not ours',
        call('POST', '/webhooks/vk/1', {}, wallReply('f6', 900, { secret: VK_SECRET, group_id: 1 })),
        404,
      ],
    ];
    const wrong: string[] = [];
    for (const [what, p, status] of forged) {
      const res = await p;
      if (res.statusCode !== status) wrong.push(`${what}: expected ${status}, got ${res.statusCode}`);
      if (status === 401) expect(res.json(), what).toMatchObject({ error: 'WEBHOOK_FORGED' });
    }
    expect(wrong).toEqual([]);
    // the confirmation request carries no secret (VK's design): it gets the string, and stores nothing
    const conf = await call('POST', `/webhooks/vk/${GROUP}`, {}, { type: 'confirmation', group_id: GROUP });
    expect(conf.body).toBe('secconfirm');
    expect(await counts()).toEqual(before);
  });

  it('replayed webhooks (the same update_id / event_id again, or the same message in a new one) are stored once', async () => {
    const before = await counts();
    const ok = { 'x-telegram-bot-api-secret-token': tgSecret };
    const update = channelPost(202, 8, 'В Бийске третий день нет горячей воды на улице Мухачёва');
    for (let i = 0; i < 3; i++) expect((await postTelegram(update, ok)).statusCode).toBe(200);
    // the same post delivered again under a new update_id (a restarted sender): still one message
    expect((await postTelegram({ ...update, update_id: 203 }, ok)).statusCode).toBe(200);
    const event = wallReply('evt-777', 901, { secret: VK_SECRET });
    for (let i = 0; i < 3; i++)
      expect((await call('POST', `/webhooks/vk/${GROUP}`, {}, event)).body).toBe('ok');
    expect((await call('POST', `/webhooks/vk/${GROUP}`, {}, { ...event, event_id: 'evt-778' })).body).toBe(
      'ok',
    );
    const after = await counts();
    expect(after.messages - before.messages).toBe(2);
    const rows = await t.app.database.query<{ source_id: string; n: string }>(
      `select source_id, count(*) as n from messages where source_id in ($1, $2) group by source_id`,
      [`telegram:${BOT_ID}:public`, `vk:${GROUP}:public`],
    );
    expect(rows.map((r) => [r.source_id, Number(r.n)]).sort()).toEqual(
      [
        [`telegram:${BOT_ID}:public`, 1],
        [`vk:${GROUP}:public`, 1],
      ].sort(),
    );
  });

  // ---- credentials ----------------------------------------------------------------------------------

  it('missing, wrong, expired, revoked and logged-out credentials get 401 on every protected route', async () => {
    const expired = await session('sec-expired', ['tech_admin']);
    await t.app.database.query(
      `update staff_sessions set expires_at = now() - interval '1 minute' where user_id = $1`,
      [expired.id],
    );
    const loggedOut = await session('sec-loggedout', ['tech_admin']);
    expect(
      (await call('POST', '/api/v1/auth/logout', { cookie: `otklik_session=${loggedOut.cookie}` }))
        .statusCode,
    ).toBe(204);
    const revoked = await t.app.staff.create({
      login: 'sec-revoked',
      name: 'x',
      grants: [{ role: 'tech_admin' }],
    });
    const revokedToken = await t.app.staff.issueToken(revoked.id, 't');
    await t.app.database.query(`update staff_tokens set revoked = true where user_id = $1`, [revoked.id]);
    const gone = await t.app.staff.create({ login: 'sec-gone', name: 'x', grants: [{ role: 'tech_admin' }] });
    const goneToken = await t.app.staff.issueToken(gone.id, 't');
    const goneSession = await session('sec-gone2', ['tech_admin']);
    await t.app.database.query(`update staff_users set active = false where id = any($1)`, [
      [gone.id, goneSession.id],
    ]);
    const intRevoked = await t.app.auth.createApiToken('revoked', ['read', 'settings', 'incidents:write']);
    await t.app.database.query(`update api_tokens set revoked = true where name = 'revoked'`, []);

    const CREDENTIALS: Record<string, Record<string, string>> = {
      none: {},
      'a wrong bearer': { authorization: 'Bearer wrong-token-0123456789' },
      'a forged staff token': { authorization: 'Bearer stf_forged0123456789abcdefghijkl' },
      'a forged integration token': { authorization: 'Bearer int_forged0123456789abcdefghijk' },
      'an integration token one character short': { authorization: `Bearer ${API_TOKEN.slice(0, -1)}` },
      'Basic auth': { authorization: `Basic ${Buffer.from(`admin:${API_TOKEN}`).toString('base64')}` },
      'Bearer with no token': { authorization: 'Bearer ' },
      'the token without "Bearer"': { authorization: API_TOKEN },
      'the token in a query-ish header': { 'x-api-token': API_TOKEN },
      'a forged session cookie': { cookie: 'otklik_session=forged-session-id' },
      'an expired session': { cookie: `otklik_session=${expired.cookie}`, 'x-csrf-token': expired.csrf },
      'a logged-out session': {
        cookie: `otklik_session=${loggedOut.cookie}`,
        'x-csrf-token': loggedOut.csrf,
      },
      'a revoked staff token': { authorization: `Bearer ${revokedToken}` },
      "a deactivated member's token": { authorization: `Bearer ${goneToken}` },
      "a deactivated member's session": {
        cookie: `otklik_session=${goneSession.cookie}`,
        'x-csrf-token': goneSession.csrf,
      },
      'a revoked integration token': { authorization: `Bearer ${intRevoked}` },
      // a valid cookie does not rescue a bad bearer: the bearer is what counts
      'a wrong bearer next to a good session': {
        authorization: 'Bearer wrong-token-0123456789',
        cookie: `otklik_session=${(await session('sec-good', ['tech_admin'])).cookie}`,
      },
    };
    const protectedRoutes = routes.filter((r) => r.access && r.method !== 'HEAD');
    expect(protectedRoutes.length).toBeGreaterThan(50);
    const wrong: string[] = [];
    for (const r of protectedRoutes)
      for (const [what, headers] of Object.entries(CREDENTIALS)) {
        const res = await call(r.method, fill(r.url), headers, WRITE.includes(r.method) ? [] : undefined);
        if (res.statusCode !== 401)
          wrong.push(`${r.method} ${r.url} with ${what}: ${res.statusCode} ${res.body.slice(0, 100)}`);
        else if (!['AUTH_REQUIRED', 'AUTH_INVALID'].includes((res.json() as { error: string }).error))
          wrong.push(`${r.method} ${r.url} with ${what}: ${res.body.slice(0, 100)}`);
      }
    expect(wrong).toEqual([]);
  });

  // ---- injection ------------------------------------------------------------------------------------

  it('SQL and HTML in every text field of the write routes are stored verbatim as text, read back equal; the tables are intact', async () => {
    const tablesBefore = await tables();
    const json = (
      res: { statusCode: number; body: string; headers: Record<string, unknown> },
      what: string,
    ) => {
      expect(res.statusCode, `${what}: ${res.body.slice(0, 300)}`).toBeLessThan(300);
      expect(String(res.headers['content-type']), what).toMatch(/^application\/json/);
      expect(res.headers['x-content-type-options'], what).toBe('nosniff');
      return JSON.parse(res.body) as Record<string, unknown>;
    };
    const pad = (p: string) => `${p} (проверка)`; // fields with a minimum length
    const problems: string[] = [];
    const same = (what: string, got: unknown, want: unknown) => {
      if (got !== want) problems.push(`${what}: stored ${JSON.stringify(got)}, sent ${JSON.stringify(want)}`);
    };

    // 1. ingest: text, author id and name, external id, parent id
    const ids: number[] = [];
    for (const [i, p] of PAYLOADS.entries()) {
      const body = ingestBody(`Яма на дороге в Барнауле ${p}`, {
        externalId: `ext ${p}`,
        author: { id: `author ${p}`, name: p },
        parentExternalId: `parent ${p}`,
      }) as ReturnType<typeof ingestBody> & { parentExternalId: string };
      const res = await call('POST', '/api/v1/messages', { authorization: `Bearer ${INGEST_TOKEN}` }, body);
      const { id } = json(res, `ingest ${i}`) as { id: number };
      ids.push(id);
      const m = json(await call('GET', `/api/v1/messages/${id}`, as('smm')), `message ${i}`) as {
        text: string;
        author: { name: string; id: string } | string | null;
        externalId?: string;
      };
      same(`message ${i} text`, m.text, body.text);
      const [row] = await t.app.database.query<{
        external_id: string;
        parent_external_id: string;
        name: string;
        author_ext: string;
      }>(
        `select m.external_id, m.parent_external_id, a.name, a.external_id as author_ext
           from messages m join authors a on a.id = m.author_id where m.id = $1`,
        [id],
      );
      same(`message ${i} external id`, row!.external_id, body.externalId);
      same(`message ${i} parent id`, row!.parent_external_id, body.parentExternalId);
      same(`message ${i} author name`, row!.name, p);
      same(`message ${i} author id`, row!.author_ext, `author ${p}`);
    }
    // the analysis runs on them like on any text: incidents and drafts appear
    const incidentId = await waitFor(async () => {
      const m = (await call('GET', `/api/v1/messages/${ids[0]}`, api)).json() as {
        incidentId: number | null;
      };
      return m.incidentId ?? undefined;
    });

    // 2. labels: the task and label are from fixed lists — injected values are refused 400, not run
    for (const p of PAYLOADS) {
      const res = await call('POST', `/api/v1/messages/${ids[0]}/labels`, api, { task: p, label: p });
      if (res.statusCode !== 400) problems.push(`label ${p}: ${res.statusCode}`);
    }

    // 3. drafts: an edited text and a rejection reason
    const draftId = await waitFor(async () => {
      const inc = (await call('GET', `/api/v1/incidents/${incidentId}`, as('smm'))).json() as {
        drafts?: { id: number }[];
      };
      return inc.drafts?.[0]?.id;
    });
    for (const p of PAYLOADS) {
      const res = await call('POST', `/api/v1/drafts/${draftId}/edit`, as('smm'), { text: p });
      json(res, `draft edit ${p}`);
      same(
        `draft text`,
        (json(await call('GET', `/api/v1/drafts/${draftId}`, as('smm')), 'draft') as { text: string }).text,
        p,
      );
    }
    const rej = await call('POST', `/api/v1/drafts/${draftId}/reject`, as('smm'), { reason: SQL[0] });
    json(rej, 'draft reject');
    same('draft rejection reason', (rej.json() as { rejectedReason: string }).rejectedReason, SQL[0]);

    // 4. incident transitions (reasons) and official replies (text), read back from the audit trail
    const admin = as('tech_admin');
    const auditAfter = async (entity: string, entityId: number | string, action: string) => {
      const items = (
        json(
          await call('GET', `/api/v1/audit?entity=${entity}&entityId=${entityId}&limit=500`, admin),
          'audit',
        ) as {
          items: { action: string; after: Record<string, unknown> }[];
        }
      ).items;
      return items.filter((x) => x.action === action).map((x) => x.after);
    };
    let status = ((await call('GET', `/api/v1/incidents/${incidentId}`, api)).json() as { status: string })
      .status;
    for (const p of PAYLOADS) {
      // new/assigned → rejected (reason) → reopened (reason) → assigned → …
      if (status === 'rejected' || status === 'spam') {
        json(
          await call('POST', `/api/v1/incidents/${incidentId}/transitions`, api, {
            to: 'reopened',
            reason: p,
          }),
          `reopen ${p}`,
        );
        status = 'reopened';
      }
      if (status === 'reopened') {
        json(
          await call('POST', `/api/v1/incidents/${incidentId}/transitions`, api, { to: 'assigned' }),
          'assign',
        );
        status = 'assigned';
      }
      if (status === 'new' || status === 'assigned') {
        json(
          await call('POST', `/api/v1/incidents/${incidentId}/transitions`, api, {
            to: 'rejected',
            reason: p,
          }),
          `reject ${p}`,
        );
        status = 'rejected';
      }
      json(
        await call('POST', `/api/v1/incidents/${incidentId}/replies`, api, {
          text: p,
          key: `k${PAYLOADS.indexOf(p)}`,
        }),
        `reply ${p}`,
      );
    }
    const reasons = (await auditAfter('incident', incidentId, 'incident.transition'))
      .map((a) => a.reason)
      .filter(Boolean);
    for (const p of PAYLOADS) if (!reasons.includes(p)) problems.push(`transition reason ${p} not read back`);
    const replies = (await auditAfter('incident', incidentId, 'incident.reply')).map((a) => a.text);
    for (const p of PAYLOADS) if (!replies.includes(p)) problems.push(`reply ${p} not read back`);

    // 5. settings: sector and agency names, Telegram chat ids, templates, calendar notes, users
    const sector = (
      json(await call('GET', '/api/v1/settings/sectors', admin), 'sectors') as { items: { code: string }[] }
    ).items[0]!.code;
    const agency = (
      json(await call('GET', '/api/v1/settings/agencies', admin), 'agencies') as { items: { id: string }[] }
    ).items[0]!.id;
    const template = (
      json(await call('GET', '/api/v1/settings/templates', admin), 'templates') as { items: { id: string }[] }
    ).items[0]!.id;
    for (const [i, p] of PAYLOADS.entries()) {
      const s = json(
        await call('PATCH', `/api/v1/settings/sectors/${sector}`, admin, {
          name: pad(p),
          telegramChatId: p.slice(0, 50),
        }),
        'sector',
      );
      same('sector name', s.name, pad(p));
      same('sector chat', s.telegramChatId, p.slice(0, 50));
      const a = json(
        await call('PATCH', `/api/v1/settings/agencies/${agency}`, admin, {
          name: pad(p),
          shortName: pad(p).slice(0, 100),
        }),
        'agency',
      );
      same('agency name', a.name, pad(p));
      const tpl = json(
        await call('PATCH', `/api/v1/settings/templates/${template}`, admin, { text: pad(p) }),
        'template',
      );
      same('template text', tpl.text, pad(p));
      const day = `2027-07-${String(i + 1).padStart(2, '0')}`;
      const c = json(
        await call('POST', '/api/v1/settings/calendar', admin, { day, kind: 'holiday', note: p }),
        'calendar',
      );
      same('calendar note', c.note, p);
      const u = json(
        await call('POST', '/api/v1/settings/users', admin, {
          login: `inj-${i}`,
          name: pad(p),
          password: 'a long password 123',
          grants: [{ role: 'analyst' }],
        }),
        'user',
      ) as { id: number; name: string };
      same('user name', u.name, pad(p));
      const u2 = json(
        await call('PATCH', `/api/v1/settings/users/${u.id}`, admin, { name: pad(`${p}!`) }),
        'user patch',
      );
      same('user name (edit)', u2.name, pad(`${p}!`));
    }
    const sectors = json(await call('GET', '/api/v1/settings/sectors', admin), 'sectors') as {
      items: { code: string; name: string }[];
    };
    same('sector name read back', sectors.items.find((x) => x.code === sector)?.name, pad(PAYLOADS.at(-1)!));
    // ids and logins are patterns: injected ones are refused
    for (const p of PAYLOADS.slice(0, 3)) {
      const r1 = await call('POST', '/api/v1/settings/routing-rules', admin, {
        id: p,
        sector,
        agencyId: agency,
      });
      const r2 = await call('POST', '/api/v1/settings/users', admin, {
        login: p,
        name: 'x y',
        password: 'a long password 123',
        grants: [{ role: 'analyst' }],
      });
      if (r1.statusCode !== 400 || r2.statusCode !== 400)
        problems.push(`id/login ${p}: ${r1.statusCode}/${r2.statusCode}`);
    }

    // 6. outreach: segment names, campaign titles and texts, poll questions and options, discussions
    const smm = as('smm');
    for (const p of PAYLOADS) {
      const seg = json(await call('POST', '/api/v1/segments', smm, { name: p, rules: {} }), 'segment') as {
        id: number;
        name: string;
      };
      same('segment name', seg.name, p);
      const seg2 = json(
        await call('PATCH', `/api/v1/segments/${seg.id}`, smm, { name: `${p}2` }),
        'segment patch',
      );
      same('segment name (edit)', seg2.name, `${p}2`);
      const camp = await call('POST', '/api/v1/campaigns', smm, {
        title: p,
        text: p,
        segmentId: seg.id,
        channel: 'all',
        buttons: [{ text: p.slice(0, 40), url: 'https://example.org/' }],
      });
      if (HTML.includes(p) && p.includes('<')) {
        // a campaign text is Telegram HTML: tags outside its subset are refused, never stored or sent
        if (camp.statusCode !== 400)
          problems.push(`campaign HTML ${p}: ${camp.statusCode} ${camp.body.slice(0, 200)}`);
      } else {
        const c = json(camp, `campaign ${p}`) as {
          id: number;
          title: string;
          text: string;
          buttons: { text: string }[];
        };
        same('campaign title', c.title, p);
        same('campaign button', c.buttons[0]!.text, p.slice(0, 40));
        // the text is stored as Telegram HTML: & < > escaped, so it shows as typed
        same(
          'campaign text',
          c.text,
          p
            .replace(/&(?!lt;|gt;|amp;)/g, '&amp;')
            .replace(/</g, '&lt;')
            .replace(/>/g, '&gt;'),
        );
        same(
          'campaign read back',
          (json(await call('GET', `/api/v1/campaigns/${c.id}`, smm), 'campaign') as { title: string }).title,
          p,
        );
      }
      const poll = json(
        await call('POST', '/api/v1/polls', smm, {
          question: p,
          options: [p, `${p} (нет)`],
          channel: 'telegram',
          closesAt: new Date(Date.now() + 86_400_000).toISOString(),
        }),
        `poll ${p}`,
      ) as { id: number; question: string; options: string[] };
      same('poll question', poll.question, p);
      same('poll option', poll.options[0], p);
      const back = json(await call('GET', `/api/v1/polls/${poll.id}`, smm), 'poll') as { question: string };
      same('poll read back', back.question, p);
      const d = json(
        await call('POST', '/api/v1/discussions', smm, {
          title: p,
          text: p,
          sourceId: `telegram:${BOT_ID}`,
          chatId: '-1001234567',
        }),
        `discussion ${p}`,
      ) as { id: number; title: string; text: string };
      same('discussion title', d.title, p);
      same('discussion text', d.text, p);
    }

    // 7. query strings and logins are data too
    for (const p of PAYLOADS) {
      const q = encodeURIComponent(p);
      for (const url of [
        `/api/v1/incidents?q=${q}`,
        `/api/v1/incidents?sector=${q}&municipality=${q}&agency=${q}`,
        `/api/v1/audit?entity=${q}&entityId=${q}`,
        `/api/v1/drafts?sector=${q}`,
      ]) {
        const res = await call('GET', url, url.includes('drafts') ? smm : admin);
        if (res.statusCode !== 200 && res.statusCode !== 400)
          problems.push(`${url}: ${res.statusCode} ${res.body.slice(0, 200)}`);
      }
      const login = await call('POST', '/api/v1/auth/login', {}, { login: p, password: p }, '10.9.9.9');
      if (login.statusCode !== 401) problems.push(`login ${p}: ${login.statusCode}`);
    }

    expect(problems).toEqual([]);
    expect(await tables()).toEqual(tablesBefore);
    const [n] = await t.app.database.query<{ m: string; u: string; i: string }>(
      `select (select count(*) from messages) as m, (select count(*) from staff_users) as u, (select count(*) from incidents) as i`,
      [],
    );
    expect(Number(n!.m)).toBeGreaterThanOrEqual(PAYLOADS.length);
    expect(Number(n!.u)).toBeGreaterThan(ROLES.length);
    expect(Number(n!.i)).toBeGreaterThan(0);
  });

  it('nothing comes back as HTML: API errors are JSON, the click page reflects nothing, the workspace renders text', async () => {
    for (const url of [
      '/api/v1/%3Cscript%3Ealert(1)%3C%2Fscript%3E',
      `/api/v1/messages/${encodeURIComponent('<img src=x onerror=alert(1)>')}`,
      `/webhooks/telegram/${encodeURIComponent('<script>')}`,
    ]) {
      const res = await call('GET', url, api);
      expect(res.statusCode, url).toBeGreaterThanOrEqual(400);
      expect(String(res.headers['content-type']), url).toMatch(/^application\/json/);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    }
    const click = await call('GET', `/r/${encodeURIComponent('<script>alert(1)</script>')}/1`);
    expect(click.statusCode).toBe(404);
    expect(click.body).not.toContain('alert(1)');
    // The workspace never injects HTML: Preact renders strings as text, and nothing bypasses it.
    const sources = (dir: string): string[] =>
      fs
        .readdirSync(dir, { withFileTypes: true })
        .flatMap((e) =>
          e.isDirectory()
            ? sources(path.join(dir, e.name))
            : /\.tsx?$/.test(e.name)
              ? [path.join(dir, e.name)]
              : [],
        );
    const offenders = sources(path.join(ROOT, 'web/src')).filter((f) =>
      /dangerouslySetInnerHTML|\.innerHTML\s*=|outerHTML\s*=|insertAdjacentHTML|document\.write\(|\beval\(|new Function\(/.test(
        fs.readFileSync(f, 'utf8'),
      ),
    );
    expect(offenders).toEqual([]);
  });

  // ---- CSRF -----------------------------------------------------------------------------------------

  /** State-changing routes that take no session by design, each with the reason. */
  const PUBLIC_WRITES: Record<string, string> = {
    'POST /api/v1/auth/login': 'there is no session yet; the answer sets one (SameSite=Strict)',
    'POST /api/v1/auth/logout':
      "ends the caller's own session only; the cookie is SameSite=Strict, so another site cannot send it",
    'POST /webhooks/telegram/:botId': 'Telegram: authenticated by the X-Telegram-Bot-Api-Secret-Token header',
    'POST /webhooks/vk/:groupId': 'VK Callback API: authenticated by the secret in the body',
  };

  it('CSRF: every state-changing route refuses a session without the right x-csrf-token header (403 CSRF_FAILED)', async () => {
    const writes = routes.filter((r) => WRITE.includes(r.method));
    const open = writes.filter((r) => !r.access).map((r) => `${r.method} ${r.url}`);
    expect(open.sort(), 'state-changing routes without an access class').toEqual(
      Object.keys(PUBLIC_WRITES).sort(),
    );
    const me = await session(
      'sec-csrf',
      ROLES.map((r) => r.code),
    );
    const other = await session('sec-csrf-other', ['tech_admin']);
    const cookie = { cookie: `otklik_session=${me.cookie}` };
    const wrong: string[] = [];
    const protectedWrites = writes.filter((r) => r.access);
    expect(protectedWrites.length).toBeGreaterThan(30);
    for (const r of protectedWrites) {
      const url = fill(r.url);
      for (const [what, headers] of [
        ['no header', cookie],
        ['an empty header', { ...cookie, 'x-csrf-token': '' }],
        ['a wrong token', { ...cookie, 'x-csrf-token': 'forged-csrf-token' }],
        ["another session's token", { ...cookie, 'x-csrf-token': other.csrf }],
        ['the session id as the token', { ...cookie, 'x-csrf-token': me.cookie }],
      ] as [string, Record<string, string>][]) {
        const res = await call(r.method, url, headers, []);
        if (res.statusCode !== 403 || (res.json() as { error: string }).error !== 'CSRF_FAILED')
          wrong.push(`${r.method} ${r.url} with ${what}: ${res.statusCode} ${res.body.slice(0, 120)}`);
      }
      // and the right token passes the CSRF check (whatever the route then says about the empty body)
      const ok = await call(r.method, url, { ...cookie, 'x-csrf-token': me.csrf }, []);
      if (ok.statusCode === 403 && (ok.json() as { error: string }).error === 'CSRF_FAILED')
        wrong.push(`${r.method} ${r.url} refuses the right CSRF token`);
    }
    expect(wrong).toEqual([]);
    // reads need no CSRF token
    expect((await call('GET', '/api/v1/incidents', cookie)).statusCode).toBe(200);
  });

  // ---- brute force ----------------------------------------------------------------------------------

  it(`brute force: ${MAX_FAILED_LOGINS} wrong passwords lock the account (423 even with the right one), per account — parallel guesses too`, async () => {
    const login = (l: string, password: string, ip: string) =>
      call('POST', '/api/v1/auth/login', {}, { login: l, password }, ip);
    const a = await t.app.staff.create({ login: 'bf-a', name: 'A', grants: [{ role: 'smm' }] });
    const b = await t.app.staff.create({ login: 'bf-b', name: 'B', grants: [{ role: 'smm' }] });
    await t.app.auth.setPassword(a.id, 'correct horse battery');
    await t.app.auth.setPassword(b.id, 'correct horse battery');
    for (let i = 0; i < MAX_FAILED_LOGINS - 1; i++)
      expect((await login('bf-a', `guess${i}`, `10.1.0.${i}`)).statusCode).toBe(401);
    expect((await login('bf-a', 'guess-last', '10.1.1.1')).statusCode).toBe(423);
    const locked = await login('bf-a', 'correct horse battery', '10.1.1.2');
    expect(locked.statusCode).toBe(423);
    expect(locked.json()).toMatchObject({ error: 'AUTH_LOCKED' });
    // another account is not affected
    expect((await login('bf-b', 'correct horse battery', '10.1.1.3')).statusCode).toBe(200);

    // Guesses sent all at once, each from its own address (a botnet): the count must not be lost between
    // them — the account is locked when they are done.
    const c = await t.app.staff.create({ login: 'bf-c', name: 'C', grants: [{ role: 'smm' }] });
    await t.app.auth.setPassword(c.id, 'correct horse battery');
    const results = await Promise.all(
      Array.from({ length: 24 }, (_, i) => login('bf-c', `parallel-guess-${i}`, `10.2.${i}.1`)),
    );
    expect(results.every((r) => r.statusCode === 401 || r.statusCode === 423)).toBe(true);
    expect(results.filter((r) => r.statusCode === 423).length).toBeGreaterThan(0);
    expect((await login('bf-c', 'correct horse battery', '10.3.0.1')).statusCode).toBe(423);
  });

  it(`brute force: after ${LOGIN_IP_MAX_FAILURES} failed logins from one address, it is throttled (429) whatever the account`, async () => {
    const ip = '10.66.0.1';
    const m = await t.app.staff.create({ login: 'bf-ip', name: 'IP', grants: [{ role: 'smm' }] });
    await t.app.auth.setPassword(m.id, 'correct horse battery');
    // many accounts, a few guesses each: no account reaches its lockout, the address does
    const statuses: number[] = [];
    for (let i = 0; i < LOGIN_IP_MAX_FAILURES + 3; i++)
      statuses.push(
        (await call('POST', '/api/v1/auth/login', {}, { login: `nobody-${i % 7}`, password: `x${i}` }, ip))
          .statusCode,
      );
    expect(statuses.slice(0, LOGIN_IP_MAX_FAILURES).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(LOGIN_IP_MAX_FAILURES).every((s) => s === 429)).toBe(true);
    const throttled = await call(
      'POST',
      '/api/v1/auth/login',
      {},
      { login: 'bf-ip', password: 'correct horse battery' },
      ip,
    );
    expect(throttled.statusCode).toBe(429);
    expect(throttled.json()).toMatchObject({ error: 'AUTH_THROTTLED' });
    expect(Number(throttled.headers['retry-after'])).toBeGreaterThan(0);
    // parallel guesses from one address are held to the limit as well (counted before the slow hash)
    const burst = await Promise.all(
      Array.from({ length: LOGIN_IP_MAX_FAILURES + 10 }, (_, i) =>
        call('POST', '/api/v1/auth/login', {}, { login: `nobody-${i}`, password: `p${i}` }, '10.67.0.1'),
      ),
    );
    expect(burst.filter((r) => r.statusCode === 401)).toHaveLength(LOGIN_IP_MAX_FAILURES);
    expect(burst.filter((r) => r.statusCode === 429)).toHaveLength(10);
    // another address logs in as usual, and the account itself is not locked
    expect(
      (
        await call(
          'POST',
          '/api/v1/auth/login',
          {},
          { login: 'bf-ip', password: 'correct horse battery' },
          '10.68.0.1',
        )
      ).statusCode,
    ).toBe(200);
    // the guesses are in the audit trail with the address
    const [row] = await t.app.database.query<{ n: string }>(
      `select count(*) as n from audit_log where ip = $1 and action like 'auth.login_failed%'`,
      [ip],
    );
    expect(Number(row!.n)).toBeGreaterThanOrEqual(LOGIN_IP_MAX_FAILURES);
  });
});
