/**
 * The governor's weekly report on a known week, in real PostgreSQL, Redis and BullMQ with the staff bot on
 * the Telegram Bot API emulator: the figures against the week before; the PDF (read back with pdfjs) and
 * the XLSX (read back with exceljs) hold them; the schedule makes last week's report once and the staff bot
 * posts both files to the configured chat once however many sla-watch passes run; «make and post now» is
 * for staff with the right role only and is audited; bad weeks and formats get a 400 with a reason.
 */
import ExcelJS from 'exceljs';
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { weekStart } from '../src/responders/report.ts';
import { startTelegramEmulator, type TelegramEmulator } from './emulators/telegram.ts';
import { openDatabase } from '../src/store/db.ts';
import { API_TOKEN, createTestDatabase, startTestApp, waitFor, type TestApp } from './helpers.ts';

const STAFF_BOT = '700400200:AAreport-staff-bot-token-0123456';
const REPORT_CHAT = -1009400001;
const DAY = 86_400_000;

async function pdfText(data: Uint8Array): Promise<string> {
  const pdf = await getDocument({ data: new Uint8Array(data), useSystemFonts: false }).promise;
  const parts: string[] = [];
  for (let p = 1; p <= pdf.numPages; p++) {
    const c = await (await pdf.getPage(p)).getTextContent();
    parts.push(c.items.map((i) => ('str' in i ? i.str : '')).join(' '));
  }
  return parts.join('\n').replace(/\s+/g, ' ');
}

async function xlsxRows(data: ArrayBuffer | Buffer, sheet: string): Promise<unknown[][]> {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(data as ArrayBuffer);
  const ws = wb.getWorksheet(sheet);
  if (!ws) throw new Error(`no sheet ${sheet}`);
  const rows: unknown[][] = [];
  ws.eachRow((r) => rows.push((r.values as unknown[]).slice(1)));
  return rows;
}

describe('weekly governor report', () => {
  let tg: TelegramEmulator;
  let t: TestApp;
  let analystToken: string;
  let overdueId: number;
  let testDb: { url: string; drop: () => Promise<void> };
  const from = new Date(weekStart(new Date()).getTime() - 7 * DAY); // last full week, Monday 00:00 Barnaul
  const at = (days: number, hours = 3) => new Date(from.getTime() + days * DAY + hours * 3_600_000);
  const q = <T>(sql: string, params: unknown[] = []) => t.app.database.query<T>(sql, params);
  const api = async (method: string, path: string, token: string, body?: unknown) => {
    const res = await fetch(`${t.app.url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return res;
  };
  const documents = () =>
    tg.sent().filter((s) => s.method === 'sendDocument' && s.chat_id === String(REPORT_CHAT));

  beforeAll(async () => {
    tg = await startTelegramEmulator();
    tg.addBot(STAFF_BOT, { username: 'cur_report_bot' });
    // The schedule is off until the test turns it on: the setting exists before the workers start, so no
    // pass can make last week's report before the data below is in.
    testDb = await createTestDatabase();
    const pre = await openDatabase({ url: testDb.url });
    await pre.query(`insert into settings (key, value) values ('reports', $1)`, [
      JSON.stringify({ enabled: false, chatIds: [], weekday: 1, hour: 0 }),
    ]);
    await pre.close();
    t = await startTestApp({
      roles: ['api', 'workers'],
      listen: true,
      env: {
        DATABASE_URL: testDb.url,
        STAFF_BOT_TOKEN: STAFF_BOT,
        TELEGRAM_API_ROOT: tg.url,
        SLA_WATCH_EVERY_MS: '1000',
        DIGEST_HOUR: '23',
      },
    });
    await q(
      `insert into sources (id, platform, channel_kind, name) values ('test-report', 'api', 'api', 'test')`,
    );
    // Messages: 5 last week (3 negative), 2 the week before.
    const msg = (day: Date, sentiment: string, n: number) =>
      q(
        `insert into messages (source_id, external_id, text, posted_at, received_at, sentiment, sector, municipality, state)
         values ('test-report', $1, 'текст', $2, $2, $3, 'roads', 'biysk', 'routed')`,
        [`m${n}`, day, sentiment],
      );
    let n = 0;
    for (const s of ['negative', 'negative', 'negative', 'neutral', 'positive']) await msg(at(0), s, n++);
    for (const s of ['negative', 'neutral']) await msg(at(-6), s, n++);
    // Incidents: 3 last week (2 roads in Biysk, one of them overdue and open; 1 housing in Barnaul resolved
    // in time), 1 the week before.
    const inc = async (
      created: Date,
      sector: string,
      muni: string,
      o: { due: Date; resolved?: Date; status: string },
    ) => {
      const [row] = await q<{ id: number }>(
        `insert into incidents (status, sector, municipality, agency_id, summary, channel_kind, message_count, author_count,
                                negative_count, first_message_at, last_message_at, first_response_due, resolution_due,
                                resolved_at, created_at)
         values ($1, $2, $3, 'mintrans', $4, 'api', 1, 1, 1, $5, $5, $5::timestamptz + interval '1 day', $6, $7, $5)
         returning id`,
        [o.status, sector, muni, `Яма на дороге (${sector})`, created, o.due, o.resolved ?? null],
      );
      return Number(row!.id);
    };
    overdueId = await inc(at(0), 'roads', 'biysk', { due: at(1), status: 'assigned' });
    await inc(at(1), 'roads', 'biysk', { due: at(20), status: 'in_progress' });
    await inc(at(2), 'housing', 'barnaul', { due: at(5), resolved: at(3), status: 'resolved' });
    await inc(at(-5), 'roads', 'biysk', { due: at(-1), resolved: at(-4), status: 'closed' });
    const analyst = await t.app.staff.create({
      login: 'analyst-r',
      name: 'Аналитик',
      grants: [{ role: 'analyst' }],
    });
    analystToken = await t.app.staff.issueToken(analyst.id, 'test');
  });
  afterAll(async () => {
    await t?.close();
    await testDb?.drop();
    await tg?.close();
  });

  it('puts the week against the week before, with sectors and the overdue list', async () => {
    const res = await api('GET', '/reports/weekly', API_TOKEN);
    expect(res.status).toBe(200);
    const r = (await res.json()) as {
      from: string;
      figures: { key: string; value: number | null; previous: number | null }[];
      sectors: { code: string; incidents: number; previous: number; overdue: number }[];
      overdue: { id: number; number: string; daysOverdue: number }[];
      daily: { messages: number; previousMessages: number }[];
    };
    expect(r.from).toBe(from.toISOString());
    const fig = (k: string) => r.figures.find((f) => f.key === k)!;
    expect(fig('messages')).toMatchObject({ value: 5, previous: 2 });
    expect(fig('incidents')).toMatchObject({ value: 3, previous: 1 });
    expect(fig('resolved')).toMatchObject({ value: 1, previous: 1 });
    expect(fig('negative').value).toBeCloseTo(0.6, 5);
    expect(fig('negative').previous).toBeCloseTo(0.5, 5);
    expect(fig('overdue').value).toBe(1);
    expect(r.sectors.find((s) => s.code === 'roads')).toMatchObject({
      incidents: 2,
      previous: 1,
      overdue: 1,
    });
    expect(r.overdue.map((o) => o.id)).toEqual([overdueId]);
    expect(r.overdue[0]!.daysOverdue).toBe(5); // due Tuesday 03:00, counted to the week's end
    expect(r.daily[0]).toMatchObject({ messages: 5 });
    expect(r.daily[1]).toMatchObject({ previousMessages: 2 });

    // Resolved today, after that week: the week's report still counts it overdue at the week's end — in the
    // headline, the sector column and the list alike.
    await q(`update incidents set status = 'resolved', resolved_at = now() where id = $1`, [overdueId]);
    try {
      const again = (await (await api('GET', '/reports/weekly', API_TOKEN)).json()) as typeof r;
      expect(again.figures.find((f) => f.key === 'overdue')!.value).toBe(1);
      expect(again.sectors.find((s) => s.code === 'roads')!.overdue).toBe(1);
      expect(again.overdue.map((o) => o.id)).toEqual([overdueId]);
    } finally {
      await q(`update incidents set status = 'assigned', resolved_at = null where id = $1`, [overdueId]);
    }

    // Waiting for the citizen's details at the week's end: not overdue then — whether the pause still stands
    // or has closed since (then it is in `pauses`).
    const overdueNow = async () => {
      const x = (await (await api('GET', '/reports/weekly', API_TOKEN)).json()) as typeof r;
      return [
        x.figures.find((f) => f.key === 'overdue')!.value,
        x.sectors.find((s) => s.code === 'roads')!.overdue,
        x.overdue.length,
      ];
    };
    await q(`update incidents set paused_at = $2 where id = $1`, [overdueId, at(2)]);
    try {
      expect(await overdueNow()).toEqual([0, 0, 0]);
      await q(`update incidents set paused_at = null, pauses = $2::jsonb where id = $1`, [
        overdueId,
        JSON.stringify([{ from: at(2).toISOString(), to: new Date().toISOString() }]),
      ]);
      expect(await overdueNow()).toEqual([0, 0, 0]);
      // A pause that had closed before the week's end does not excuse it.
      await q(`update incidents set pauses = $2::jsonb where id = $1`, [
        overdueId,
        JSON.stringify([{ from: at(2).toISOString(), to: at(3).toISOString() }]),
      ]);
      expect(await overdueNow()).toEqual([1, 1, 1]);
    } finally {
      await q(`update incidents set paused_at = null, pauses = '[]'::jsonb where id = $1`, [overdueId]);
    }
  });

  it('renders the same figures as PDF and XLSX', async () => {
    const pdf = await api('GET', '/reports/weekly?format=pdf', API_TOKEN);
    expect(pdf.status).toBe(200);
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    expect(pdf.headers.get('content-disposition')).toMatch(
      /attachment; filename="doklad-\d{4}-\d{2}-\d{2}\.pdf"/,
    );
    const text = await pdfText(new Uint8Array(await pdf.arrayBuffer()));
    expect(text).toContain('Еженедельный доклад о работе с обращениями граждан');
    expect(text).toContain('Новых инцидентов');
    expect(text).toContain('Сообщения по дням');
    expect(text).toContain('Дороги');
    expect(text).toContain(`№ ${String(overdueId).padStart(6, '0')}`);

    const xlsx = await api('GET', '/reports/weekly?format=xlsx', API_TOKEN);
    expect(xlsx.status).toBe(200);
    const rows = await xlsxRows(await xlsx.arrayBuffer(), 'Показатели');
    expect(rows[0]?.[0]).toMatch(/^Еженедельный доклад о работе с обращениями граждан за /);
    expect(rows).toContainEqual(['Показатель', 'Неделя', 'Прошлая неделя', 'Изменение']);
    expect(rows.find((r) => r[0] === 'Новых инцидентов')?.slice(0, 4)).toEqual([
      'Новых инцидентов',
      3,
      1,
      '+200 %',
    ]);
    const overdue = await xlsxRows(
      await (await api('GET', '/reports/weekly?format=xlsx', API_TOKEN)).arrayBuffer(),
      'Просрочено',
    );
    expect(overdue[1]?.[0]).toBe(`№ ${String(overdueId).padStart(6, '0')}`);
  });

  it('refuses a bad week or format with a reason', async () => {
    for (const url of [
      '/reports/weekly?week=2026-13-45',
      '/reports/weekly?format=doc',
      '/reports/weekly?week=2999-01-01',
    ]) {
      const res = await api('GET', url, API_TOKEN);
      expect(res.status, url).toBe(400);
      const body = (await res.json()) as { error: string; field?: string };
      expect(body.error).toBe('VALIDATION_FAILED');
      expect(body.field).toBeTruthy();
    }
    expect((await api('GET', '/reports/999999/pdf', API_TOKEN)).status).toBe(404);
  });

  it('the schedule makes last week’s report once and the staff bot posts both files once', async () => {
    const put = await api('PUT', '/settings/reports', API_TOKEN, {
      enabled: true,
      chatIds: [String(REPORT_CHAT)],
      weekday: 1,
      hour: 0,
    });
    expect(put.status).toBe(200);
    const docs = await waitFor(async () => (documents().length >= 2 ? documents() : undefined), {
      what: 'the report posted to the chat',
    });
    const pdf = docs.find((d) => d.document?.filename.endsWith('.pdf'))!;
    const xlsx = docs.find((d) => d.document?.filename.endsWith('.xlsx'))!;
    expect(pdf.caption).toMatch(
      /^Еженедельный доклад о работе с обращениями граждан за .*\nСообщений: 5, новых инцидентов: 3, решено: 1\./,
    );
    expect(await pdfText(pdf.document!.data)).toContain('Просроченные инциденты');
    const rows = await xlsxRows(xlsx.document!.data, 'Отрасли');
    expect(rows.find((r) => r[0] === 'Дороги')?.slice(0, 4)).toEqual(['Дороги', 2, 1, 1]);
    // Three more sla-watch passes: nothing is made or posted twice.
    await new Promise((r) => setTimeout(r, 3500));
    expect(documents()).toHaveLength(2);
    const stored = await q<{ n: string }>(`select count(*) as n from reports where trigger = 'schedule'`);
    expect(Number(stored[0]!.n)).toBe(1);
    const list = (await (await api('GET', '/reports', API_TOKEN)).json()) as {
      items: { id: number; trigger: string }[];
    };
    expect(list.items).toHaveLength(1);
    const again = await api('GET', `/reports/${list.items[0]!.id}/pdf`, API_TOKEN);
    expect(Buffer.from(await again.arrayBuffer()).equals(pdf.document!.data)).toBe(true);
  });

  it('«make and post now» is for staff roles that may, and is audited', async () => {
    expect((await api('POST', '/reports/weekly', API_TOKEN, { post: true })).status).toBe(403);
    const res = await api('POST', '/reports/weekly', analystToken, { post: true });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { id: number; queued: number };
    expect(body.queued).toBe(2);
    await waitFor(async () => documents().length >= 4 || undefined, { what: 'the manual report posted' });
    const audit = await q<{ actor: string; entity_id: string }>(
      `select actor, entity_id from audit_log where entity = 'report' and action = 'create'`,
    );
    expect(audit).toEqual([{ actor: expect.stringContaining('analyst-r'), entity_id: String(body.id) }]);
  });
});
