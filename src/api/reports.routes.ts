/**
 * The governor's weekly report: the stored ones (scheduled or made on demand) with their PDF and XLSX, a
 * report of any week built on the fly (nothing stored), «make and post now», and the schedule's settings.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { sql } from 'drizzle-orm';
import { ForbiddenError, NotFoundError, ValidationError } from '../domain/errors.ts';
import { renderReportPdf, renderReportXlsx } from '../responders/report-render.ts';
import {
  buildWeeklyReport,
  generateWeeklyReport,
  postReport,
  reportFileName,
  reportSettings,
  weekStart,
  type ReportSettings,
} from '../responders/report.ts';
import * as s from '../store/schema.ts';
import { actorName, analyticsScope, type Principal } from './access.ts';
import { audited } from './audit.ts';

const CONTENT_TYPE = {
  pdf: 'application/pdf',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
} as const;
const Format = Type.Union([Type.Literal('pdf'), Type.Literal('xlsx')]);
const Week = Type.String({
  pattern: '^\\d{4}-\\d{2}-\\d{2}$',
  description: 'any date of the week (YYYY-MM-DD)',
});
const ChatId = Type.String({ pattern: '^-?\\d{1,20}$|^@[A-Za-z0-9_]{5,32}$', maxLength: 40 });

/** Monday 00:00 (Barnaul) of the week holding `date`; the last full week when absent. */
function weekFrom(date: string | undefined, now = new Date()): Date {
  if (!date) return new Date(weekStart(now).getTime() - 7 * 86_400_000);
  const t = new Date(`${date}T12:00:00+07:00`);
  // `2025-02-31` is not a day (Date would roll it over to March), nor is a year the platform never saw.
  const year = Number(date.slice(0, 4));
  if (Number.isNaN(t.getTime()) || t.toISOString().slice(0, 10) !== date)
    throw new ValidationError('week', 'is not a valid date');
  if (year < 2000) throw new ValidationError('week', 'is before the year 2000');
  const from = weekStart(t);
  if (from.getTime() > now.getTime()) throw new ValidationError('week', 'is in the future');
  return from;
}

/** The governor's report covers the whole region (summaries included): not for a role scoped to a part. */
function assertRegionWide(p: Principal | undefined): void {
  if (analyticsScope(p))
    throw new ForbiddenError(
      'the weekly report covers the whole region; the caller is limited to a part of it',
      {
        code: 'FORBIDDEN_SCOPE',
      },
    );
}

export const reportsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const deps = () => app.services.reports;

  app.get(
    '/reports',
    {
      config: { access: 'analytics.read' },
      schema: {
        querystring: Type.Object(
          { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })) },
          { additionalProperties: false },
        ),
      },
    },
    async (req) => {
      assertRegionWide(req.principal);
      return { items: await deps().reports.list(req.query.limit ?? 50) };
    },
  );

  app.get(
    '/reports/weekly',
    {
      config: { access: 'analytics.read' },
      schema: {
        querystring: Type.Object(
          {
            week: Type.Optional(Week),
            format: Type.Optional(Type.Union([Type.Literal('json'), Format])),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req, reply) => {
      assertRegionWide(req.principal);
      const report = await buildWeeklyReport(deps(), weekFrom(req.query.week));
      const format = req.query.format ?? 'json';
      if (format === 'json') return report;
      const data = format === 'pdf' ? await renderReportPdf(report) : await renderReportXlsx(report);
      return reply
        .type(CONTENT_TYPE[format])
        .header(
          'content-disposition',
          `attachment; filename="${reportFileName({ periodFrom: new Date(report.from) }, format)}"`,
        )
        .send(data);
    },
  );

  app.get(
    '/reports/:id/:format',
    {
      config: { access: 'analytics.read' },
      schema: {
        params: Type.Object({
          id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
          format: Format,
        }),
      },
    },
    async (req, reply) => {
      assertRegionWide(req.principal);
      const row = await deps().reports.get(req.params.id);
      if (!row) throw new NotFoundError('report', String(req.params.id));
      const { format } = req.params;
      return reply
        .type(CONTENT_TYPE[format])
        .header('content-disposition', `attachment; filename="${reportFileName(row, format)}"`)
        .send(format === 'pdf' ? row.pdf : row.xlsx);
    },
  );

  app.post(
    '/reports/weekly',
    {
      config: { access: 'reports.generate' },
      schema: {
        body: Type.Object(
          {
            week: Type.Optional(Week),
            /** Post to the chats of the settings (or to these). */
            post: Type.Optional(Type.Boolean()),
            chatIds: Type.Optional(Type.Array(ChatId, { maxItems: 20 })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req, reply) => {
      const d = deps();
      const row = await generateWeeklyReport(d, weekFrom(req.body.week), {
        trigger: 'manual',
        createdBy: actorName(req.principal),
      });
      if (!row) throw new Error('the report was not stored');
      const chats = req.body.chatIds ?? (await reportSettings(d.database.db)).chatIds;
      const queued = req.body.post ? await postReport(d, row, chats) : 0;
      await audited(app, req, 'create', 'report', row.id, null, {
        periodFrom: row.periodFrom,
        post: Boolean(req.body.post),
        chats: req.body.post ? chats : [],
      });
      return reply.code(201).send({
        id: row.id,
        periodFrom: row.periodFrom,
        periodTo: row.periodTo,
        queued,
        posted: Boolean(req.body.post && d.staffSource),
        ...(req.body.post && !d.staffSource
          ? { warning: 'STAFF_BOT_TOKEN is not set: nothing was posted' }
          : {}),
      });
    },
  );

  const SettingsBody = Type.Object(
    {
      enabled: Type.Boolean(),
      chatIds: Type.Array(ChatId, { maxItems: 20 }),
      weekday: Type.Integer({ minimum: 1, maximum: 7 }),
      hour: Type.Integer({ minimum: 0, maximum: 23 }),
    },
    { additionalProperties: false },
  );

  app.get('/settings/reports', { config: { access: 'settings.read' } }, async () =>
    reportSettings(app.services.database.db),
  );
  app.put(
    '/settings/reports',
    { config: { access: 'settings.write' }, schema: { body: SettingsBody } },
    async (req) => {
      const db = app.services.database.db;
      const before = await reportSettings(db);
      const after: ReportSettings = req.body;
      await db
        .insert(s.settings)
        .values({ key: 'reports', value: after })
        .onConflictDoUpdate({ target: s.settings.key, set: { value: sql`excluded.value` } });
      await audited(app, req, 'update', 'settings', 'reports', before, after);
      return after;
    },
  );
};
