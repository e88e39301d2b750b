/**
 * The VK connector against the VK API emulator (real HTTP on 127.0.0.1), with real PostgreSQL, Redis and
 * BullMQ workers: the citizen dialog through the Bots Long Poll, wall comments, replies, flood control,
 * a revoked token, and the Callback API with its confirmation and secret.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVkEmulator, type VkEmulator } from './emulators/vk.ts';
import { API_TOKEN, startTestApp, waitFor, type TestApp } from './helpers.ts';

const GROUP = 777001;
const TOKEN = 'vk1.a.test-community-token-0001';
const payload = (d: string) => JSON.stringify({ d });

/** The app with the VK connector pointed at the emulator. */
const vkApp = (vk: VkEmulator, env: Record<string, string>) =>
  startTestApp({
    roles: ['api', 'workers', 'connectors'],
    listen: true,
    env: {
      VK_GROUP_TOKEN: TOKEN,
      VK_GROUP_ID: String(GROUP),
      VK_API_BASE_URL: vk.apiBaseUrl,
      VK_API_LIMIT: '50',
      ...env,
    },
  });

async function rowsOf<T>(t: TestApp, sql: string, params: unknown[] = []): Promise<T[]> {
  return t.app.database.query<T>(sql, params);
}

describe('VK community through the Bots Long Poll', () => {
  let vk: VkEmulator;
  let t: TestApp;
  let user = 5000;

  beforeAll(async () => {
    vk = await startVkEmulator();
    vk.addGroup(GROUP, TOKEN);
    t = await vkApp(vk, {
      VK_POLL_WAIT_S: '1',
      VK_FLOOD_WAIT_MS: '300',
    });
  });
  afterAll(async () => {
    await t?.close();
    await vk?.close();
  });

  const say = (fromId: number, text: string, extra: { payload?: string } = {}) =>
    vk.pushEvent(GROUP, vk.events.messageNew({ fromId, text, ...extra }));
  /** The next message to `peer` after those sent before `mark` (a count of sends, see `mark()`). */
  const mark = () => vk.sent().length;
  const nextReply = async (peer: number, after: number, match: RegExp = /./) =>
    (
      await vk.waitForSent(
        (s) => s.peer_id === peer && vk.sent().indexOf(s) >= after && match.test(s.message),
        {
          timeoutMs: 15_000,
        },
      )
    )[0]!;

  it('asks for consent first and stores nothing about a citizen who has not given it', async () => {
    const u = ++user;
    const t0 = mark();
    say(u, 'Здравствуйте, у нас прорвало трубу');
    const r = await nextReply(u, t0);
    expect(r.message).toContain('152-ФЗ');
    const kb = JSON.parse(r.params.keyboard!) as {
      buttons: { action: { payload: string; label: string } }[][];
    };
    expect(kb.buttons.flat().map((b) => JSON.parse(b.action.payload) as { d: string })).toEqual([
      { d: 'consent:yes' },
      { d: 'consent:no' },
    ]);
    const [authors, msgs, dialogs, out] = await Promise.all([
      rowsOf(t, `select 1 from authors where platform = 'vk' and external_id = $1`, [String(u)]),
      rowsOf(t, `select 1 from messages where source_id like 'vk:%'`),
      rowsOf(t, `select 1 from bot_dialogs where chat_id = $1`, [String(u)]),
      rowsOf(t, `select 1 from outbound_messages where chat_id = $1`, [String(u)]),
    ]);
    expect({ authors: authors.length, msgs: msgs.length, dialogs: dialogs.length, out: out.length }).toEqual({
      authors: 0,
      msgs: 0,
      dialogs: 0,
      out: 0,
    });
    // Refusing keeps it that way.
    const t1 = mark();
    say(u, 'Не даю согласия', { payload: payload('consent:no') });
    expect((await nextReply(u, t1)).message).toMatch(/ничего\s+не сохранили/);
    expect(await rowsOf(t, `select 1 from authors where external_id = $1`, [String(u)])).toHaveLength(0);
  });

  it('takes an appeal after consent: stored, routed into an incident, confirmed with number and deadlines', async () => {
    const u = ++user;
    let t0 = mark();
    say(u, 'Начать', { payload: JSON.stringify({ command: 'start' }) });
    expect((await nextReply(u, t0)).message).toMatch(/Центра управления регионом/);
    t0 = mark();
    say(u, 'Даю согласие', { payload: payload('consent:yes') });
    expect((await nextReply(u, t0)).message).toMatch(/согласие получено/);
    const [author] = await rowsOf<{ consent_personal_data: boolean; name: string }>(
      t,
      `select consent_personal_data, name from authors where platform = 'vk' and external_id = $1`,
      [String(u)],
    );
    expect(author?.consent_personal_data).toBe(true);
    expect(author?.name).toBeTruthy(); // from users.get

    t0 = mark();
    say(u, 'В Бийске на улице Ленина, 5 третий день не вывозят мусор, контейнеры переполнены');
    const conf = await nextReply(u, t0, /зарегистрировано/);
    const num = /№ (\d{6})/.exec(conf.message)?.[1];
    expect(num).toBeDefined();
    expect(conf.message).toMatch(/Первый ответ — до \d\d\.\d\d\.\d{4}, \d\d:\d\d/);
    expect(conf.message).toContain('(Бийск)');
    const id = Number(num);
    const row = await waitFor(
      async () =>
        (
          await rowsOf<{ state: string; incident_id: number | null; chat_id: string; municipality: string }>(
            t,
            `select state, incident_id, chat_id, municipality from messages where id = $1`,
            [id],
          )
        ).find((r) => r.state === 'routed'),
      { what: 'the appeal to be routed' },
    );
    expect(row.incident_id).not.toBeNull();
    expect(row.chat_id).toBe(String(u));
    expect(row.municipality).toBe('biysk');
    // The confirmation quoted the citizen's message.
    expect(conf.params.reply_to).toBeDefined();
  });

  it('asks for the municipality with buttons when the text names none, and uses the one chosen', async () => {
    const u = ++user;
    let t0 = mark();
    say(u, 'Даю согласие', { payload: payload('consent:yes') });
    await nextReply(u, t0);
    t0 = mark();
    say(u, 'Во дворе второй месяц не горят фонари, очень темно вечером');
    const ask = await nextReply(u, t0, /в каком городе или районе/);
    const kb = JSON.parse(ask.params.keyboard!) as {
      buttons: { action: { payload: string; label: string } }[][];
    };
    const labels = kb.buttons.flat().map((b) => b.action.label);
    expect(labels).toContain('Барнаул'); // most populous first while nothing has been written yet
    expect(labels.at(-1)).toBe('Не знаю / пропустить');
    // The citizen types a name instead of pressing: it is looked up.
    t0 = mark();
    say(u, 'Рубцовск');
    const conf = await nextReply(u, t0, /зарегистрировано/);
    expect(conf.message).toContain('(Рубцовск)');
    const id = Number(/№ (\d{6})/.exec(conf.message)![1]);
    const [m] = await waitFor(async () => {
      const r = await rowsOf<{ municipality: string | null; state: string }>(
        t,
        `select municipality, state from messages where id = $1`,
        [id],
      );
      return r[0]?.state === 'routed' ? r : undefined;
    });
    expect(m!.municipality).toBe('rubtsovsk');

    // /status lists it with its state.
    t0 = mark();
    say(u, 'статус');
    const st = await nextReply(u, t0, /Ваши обращения/);
    expect(st.message).toContain(`№ ${String(id).padStart(6, '0')}`);
    expect(st.message).toMatch(/зарегистрировано|передано исполнителю/);
  });

  it('turns wall comments into linked messages, and an official reply goes back as a comment and to chats', async () => {
    vk.pushEvent(
      GROUP,
      vk.events.wallPostNew({
        groupId: GROUP,
        postId: 90,
        fromId: 4242,
        text: 'Предлагаю обсудить ремонт дороги на Змеиногорском тракте в Барнауле',
      }),
    );
    vk.pushEvent(
      GROUP,
      vk.events.wallReplyNew({
        groupId: GROUP,
        postId: 90,
        fromId: 4243,
        text: 'На Змеиногорском тракте в Барнауле огромные ямы, колёса пробиваем',
      }),
    );
    const comment = await waitFor(
      async () =>
        (
          await rowsOf<{
            id: number;
            parent_external_id: string;
            incident_id: number | null;
            source_id: string;
            external_id: string;
          }>(
            t,
            `select id, parent_external_id, incident_id, source_id, external_id from messages
             where source_id = $1 and external_id like 'wall-%_r%' and state = 'routed'`,
            [`vk:${GROUP}:public`],
          )
        )[0],
      { what: 'the wall comment to be routed' },
    );
    expect(comment.parent_external_id).toBe(`wall-${GROUP}_90`);
    const incidentId = comment.incident_id!;
    const api = (path: string, init: RequestInit = {}) =>
      fetch(`${t.app.url}/api/v1${path}`, {
        ...init,
        headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
      });
    const res = await api(`/incidents/${incidentId}/replies`, {
      method: 'POST',
      body: JSON.stringify({ text: 'Ямочный ремонт запланирован до 5 декабря.', key: 'r1' }),
    });
    expect(res.status).toBe(202);
    // Both the post and the comment are in the incident: a comment under the post, a reply to the comment.
    const sent = await vk.waitForSent(
      (s) => s.method === 'wall.createComment' && /Ямочный ремонт/.test(s.message),
      { count: 2 },
    );
    expect(sent.map((s) => s.post_id)).toEqual([90, 90]);
    expect(sent.map((s) => s.reply_to_comment ?? 0).sort()).toEqual(
      [0, Number(comment.external_id.split('_r')[1])].sort(),
    );
    // The same request again (a retry) sends nothing new.
    const again = await api(`/incidents/${incidentId}/replies`, {
      method: 'POST',
      body: JSON.stringify({ text: 'Ямочный ремонт запланирован до 5 декабря.', key: 'r1' }),
    });
    expect(((await again.json()) as { queued: number }).queued).toBe(0);
    const out = await waitFor(async () => {
      const r = await api(`/incidents/${incidentId}/outbound`);
      const body = (await r.json()) as { items: { status: string; externalId: string }[] };
      return body.items.every((i) => i.status === 'sent') && body.items.length ? body.items : undefined;
    });
    expect(out[0]!.externalId).toMatch(/^wall-\d+_90_r\d+$/);
    expect(vk.sent().filter((s) => /Ямочный ремонт/.test(s.message))).toHaveLength(out.length);
    // Our own comment, echoed back by VK as wall_reply_new, is not taken for a citizen's.
    vk.pushEvent(GROUP, {
      type: 'wall_reply_new',
      object: {
        id: 999,
        from_id: -GROUP,
        post_id: 90,
        owner_id: -GROUP,
        post_owner_id: -GROUP,
        date: 1,
        text: 'Ямочный ремонт запланирован',
      },
    });
    await new Promise((r) => setTimeout(r, 1500));
    expect(
      await rowsOf(t, `select 1 from messages where external_id = $1`, [`wall-${GROUP}_90_r999`]),
    ).toHaveLength(0);
  });

  it('flood control delays a reply but never drops or duplicates it', async () => {
    const u = ++user;
    let t0 = mark();
    say(u, 'Даю согласие', { payload: payload('consent:yes') });
    await nextReply(u, t0);
    vk.failNext('messages.send', 3, { code: 9 });
    t0 = mark();
    const started = Date.now();
    say(u, 'В Барнауле на остановке Потоку разбито стекло павильона');
    const conf = await nextReply(u, t0, /зарегистрировано/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(600); // three refusals, 300 ms each at least
    await new Promise((r) => setTimeout(r, 800));
    expect(vk.sent().filter((s) => s.peer_id === u && /зарегистрировано/.test(s.message))).toHaveLength(1);
    const floods = vk.calls().filter((c) => c.method === 'messages.send' && c.errorCode === 9);
    expect(floods.length).toBeGreaterThanOrEqual(3);
    const num = /№ (\d{6})/.exec(conf.message)![1];
    const [row] = await rowsOf<{ status: string; attempts: number }>(
      t,
      `select status, attempts from outbound_messages where idempotency_key = $1`,
      [`confirm:${Number(num)}`],
    );
    expect(row).toEqual({ status: 'sent', attempts: 3 });
  });

  it('an internal VK error (10) is retried with backoff and the reply arrives once', async () => {
    const u = ++user;
    let t0 = mark();
    say(u, 'Даю согласие', { payload: payload('consent:yes') });
    await nextReply(u, t0);
    vk.failNext('messages.send', 1, { code: 10 });
    t0 = mark();
    say(u, 'В Барнауле на проспекте Ленина не работает светофор у цирка');
    await nextReply(u, t0, /зарегистрировано/);
    await new Promise((r) => setTimeout(r, 500));
    expect(vk.sent().filter((s) => s.peer_id === u && /зарегистрировано/.test(s.message))).toHaveLength(1);
    expect(vk.calls().some((c) => c.method === 'messages.send' && c.errorCode === 10)).toBe(true);
  });

  it('a refused token raises a connector alert in /health and keeps the message', async () => {
    const u = ++user;
    const t0 = mark();
    say(u, 'Даю согласие', { payload: payload('consent:yes') });
    await nextReply(u, t0);
    vk.failNext('messages.send', 1, { code: 5 });
    say(u, 'В Барнауле на улице Попова не работает светофор');
    const row = await waitFor(
      async () =>
        (
          await rowsOf<{ status: string; last_error: string }>(
            t,
            `select o.status, o.last_error from outbound_messages o join messages m on m.id = o.message_id
             where o.chat_id = $1 and o.purpose = 'confirmation' and o.attempts > 0`,
            [String(u)],
          )
        )[0],
      { what: 'the refused send' },
    );
    expect(row.status).toBe('pending');
    const health = (await (await fetch(`${t.app.url}/health`)).json()) as {
      status: string;
      components: { connectors: { ok: boolean; list: { name: string; ok: boolean; detail: string }[] } };
    };
    expect(health.status).toBe('degraded');
    const c = health.components.connectors.list.find((x) => x.name === `vk:${GROUP}`);
    expect(c?.ok).toBe(false);
    expect(c?.detail).toMatch(/authorization failed/);
    // An alert of a community this deployment no longer has (replaced token, removed group) is dropped, not
    // kept as a degraded /health for good.
    await t.app.alerts.raise('vk:999000111', 'authorization failed (old community)');
    const again = (await (await fetch(`${t.app.url}/health`)).json()) as typeof health;
    expect(again.components.connectors.list.map((x) => x.name)).not.toContain('vk:999000111');
    expect(await t.app.alerts.list()).not.toHaveProperty('vk:999000111');
  });
});

describe('VK Callback API', () => {
  let vk: VkEmulator;
  let t: TestApp;
  const SECRET = 'callback-secret-42';

  beforeAll(async () => {
    vk = await startVkEmulator();
    vk.addGroup(GROUP, TOKEN);
    t = await vkApp(vk, {
      VK_CONFIRMATION: 'a1b2c3d4',
      VK_CALLBACK_SECRET: SECRET,
    });
  });
  afterAll(async () => {
    await t?.close();
    await vk?.close();
  });

  const post = (body: unknown) =>
    fetch(`${t.app.url}/webhooks/vk/${GROUP}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('answers the confirmation request with the configured string', async () => {
    const res = await post({ type: 'confirmation', group_id: GROUP });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('a1b2c3d4');
  });

  it('refuses a forged event with 401 and stores nothing', async () => {
    const ev = vk.events.wallReplyNew({
      groupId: GROUP,
      postId: 5,
      fromId: 31337,
      text: 'Поддельный комментарий про мусор в Бийске',
    });
    for (const secret of ['wrong', undefined]) {
      const res = await post({ ...ev, group_id: GROUP, event_id: 'x', ...(secret ? { secret } : {}) });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: string }).error).toBe('WEBHOOK_FORGED');
    }
    expect(await t.app.database.query(`select 1 from messages`, [])).toHaveLength(0);
  });

  it('takes a signed event: a wall comment becomes a message', async () => {
    const ev = vk.events.wallReplyNew({
      groupId: GROUP,
      postId: 5,
      fromId: 31338,
      text: 'В Бийске на улице Советской не вывозят мусор неделю',
    });
    const res = await post({ ...ev, group_id: GROUP, event_id: 'e1', secret: SECRET });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok');
    const rows = await t.app.database.query<{ parent_external_id: string }>(
      `select parent_external_id from messages where source_id = $1`,
      [`vk:${GROUP}:public`],
    );
    expect(rows).toEqual([{ parent_external_id: `wall-${GROUP}_5` }]);
    // VK retries an event it got no «ok» for: the same event again is stored once.
    await post({ ...ev, group_id: GROUP, event_id: 'e1', secret: SECRET });
    expect(await t.app.database.query(`select 1 from messages`, [])).toHaveLength(1);
  });

  it('answers 404 for a community it does not serve, and 400 for a body that is not an event', async () => {
    const other = await fetch(`${t.app.url}/webhooks/vk/1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(other.status).toBe(404);
    const bad = await post({ nothing: true });
    expect(bad.status).toBe(400);
  });
});
