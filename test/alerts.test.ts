/**
 * Conflict alerts on the real app (PostgreSQL, Redis, BullMQ workers, the text analyzer) with the staff bot
 * talking to the Telegram emulator: each of the four situations — a spike of negative messages (k σ over
 * the 7 days before), a toxic thread, one citizen writing three times about one problem, a rude or late
 * official reply — raises exactly one alert, and a normal situation raises none; the center's chat gets the
 * Russian text; acknowledging is audited and needs the alerts.ack class.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextMessage, startTelegramEmulator, type TelegramEmulator } from './emulators/telegram.ts';
import { API_TOKEN, INGEST_TOKEN, ingestBody, startTestApp, waitFor, type TestApp } from './helpers.ts';

const CITIZEN_BOT = '700300100:AAcitizen-bot-token-alerts-01234';
const STAFF_BOT = '700300200:AAstaff-bot-token-alerts-012345';
const CENTER_CHAT = -1009000077;

interface AlertJson {
  id: number;
  kind: string;
  kindLabel: string;
  severity: string;
  sector: string | null;
  municipality: string | null;
  municipalityName: string | null;
  incidentId: number | null;
  text: string;
  details: Record<string, unknown>;
  acknowledgedBy: string | null;
  acknowledgedAt: string | null;
}

describe('conflict alerts', () => {
  let tg: TelegramEmulator;
  let t: TestApp;
  let analystToken: string;
  let smmToken: string;
  let nextUser = 9600;

  const q = <T>(sql: string, params: unknown[] = []) => t.app.database.query<T>(sql, params);
  const api = async (method: string, path: string, token: string, body?: unknown) => {
    const res = await fetch(`${t.app.url}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const alerts = async (kind: string) =>
    q<{ id: number; key: string; incident_id: number | null; details: Record<string, unknown> }>(
      `select id, key, incident_id, details from conflict_alerts where kind = $1 order by id`,
      [kind],
    );
  const mark = () => tg.sent().length;
  const centerGot = (after: number, match: RegExp) => nextMessage(tg, STAFF_BOT, CENTER_CHAT, after, match);

  /** Waits until the pipeline and the conflicts queue have nothing left to do. */
  async function settle() {
    await new Promise((r) => setTimeout(r, 300));
    let quiet = 0;
    await waitFor(
      async () => {
        let busy = 0;
        for (const name of ['analyze', 'route', 'conflicts', 'send'] as const) {
          const c = await t.app.queues.get(name).getJobCounts('waiting', 'active', 'prioritized');
          busy += (c.waiting ?? 0) + (c.active ?? 0) + (c.prioritized ?? 0);
        }
        quiet = busy ? 0 : quiet + 1;
        return quiet >= 3;
      },
      { what: 'queues to settle', intervalMs: 100 },
    );
  }

  /** Runs one conflicts job to its end (the repeatable scan, here on demand). */
  async function scan() {
    const job = await t.app.queues.get('conflicts').add('conflicts', { kind: 'scan' });
    await waitFor(
      async () => {
        const state = await job.getState();
        if (state === 'failed')
          throw new Error(
            `scan failed: ${(await t.app.queues.get('conflicts').getJob(job.id!))?.failedReason}`,
          );
        return state === 'completed';
      },
      { what: 'the conflict scan' },
    );
  }

  /** Ingests a message through the API and waits until it is routed; returns its incident. */
  async function ingest(text: string, author: string): Promise<number> {
    const res = await fetch(`${t.app.url}/api/v1/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${INGEST_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(ingestBody(text, { author: { id: author } })),
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: number };
    const [m] = await waitFor(async () => {
      const rows = await q<{ incident_id: number | null }>(`select incident_id from messages where id = $1`, [
        id,
      ]);
      return rows[0]?.incident_id ? rows : undefined;
    });
    return Number(m!.incident_id);
  }

  /** A citizen talks to the bot (consent, then the appeal); returns the incident of the appeal. */
  async function citizenAppeal(
    text: string,
  ): Promise<{ user: { id: number; first_name: string }; incident: number }> {
    const user = { id: ++nextUser, first_name: 'Заявитель' };
    let m = mark();
    tg.pushUpdate(CITIZEN_BOT, tg.updates.privateText(user, '/start'));
    const greeting = await nextMessage(tg, CITIZEN_BOT, user.id, m, /152-ФЗ/);
    m = mark();
    tg.pushUpdate(
      CITIZEN_BOT,
      tg.updates.callback(user, 'consent:yes', { chat_id: user.id, message_id: greeting.message_id }),
    );
    await nextMessage(tg, CITIZEN_BOT, user.id, m, /согласие получено/);
    m = mark();
    tg.pushUpdate(CITIZEN_BOT, tg.updates.privateText(user, text));
    await nextMessage(tg, CITIZEN_BOT, user.id, m, /зарегистрировано/);
    const [row] = await waitFor(async () => {
      const rows = await q<{ incident_id: number | null }>(
        `select incident_id from messages where chat_id = $1 and incident_id is not null`,
        [String(user.id)],
      );
      return rows.length ? rows : undefined;
    });
    return { user, incident: Number(row!.incident_id) };
  }

  beforeAll(async () => {
    tg = await startTelegramEmulator();
    tg.addBot(CITIZEN_BOT, { username: 'cur_alerts_citizen_bot' });
    tg.addBot(STAFF_BOT, { username: 'cur_alerts_staff_bot' });
    t = await startTestApp({
      roles: ['api', 'workers', 'connectors'],
      listen: true,
      env: {
        TELEGRAM_BOT_TOKEN: CITIZEN_BOT,
        STAFF_BOT_TOKEN: STAFF_BOT,
        TELEGRAM_API_ROOT: tg.url,
        TELEGRAM_POLL_TIMEOUT_S: '1',
        TELEGRAM_RATE_PER_CHAT_MS: '100',
        DIGEST_HOUR: '23',
      },
    });
    const analyst = await t.app.staff.create({
      login: 'analyst1',
      name: 'Аналитик',
      grants: [{ role: 'analyst' }],
    });
    const smm = await t.app.staff.create({ login: 'smm1', name: 'SMM', grants: [{ role: 'smm' }] });
    analystToken = await t.app.staff.issueToken(analyst.id, 'test');
    smmToken = await t.app.staff.issueToken(smm.id, 'test');
  });
  afterAll(async () => {
    await t?.close();
    await tg?.close();
  });

  it('settings: defaults, an audited change, only for settings.write', async () => {
    const before = await api('GET', '/settings/alerts', API_TOKEN);
    expect(before.body).toEqual({
      spikeK: 2,
      spikeMinCount: 5,
      toxicThreshold: 3,
      repeatCount: 3,
      repeatWindowHours: 72,
      replyToxicScore: 0.8,
      centerChatId: null,
    });
    expect((await api('PUT', '/settings/alerts', analystToken, { toxicThreshold: 2 })).status).toBe(403);
    expect((await api('PUT', '/settings/alerts', API_TOKEN, { spikeK: 0 })).status).toBe(400);
    const put = await api('PUT', '/settings/alerts', API_TOKEN, {
      toxicThreshold: 2,
      centerChatId: String(CENTER_CHAT),
    });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ toxicThreshold: 2, centerChatId: String(CENTER_CHAT), spikeK: 2 });
    const [audit] = await q<{
      actor: string;
      before: { toxicThreshold: number };
      after: { toxicThreshold: number };
    }>(
      `select actor, before, after from audit_log where action = 'settings.alerts.update' order by id limit 1`,
    );
    expect(audit).toMatchObject({
      actor: 'token:API_TOKEN',
      before: { toxicThreshold: 3 },
      after: { toxicThreshold: 2 },
    });
  });

  it('(a) a spike of negative messages: k σ over the 7 days before, with a minimum count', async () => {
    // Daily negatives for the 7 days before: 2,3,2,4,3,2,5 → mean 3, σ = √(8/7) ≈ 1.069, threshold
    // 3 + 2σ ≈ 5.14. Заринск (roads) has 6 in the last 24 h → a spike; Алейск the same history and 5 →
    // none; Славгород (housing) 0 → 1 → none (below the minimum of 5).
    const history = [2, 3, 2, 4, 3, 2, 5];
    const insert = async (sector: string, municipality: string, today: number, days: number[]) => {
      const rows: [number][] = [];
      days.forEach((n, i) => {
        for (let j = 0; j < n; j++) rows.push([(i + 1) * 24 + 12 + j * 0.25]);
      });
      for (let j = 0; j < today; j++) rows.push([1 + j * 0.25]);
      for (const [hoursAgo] of rows)
        await q(
          `insert into messages (source_id, external_id, text, posted_at, state, sector, sentiment, municipality, analyzed_at, routed_at)
           values ('api', $1, 'негативное сообщение', now() - make_interval(secs => $2), 'routed', $3, 'negative', $4, now(), now())`,
          [`hist-${sector}-${municipality}-${hoursAgo}`, hoursAgo * 3600, sector, municipality],
        );
    };
    await insert('roads', 'zarinsk', 6, history);
    await insert('roads', 'aleysk', 5, history);
    await insert('housing', 'slavgorod', 1, [0, 0, 0, 0, 0, 0, 0]);
    const m = mark();
    await scan();
    const spikes = (await alerts('spike')).filter((a) => /zarinsk|aleysk|slavgorod/.test(a.key));
    expect(spikes.map((a) => a.key)).toEqual(['spike:roads:zarinsk']);
    const d = spikes[0]!.details as {
      current: number;
      baseline: number[];
      mean: number;
      sd: number;
      threshold: number;
    };
    expect(d.current).toBe(6);
    expect(d.baseline).toEqual(history);
    expect(d.mean).toBe(3);
    expect(d.sd).toBeCloseTo(Math.sqrt(8 / 7), 6);
    expect(d.threshold).toBeCloseTo(3 + 2 * Math.sqrt(8 / 7), 6);
    const msg = await centerGot(m, /Всплеск негатива/);
    expect(msg.text).toContain('Дороги, Заринск');
    expect(msg.text).toContain('Негативных сообщений за последние 24 ч: 6');
    expect(msg.text).toContain('порог 5,14');
    // The next scans add nothing: one alert per situation and day.
    await scan();
    await scan();
    expect((await alerts('spike')).filter((a) => a.key === 'spike:roads:zarinsk')).toHaveLength(1);
    // With k = 3 the same numbers would not have been a spike (3 + 3σ ≈ 6.21).
    await api('PUT', '/settings/alerts', API_TOKEN, { spikeK: 3 });
    await q(`delete from conflict_alerts where key = 'spike:roads:zarinsk'`);
    await scan();
    expect((await alerts('spike')).filter((a) => a.key === 'spike:roads:zarinsk')).toHaveLength(0);
    await api('PUT', '/settings/alerts', API_TOKEN, { spikeK: 2 });
    await scan();
    expect((await alerts('spike')).filter((a) => a.key === 'spike:roads:zarinsk')).toHaveLength(1);
  });

  it('(b) a thread turns toxic when its toxic messages reach the threshold (2 here)', async () => {
    const m = mark();
    const inc = await ingest(
      'В Бийске на улице Ленина, 5 яма на дороге, чиновники идиоты, ворюги проклятые',
      'tox-1',
    );
    await settle();
    // One toxic message (below the threshold of 2): no alert yet.
    expect(await alerts('toxic_thread')).toEqual([]);
    const [first] = await q<{ toxic: boolean }>(`select toxic from messages where incident_id = $1`, [inc]);
    expect(first!.toxic).toBe(true);
    expect(
      await ingest(
        'Администрация Бийска — дебилы и воры, яма на улице Ленина, 5 так и не заделана, твари',
        'tox-2',
      ),
    ).toBe(inc);
    await settle();
    const toxic = await alerts('toxic_thread');
    expect(toxic.map((a) => a.incident_id)).toEqual([inc]);
    expect(toxic[0]!.details).toMatchObject({ toxic: 2, total: 2, threshold: 2 });
    const msg = await centerGot(m, /Токсичная ветка/);
    expect(msg.text).toContain(`№ ${String(inc).padStart(6, '0')}`);
    expect(msg.text).toContain('токсичных сообщений 2 из 2');
    // A third toxic message in the thread raises nothing more.
    await ingest('Бийск, улица Ленина, 5: яма на дороге, сколько можно, дебилы', 'tox-3');
    await settle();
    expect((await alerts('toxic_thread')).map((a) => a.incident_id)).toEqual([inc]);
  });

  it('(c) the same citizen writes three times about one problem within the window', async () => {
    const text = (n: number) =>
      [
        'В Барнауле на улице Попова, 10 нет горячей воды уже неделю',
        'Барнаул, улица Попова, 10: горячей воды нет уже неделю, когда дадут?',
        'В Барнауле на улице Попова, 10 опять нет горячей воды, пишу снова',
        'В Барнауле на улице Попова, 10 так и нет горячей воды',
      ][n]!;
    const m = mark();
    const inc = await ingest(text(0), 'repeat-a');
    expect(await ingest(text(1), 'repeat-b')).toBe(inc); // other residents about the same problem
    expect(await ingest(text(1), 'repeat-a')).toBe(inc);
    expect(await ingest(text(2), 'repeat-c')).toBe(inc);
    await settle();
    expect(await alerts('repeat_author')).toEqual([]);
    expect(await ingest(text(2), 'repeat-a')).toBe(inc);
    await settle();
    const rep = await alerts('repeat_author');
    expect(rep).toHaveLength(1);
    expect(rep[0]!.incident_id).toBe(inc);
    expect(rep[0]!.details).toMatchObject({ count: 3, incidentIds: [inc], windowHours: 72 });
    const msg = await centerGot(m, /Повторные обращения/);
    expect(msg.text).toContain('написал 3 раза за 72 ч');
    // A fourth message from them is the same situation.
    await ingest(text(3), 'repeat-a');
    await settle();
    expect(await alerts('repeat_author')).toHaveLength(1);
  });

  it('(c) also across near-duplicate incidents: a rejected appeal and the new one', async () => {
    const text = 'В Барнауле на улице Антона Петрова, 150 не работает лифт';
    const first = await ingest(text, 'repeat-d');
    await ingest(text, 'repeat-d');
    const r = await t.app.incidents.changeStatus(
      first,
      'rejected',
      'test',
      'лифт обслуживает управляющая компания',
    );
    expect(r.ok).toBe(true);
    const second = await ingest(`${text}, третий раз пишу`, 'repeat-d');
    expect(second).not.toBe(first);
    await settle();
    const rep = (await alerts('repeat_author')).filter((a) => a.incident_id === second);
    expect(rep).toHaveLength(1);
    expect(rep[0]!.details).toMatchObject({ count: 3, incidentIds: [first, second] });
  });

  it('(d) a rude official reply, and the first reply after its deadline, each alert once', async () => {
    const onTime = await citizenAppeal(
      'В Новоалтайске на улице Октябрьской, 20 не вывозят мусор вторую неделю',
    );
    const late = await citizenAppeal(
      'В Новоалтайске на улице Партизанской, 3 не вывозят мусор, контейнеры переполнены',
    );
    expect(late.incident).not.toBe(onTime.incident);
    await q(`update incidents set first_response_due = now() - interval '2 hours 5 minutes' where id = $1`, [
      late.incident,
    ]);
    const reply = async (incident: number, user: number, text: string, key: string) => {
      const m = mark();
      const r = await api('POST', `/incidents/${incident}/replies`, API_TOKEN, { text, key });
      expect(r.body).toMatchObject({ queued: 1 });
      await nextMessage(tg, CITIZEN_BOT, user, m, /^Ответ по обращению/);
      await settle();
    };

    // A polite reply on time: nothing.
    await reply(
      onTime.incident,
      onTime.user.id,
      'Здравствуйте! Вывоз мусора по вашему адресу будет восстановлен до 5 декабря.',
      'polite-1',
    );
    expect(await alerts('rude_reply')).toEqual([]);
    expect(await alerts('late_reply')).toEqual([]);

    // A rude one: one alert, with the phrases found, in the center's chat.
    let m = mark();
    await reply(onTime.incident, onTime.user.id, 'Сами виноваты, не морочьте голову.', 'rude-1');
    const rude = await alerts('rude_reply');
    expect(rude).toHaveLength(1);
    expect(rude[0]!.incident_id).toBe(onTime.incident);
    expect(rude[0]!.details).toMatchObject({ phrases: ['сами виноваты', 'не морочь'] });
    const rudeMsg = await centerGot(m, /Грубый ответ/);
    expect(rudeMsg.text).toContain('Найдено: «сами виноваты», «не морочь»');
    expect(rudeMsg.text).toContain('Текст ответа: «Сами виноваты, не морочьте голову.»');

    // The first reply after the deadline: one alert; a second reply adds nothing.
    m = mark();
    await reply(
      late.incident,
      late.user.id,
      'Здравствуйте! Контейнеры вывезены, график восстановлен.',
      'late-1',
    );
    const lateAlerts = await alerts('late_reply');
    expect(lateAlerts.map((a) => a.incident_id)).toEqual([late.incident]);
    expect(Number(lateAlerts[0]!.details.lateMinutes)).toBeGreaterThanOrEqual(125);
    const lateMsg = await centerGot(m, /Ответ после срока/);
    expect(lateMsg.text).toMatch(/опоздание 2 ч \d+ мин/);
    await reply(late.incident, late.user.id, 'Дополнительно: площадка убрана.', 'late-2');
    expect(await alerts('late_reply')).toHaveLength(1);
    expect(await alerts('rude_reply')).toHaveLength(1);
  });

  it('the list, acknowledgement (audited, live), and 403 without alerts.ack', async () => {
    const list = await api('GET', '/alerts?kind=rude_reply,late_reply', analystToken);
    expect(list.status).toBe(200);
    const items = list.body.items as AlertJson[];
    expect(items.map((a) => a.kind).sort()).toEqual(['late_reply', 'rude_reply']);
    const rude = items.find((a) => a.kind === 'rude_reply')!;
    expect(rude).toMatchObject({
      kindLabel: 'Грубый ответ',
      severity: 'critical',
      sector: 'waste',
      municipality: 'novoaltaysk',
      municipalityName: 'Новоалтайск',
      acknowledgedAt: null,
    });
    expect(rude.text).toMatch(/^Конфликтная ситуация: Грубый ответ/);
    expect((await api('GET', '/alerts', smmToken)).status).toBe(403);
    expect((await api('GET', '/alerts?kind=nonsense', analystToken)).status).toBe(400);

    // Live: the workspace stream carries an `alert` event when it is acknowledged.
    const ctl = new AbortController();
    const stream = await fetch(`${t.app.url}/api/v1/stream`, {
      headers: { authorization: `Bearer ${analystToken}` },
      signal: ctl.signal,
    });
    const reader = stream.body!.getReader();
    let received = '';
    const sawAlert = (async () => {
      const dec = new TextDecoder();
      while (!/event: alert\ndata: \{"id":\d+/.test(received)) {
        const { value, done } = await reader.read();
        if (done) break;
        received += dec.decode(value);
      }
    })().catch(() => undefined);
    await new Promise((r) => setTimeout(r, 300));

    expect((await api('POST', `/alerts/${rude.id}/ack`, smmToken, {})).status).toBe(403);
    const ack = await api('POST', `/alerts/${rude.id}/ack`, analystToken, {});
    expect(ack.status).toBe(200);
    expect(ack.body).toMatchObject({ id: rude.id, acknowledgedBy: 'staff:analyst1' });
    expect((await api('POST', `/alerts/${rude.id}/ack`, analystToken, {})).body).toMatchObject({
      error: 'ALERT_ACKNOWLEDGED',
    });
    expect((await api('POST', '/alerts/99999999/ack', analystToken, {})).status).toBe(404);
    const [audit] = await q<{ actor: string; entity_id: string; after: { acknowledgedBy: string } }>(
      `select actor, entity_id, after from audit_log where action = 'alert.ack'`,
    );
    expect(audit).toMatchObject({
      actor: 'staff:analyst1',
      entity_id: String(rude.id),
      after: { acknowledgedBy: 'staff:analyst1' },
    });
    await Promise.race([sawAlert, new Promise((r) => setTimeout(r, 5000))]);
    ctl.abort();
    expect(received).toContain(`event: alert\ndata: {"id":${rude.id},"status":"rude_reply"`);

    const open = (await api('GET', '/alerts?status=open', analystToken)).body.items as AlertJson[];
    expect(open.map((a) => a.id)).not.toContain(rude.id);
    const all = (await api('GET', '/alerts?status=all&kind=rude_reply', analystToken)).body
      .items as AlertJson[];
    expect(all.map((a) => a.id)).toEqual([rude.id]);
    // Every kind was raised once by the situations above, and the whole list says so.
    const kinds = (
      (await api('GET', '/alerts?status=all&limit=500', analystToken)).body.items as AlertJson[]
    ).map((a) => a.kind);
    for (const k of ['spike', 'toxic_thread', 'repeat_author', 'rude_reply', 'late_reply'])
      expect(kinds).toContain(k);
  });

  it('a sector head sees and acknowledges only the alerts of their sector', async () => {
    const head = await t.app.staff.create({
      login: 'head-waste',
      name: 'Руководитель блока ТКО',
      grants: [{ role: 'sector_head', sector: 'waste' }],
    });
    const token = await t.app.staff.issueToken(head.id, 'test');
    const items = (await api('GET', '/alerts?status=all&limit=500', token)).body.items as AlertJson[];
    expect(items.length).toBeGreaterThan(0);
    expect(new Set(items.map((a) => a.sector))).toEqual(new Set(['waste']));
    const [toxic] = await alerts('toxic_thread');
    expect((await api('POST', `/alerts/${toxic!.id}/ack`, token, {})).body).toMatchObject({
      error: 'FORBIDDEN_SCOPE',
    });
  });
});
