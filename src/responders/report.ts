/**
 * The weekly report for the governor: key figures against the week before, the days of the week, sectors,
 * top recurring problems, agency ratings and the overdue list — built from the same data the staff work on,
 * rendered as PDF (with charts) and XLSX (report-render.ts), stored (table `reports`) and posted by the staff
 * bot to the chats named in the settings. Weeks run Monday 00:00 to Monday 00:00 in Barnaul time.
 *
 * Schedule (setting `reports`): from `weekday` at `hour` (Barnaul) the report of the previous full week is
 * generated once — the period is unique among scheduled reports, so a second pass or a second worker adds
 * nothing — and posted (PDF and XLSX as two documents per chat, each an outbox row with its own key).
 */
import { eq, sql } from 'drizzle-orm';
import { maskText } from './privacy.ts';
import { incidentAuthorNames } from '../store/privacy.store.ts';
import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import { REGION_UTC_OFFSET_MINUTES } from '../domain/calendar.ts';
import {
  DEFAULT_RATING_WEIGHTS,
  type AnalyticsStore,
  type Measure,
  type RatingItem,
  type RatingWeights,
} from '../store/analytics.store.ts';
import type { Database } from '../store/db.ts';
import type { OutboundStore } from '../store/outbound.store.ts';
import { topProblems } from '../store/problems.store.ts';
import type { ReferenceSnapshot } from '../store/reference.store.ts';
import type { ReportRow, ReportStore } from '../store/report.store.ts';
import * as s from '../store/schema.ts';
import type { Queues } from '../workers/queues.ts';
import { formatDate, incidentNumber, sectorName } from './format.ts';
import { queueOutbound } from './outbound.ts';
import { renderReportPdf, renderReportXlsx } from './report-render.ts';

const DAY_MS = 86_400_000;
const OFFSET_MS = REGION_UTC_OFFSET_MINUTES * 60_000;

export interface ReportSettings {
  /** Generate the weekly report on schedule. */
  enabled: boolean;
  /** Telegram chat ids the staff bot posts it to. */
  chatIds: string[];
  /** ISO weekday (1 = Monday) and Barnaul hour from which last week's report is made. */
  weekday: number;
  hour: number;
}

export const DEFAULT_REPORT_SETTINGS: ReportSettings = { enabled: true, chatIds: [], weekday: 1, hour: 8 };

export async function reportSettings(db: Database['db']): Promise<ReportSettings> {
  const [row] = await db.select().from(s.settings).where(eq(s.settings.key, 'reports'));
  return { ...DEFAULT_REPORT_SETTINGS, ...((row?.value ?? {}) as Partial<ReportSettings>) };
}

/** 'YYYY-MM-DD' of an instant in Barnaul. */
const localDate = (t: Date) => new Date(t.getTime() + OFFSET_MS).toISOString().slice(0, 10);

/** Monday 00:00 (Barnaul) of the week holding `t`, as a UTC instant. */
export function weekStart(t: Date): Date {
  const local = new Date(t.getTime() + OFFSET_MS);
  const dow = (local.getUTCDay() + 6) % 7; // Monday = 0
  const midnight = Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate());
  return new Date(midnight - dow * DAY_MS - OFFSET_MS);
}

export interface Figure {
  key: string;
  label: string;
  value: number | null;
  previous: number | null;
  /** How to print it: a count, hours, a share (0..1) or a score. */
  unit: 'count' | 'hours' | 'share' | 'score';
  /** Whether a rise is good news (green) or bad (red). */
  higherIsBetter: boolean;
}

export interface RankedRating {
  rank: number;
  change: number | null;
  name: string;
  score: number;
  incidents: number;
}

export interface WeeklyReport {
  title: string;
  from: string;
  to: string;
  /** «16.11.2026 – 22.11.2026» */
  periodLabel: string;
  generatedAt: string;
  figures: Figure[];
  daily: { day: string; label: string; messages: number; incidents: number; previousMessages: number }[];
  sectors: { code: string; name: string; incidents: number; previous: number; overdue: number }[];
  problems: {
    title: string;
    municipality: string | null;
    incidents: number;
    previous: number;
    trend: string;
  }[];
  ratings: { level: 'regional' | 'municipal'; title: string; items: RankedRating[] }[];
  overdue: {
    id: number;
    number: string;
    sector: string;
    municipality: string;
    agency: string;
    due: string;
    daysOverdue: number;
    summary: string;
  }[];
  /** Overdue incidents beyond the listed ones. */
  overdueMore: number;
}

export interface ReportDeps {
  database: Database;
  analytics: AnalyticsStore;
  reports: ReportStore;
  reference: () => Promise<ReferenceSnapshot>;
  log?: Logger;
  /** The staff bot's source id; unset → reports are stored, not posted. */
  staffSource?: string;
  outbound?: OutboundStore;
  queues?: Queues;
}

/** Ranks one level of agencies by score (ties: more incidents first), with the change of rank. */
export function rankRatings(now: RatingItem[], before: RatingItem[], level: string) {
  const rank = (items: RatingItem[]) =>
    items.filter((i) => i.level === level).sort((a, b) => b.score - a.score || b.incidents - a.incidents);
  const prev = rank(before);
  return rank(now).map((i, n) => {
    const p = prev.findIndex((b) => b.agencyId === i.agencyId);
    return { ...i, rank: n + 1, previousRank: p < 0 ? null : p + 1, change: p < 0 ? null : p + 1 - (n + 1) };
  });
}

export async function ratingWeights(db: Database['db']): Promise<RatingWeights> {
  const [row] = await db.select().from(s.settings).where(eq(s.settings.key, 'analytics'));
  const v = (row?.value ?? {}) as { ratingWeights?: RatingWeights };
  return { ...DEFAULT_RATING_WEIGHTS, ...v.ratingWeights };
}

const shortDate = new Intl.DateTimeFormat('ru-RU', {
  timeZone: 'Asia/Barnaul',
  day: '2-digit',
  month: '2-digit',
  year: 'numeric',
});
const TREND_RU = { up: 'рост', down: 'снижение', flat: 'без изменений', new: 'новая' } as const;
const dayLabel = new Intl.DateTimeFormat('ru-RU', {
  timeZone: 'Asia/Barnaul',
  weekday: 'short',
  day: '2-digit',
  month: '2-digit',
});

/** Builds the report of the week starting at `from` (a Monday 00:00 Barnaul). */
export async function buildWeeklyReport(
  deps: ReportDeps,
  from: Date,
  now = new Date(),
): Promise<WeeklyReport> {
  const to = new Date(from.getTime() + 7 * DAY_MS);
  const prevFrom = new Date(from.getTime() - 7 * DAY_MS);
  const { analytics } = deps;
  const db = deps.database.db;
  const ref = await deps.reference();

  const total = async (measure: Measure, f: Date, t: Date) =>
    (await analytics.slice({ measure, by: [], from: f, to: t, filters: {} }))[0]?.value ?? null;
  const countSql = async (q: ReturnType<typeof sql>) =>
    Number((await deps.database.rows<{ n: string | number }>(q))[0]?.n ?? 0);
  const resolved = (f: Date, t: Date) =>
    countSql(sql`select count(*) as n from incidents where resolved_at >= ${f} and resolved_at < ${t}`);
  const negativeShare = async (f: Date, t: Date) => {
    const rows = await analytics.slice({
      measure: 'messages',
      by: ['sentiment'],
      from: f,
      to: t,
      filters: {},
    });
    const all = rows.reduce((a, r) => a + (r.value ?? 0), 0);
    const neg = rows.find((r) => r.keys.sentiment === 'negative')?.value ?? 0;
    return all ? neg / all : null;
  };
  // Overdue at the end of a week: past its resolution deadline then, not resolved by then and its clock not
  // paused then (a details request stands, or one that stood at that moment and has closed since: `pauses`
  // keeps the closed ones). The headline, the sector column and the list all count by this one rule, so they
  // add up for a past week too.
  const overdueAsOf = (t: Date) =>
    sql`resolution_due < ${t} and created_at < ${t} and (resolved_at is null or resolved_at > ${t})
        and status not in ('rejected', 'spam')
        and not (paused_at is not null and paused_at <= ${t})
        and not exists (select 1 from jsonb_array_elements(pauses) p
                        where (p->>'from')::timestamptz <= ${t} and (p->>'to')::timestamptz > ${t})`;
  const overdueAt = (t: Date) => countSql(sql`select count(*) as n from incidents where ${overdueAsOf(t)}`);

  const pair = async (
    key: string,
    label: string,
    unit: Figure['unit'],
    higherIsBetter: boolean,
    get: (f: Date, t: Date) => Promise<number | null>,
  ): Promise<Figure> => {
    const [value, previous] = await Promise.all([get(from, to), get(prevFrom, from)]);
    return { key, label, unit, higherIsBetter, value, previous };
  };
  const figures = await Promise.all([
    pair('messages', 'Сообщений граждан', 'count', false, (f, t) => total('messages', f, t)),
    pair('authors', 'Авторов', 'count', false, (f, t) => total('authors', f, t)),
    pair('incidents', 'Новых инцидентов', 'count', false, (f, t) => total('incidents', f, t)),
    pair('resolved', 'Решено инцидентов', 'count', true, resolved),
    pair('overdue', 'Просрочено на конец недели', 'count', false, (_f, t) => overdueAt(t)),
    pair('within_deadline', 'Доля решённых в срок', 'share', true, (f, t) =>
      total('within_deadline_share', f, t),
    ),
    pair('first_response', 'Медиана первого ответа, ч', 'hours', false, (f, t) =>
      total('first_response_hours', f, t),
    ),
    pair('satisfaction', 'Средняя оценка граждан (1–5)', 'score', true, (f, t) =>
      total('satisfaction', f, t),
    ),
    pair('negative', 'Доля негативных сообщений', 'share', false, negativeShare),
  ]);

  // The days of the week against the same weekday of the week before.
  const byDay = async (measure: Measure, f: Date, t: Date) => {
    const rows = await analytics.slice({ measure, by: [], period: 'day', from: f, to: t, filters: {} });
    // Buckets are Barnaul dates ('YYYY-MM-DD'); index them by the day's offset from the week's start.
    const m = new Map<number, number>();
    for (let i = 0; i < 7; i++) {
      const date = localDate(new Date(f.getTime() + i * DAY_MS));
      m.set(i, rows.find((r) => r.keys.period === date)?.value ?? 0);
    }
    return m;
  };
  const [dm, di, dp] = await Promise.all([
    byDay('messages', from, to),
    byDay('incidents', from, to),
    byDay('messages', prevFrom, from),
  ]);
  const daily = Array.from({ length: 7 }, (_, i) => {
    const d = new Date(from.getTime() + i * DAY_MS);
    return {
      day: localDate(d),
      label: dayLabel.format(d),
      messages: dm.get(i) ?? 0,
      incidents: di.get(i) ?? 0,
      previousMessages: dp.get(i) ?? 0,
    };
  });

  const bySector = async (f: Date, t: Date) =>
    new Map(
      (await analytics.slice({ measure: 'incidents', by: ['sector'], from: f, to: t, filters: {} })).map(
        (r) => [String(r.keys.sector ?? 'other'), r.value ?? 0],
      ),
    );
  const [secNow, secPrev, secOverdue] = await Promise.all([
    bySector(from, to),
    bySector(prevFrom, from),
    deps.database.rows<{ sector: string; n: string | number }>(
      sql`select coalesce(sector, 'other') as sector, count(*) as n from incidents
            where ${overdueAsOf(to)} group by 1`,
    ),
  ]);
  const overdueBySector = new Map(secOverdue.map((r) => [r.sector, Number(r.n)]));
  const sectorCodes = new Set([...secNow.keys(), ...secPrev.keys(), ...overdueBySector.keys()]);
  const sectors = [...sectorCodes]
    .map((code) => ({
      code,
      name: sectorName(code),
      incidents: secNow.get(code) ?? 0,
      previous: secPrev.get(code) ?? 0,
      overdue: overdueBySector.get(code) ?? 0,
    }))
    .sort((a, b) => b.incidents - a.incidents || b.overdue - a.overdue || a.name.localeCompare(b.name, 'ru'));

  // Titles and summaries are citizens' words: the report (read by every analytics role, posted to chats)
  // carries no contacts and no names of those who wrote.
  const top = await topProblems(deps.database, { from, to, limit: 10 });
  const topNames = await incidentAuthorNames(
    deps.database,
    top.flatMap((p) => p.incidentIds),
  );
  const problems = top.map((p) => ({
    title: maskText(
      p.title,
      p.incidentIds.flatMap((id) => topNames.get(id) ?? []),
    ),
    municipality: p.municipality
      ? (ref.municipalities.get(p.municipality)?.shortName ?? p.municipality)
      : null,
    incidents: p.incidents,
    previous: p.previous,
    trend: TREND_RU[p.trend],
  }));

  const weights = await ratingWeights(db);
  const [rNow, rPrev] = await Promise.all([
    analytics.ratings(from, to, weights),
    analytics.ratings(prevFrom, from, weights),
  ]);
  const ratings = (['regional', 'municipal'] as const).map((level) => ({
    level,
    title: level === 'regional' ? 'Региональные органы власти' : 'Органы местного самоуправления',
    items: rankRatings(rNow, rPrev, level).map((i) => ({
      rank: i.rank,
      change: i.change,
      name: i.name,
      score: i.score,
      incidents: i.incidents,
    })),
  }));

  const LIST = 1000; // the PDF lists the first 50, the XLSX all of these
  const overdueRows = await deps.database.rows<{
    id: string | number;
    sector: string | null;
    municipality: string | null;
    agency_id: string | null;
    resolution_due: string | Date;
    summary: string | null;
    total: string | number;
  }>(
    sql`select id, sector, municipality, agency_id, resolution_due, summary, count(*) over () as total
          from incidents where ${overdueAsOf(to)}
          order by resolution_due asc, id asc limit ${LIST}`,
  );
  const overdueNames = await incidentAuthorNames(
    deps.database,
    overdueRows.map((r) => Number(r.id)),
  );
  const overdue = overdueRows.map((r) => {
    const due = new Date(r.resolution_due);
    return {
      id: Number(r.id),
      number: incidentNumber(Number(r.id)),
      sector: r.sector ? sectorName(r.sector) : '—',
      municipality: r.municipality
        ? (ref.municipalities.get(r.municipality)?.shortName ?? r.municipality)
        : '—',
      agency: r.agency_id ? (ref.agencies.get(r.agency_id)?.name ?? r.agency_id) : 'не назначено',
      due: shortDate.format(due),
      daysOverdue: Math.max(0, Math.floor((Math.min(now.getTime(), to.getTime()) - due.getTime()) / DAY_MS)),
      summary: maskText(r.summary ?? '', overdueNames.get(Number(r.id))).slice(0, 140),
    };
  });
  const overdueTotal = Number(overdueRows[0]?.total ?? 0);

  const last = new Date(to.getTime() - DAY_MS);
  return {
    title: 'Еженедельный доклад о работе с обращениями граждан',
    from: from.toISOString(),
    to: to.toISOString(),
    periodLabel: `${formatDate(from).replace(/ г\.$/, '')} – ${formatDate(last)}`,
    generatedAt: now.toISOString(),
    figures,
    daily,
    sectors,
    problems,
    ratings,
    overdue,
    overdueMore: Math.max(0, overdueTotal - overdue.length),
  };
}

/** Builds, renders and stores a report; a scheduled one returns undefined when its week is stored already. */
export async function generateWeeklyReport(
  deps: ReportDeps,
  from: Date,
  opts: { trigger: 'schedule' | 'manual'; createdBy?: string; now?: Date },
): Promise<ReportRow | undefined> {
  const report = await buildWeeklyReport(deps, from, opts.now);
  const [pdf, xlsx] = await Promise.all([renderReportPdf(report), renderReportXlsx(report)]);
  return deps.reports.add({
    kind: 'weekly',
    periodFrom: new Date(report.from),
    periodTo: new Date(report.to),
    trigger: opts.trigger,
    createdBy: opts.createdBy ?? null,
    summary: report as unknown as Record<string, unknown>,
    pdf,
    xlsx,
  });
}

export const reportFileName = (row: Pick<ReportRow, 'periodFrom'>, format: 'pdf' | 'xlsx') =>
  `doklad-${localDate(row.periodFrom)}.${format}`;

/** The caption under the posted PDF: the period and the figures a reader wants first. */
export function reportCaption(r: WeeklyReport): string {
  const f = (k: string) => r.figures.find((x) => x.key === k)?.value;
  const n = (v: number | null | undefined) =>
    v === null || v === undefined ? '—' : Math.round(v).toLocaleString('ru-RU');
  const share = f('within_deadline');
  return [
    `${r.title} за ${r.periodLabel}`,
    `Сообщений: ${n(f('messages'))}, новых инцидентов: ${n(f('incidents'))}, решено: ${n(f('resolved'))}.`,
    `Просрочено: ${n(f('overdue'))}; в срок: ${share === null || share === undefined ? '—' : `${Math.round(share * 100)} %`}.`,
  ].join('\n');
}

/** Queues the PDF and the XLSX of a stored report to each chat (keyed: a repeat sends nothing twice). */
export async function postReport(
  deps: ReportDeps,
  row: ReportRow,
  chatIds: readonly string[],
): Promise<number> {
  if (!deps.staffSource || !deps.outbound || !deps.queues) return 0;
  const caption = reportCaption(row.summary as unknown as WeeklyReport);
  let queued = 0;
  for (const chatId of chatIds)
    for (const format of ['pdf', 'xlsx'] as const) {
      const r = await queueOutbound(
        { outbound: deps.outbound, queues: deps.queues },
        {
          idempotencyKey: postKey(row.id, chatId, format),
          sourceId: deps.staffSource,
          chatId,
          text:
            format === 'pdf'
              ? caption
              : `Таблицы к докладу за ${(row.summary as { periodLabel?: string }).periodLabel ?? ''}`,
          attachment: { kind: 'report', id: row.id, format },
          purpose: 'report',
        },
      );
      if (r.created) queued++;
    }
  return queued;
}

const postKey = (reportId: number, chatId: string, format: 'pdf' | 'xlsx') =>
  `report:${reportId}:${chatId}:${format}`;

/** The chats that have not been sent this report yet. */
async function unposted(deps: ReportDeps, row: ReportRow, chatIds: readonly string[]): Promise<string[]> {
  if (!chatIds.length || !deps.outbound || !deps.staffSource) return [];
  const have = new Set(
    (await deps.outbound.byKeys(chatIds.map((c) => postKey(row.id, c, 'xlsx')))).map((r) => r.chatId),
  );
  return chatIds.filter((c) => !have.has(c));
}

/** One pass of the schedule (run by sla-watch every minute): last week's report once, from weekday/hour. */
export async function runReportSchedule(deps: ReportDeps, now = new Date()): Promise<ReportRow | undefined> {
  const st = await reportSettings(deps.database.db);
  if (!st.enabled) return undefined;
  const thisWeek = weekStart(now);
  const due = thisWeek.getTime() + ((st.weekday - 1) * 24 + st.hour) * 3_600_000;
  if (now.getTime() < due) return undefined;
  const from = new Date(thisWeek.getTime() - 7 * DAY_MS);
  const stored = await deps.reports.scheduled('weekly', from);
  if (stored) {
    // A chat added to the settings after the report was made gets it too (the others have it: keyed rows).
    const missing = await unposted(deps, stored, st.chatIds);
    if (missing.length) await postReport(deps, stored, missing);
    return undefined;
  }
  const row = await generateWeeklyReport(deps, from, { trigger: 'schedule', now });
  if (!row) return undefined; // another worker stored it first; the next pass posts what is missing
  const queued = await postReport(deps, row, st.chatIds);
  deps.log?.info({ reportId: row.id, from: from.toISOString(), queued }, 'weekly report generated');
  return row;
}

/** The document an outbox row attaches (for the send worker). */
export async function reportAttachment(reports: ReportStore, id: number, format: 'pdf' | 'xlsx') {
  const row = await reports.get(id);
  if (!row) return undefined;
  return {
    filename: reportFileName(row, format),
    contentType:
      format === 'pdf'
        ? 'application/pdf'
        : 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    data: format === 'pdf' ? row.pdf : row.xlsx,
  };
}

/** sla-watch runs every minute: the report's schedule rides on it (a failure is logged, deadlines go on). */
export function withReportSchedule<T>(
  processor: (job: Job<T>, token?: string) => Promise<unknown>,
  deps: ReportDeps,
): (job: Job<T>, token?: string) => Promise<unknown> {
  return async (job, token) => {
    const result = await processor(job, token);
    await runReportSchedule(deps).catch((err: unknown) =>
      deps.log?.error({ err }, 'weekly report schedule failed; will try again on the next pass'),
    );
    return result;
  };
}
