/**
 * Analytics API: slices (a measure by up to two dimensions and a time bucket, any filters; JSON, CSV or
 * XLSX), agency ratings (weights from the settings, ranks and the change since the previous period, the
 * breakdown behind each score), workload per sector block and agency with the staffing flag (both also as
 * XLSX), and their settings.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { eq } from 'drizzle-orm';
import { ValidationError } from '../domain/errors.ts';
import {
  DEFAULT_RATING_WEIGHTS,
  DIMENSIONS,
  MEASURES,
  SLICE_MAX_ROWS,
  type Dimension,
  type RatingWeights,
} from '../store/analytics.store.ts';
import * as s from '../store/schema.ts';
import { actorName, analyticsScope, narrowToScope } from './access.ts';
import { referenceLookup, ratingSheets, sliceSheets, workloadSheets } from './analytics.export.ts';
import { attachment, XLSX_CONTENT_TYPE, xlsxBuffer } from '../responders/xlsx.ts';

const list = Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 100 }));
const SliceQuery = Type.Object(
  {
    measure: Type.Union(MEASURES.map((m) => Type.Literal(m))),
    by: Type.Optional(Type.Array(Type.Union(DIMENSIONS.map((d) => Type.Literal(d))), { maxItems: 2 })),
    period: Type.Optional(Type.Union([Type.Literal('day'), Type.Literal('week'), Type.Literal('month')])),
    from: Type.Optional(Type.String({ format: 'date-time' })),
    to: Type.Optional(Type.String({ format: 'date-time' })),
    format: Type.Optional(
      Type.Union([Type.Literal('json'), Type.Literal('csv'), Type.Literal('xlsx')], {
        description: 'json (default), csv (Excel-friendly) or xlsx (sheets «Сводная» and «Данные»)',
      }),
    ),
    sector: list,
    municipality: list,
    agency: list,
    channel: list,
    sentiment: list,
    status: list,
  },
  { additionalProperties: false },
);

const Weights = Type.Object(
  Object.fromEntries(
    Object.keys(DEFAULT_RATING_WEIGHTS).map((k) => [k, Type.Number({ minimum: 0, maximum: 1 })]),
  ),
  { additionalProperties: false },
);

/** A clearer reason than the schema's for a format nobody offers (`?format=pdf`). */
const checkFormat = (allowed: string[]) => async (req: { query: unknown }) => {
  const f = (req.query as Record<string, unknown>).format;
  if (f !== undefined && !allowed.includes(String(f)))
    throw new ValidationError('format', `must be one of ${allowed.join(', ')}`);
};

function splitLists(q: Record<string, unknown>) {
  for (const k of ['by', ...DIMENSIONS])
    if (typeof q[k] === 'string') q[k] = (q[k] as string).split(',').filter(Boolean);
}

const JsonOrXlsx = Type.Optional(
  Type.Union([Type.Literal('json'), Type.Literal('xlsx')], { description: 'json (default) or xlsx' }),
);

/** `2026-01-31` of a date-time, for file names. */
const day = (iso: string) => iso.slice(0, 10);

const csvCell = (v: unknown) => {
  const t = v === null || v === undefined ? '' : String(v);
  // A leading =, +, - or @ would be a formula in a spreadsheet: quote it as text.
  const safe = /^[=+\-@]/.test(t) ? `'${t}` : t;
  return /[";\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
};

export const analyticsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const A = { access: 'analytics.read' as const };
  const settings = async () => {
    const rows = await app.services.database.db
      .select()
      .from(s.settings)
      .where(eq(s.settings.key, 'analytics'));
    const v = (rows[0]?.value ?? {}) as { ratingWeights?: RatingWeights; staffingGrowthDays?: number };
    return {
      ratingWeights: { ...DEFAULT_RATING_WEIGHTS, ...v.ratingWeights },
      staffingGrowthDays: v.staffingGrowthDays ?? 5,
    };
  };
  const period = (from?: string, to?: string, days = 30) => {
    const t = to ? new Date(to) : new Date();
    const f = from ? new Date(from) : new Date(t.getTime() - days * 86_400_000);
    if (f >= t) throw new ValidationError('from', 'must be before `to`');
    return { from: f, to: t };
  };

  app.get(
    '/analytics/slice',
    {
      schema: { querystring: SliceQuery },
      config: A,
      preValidation: async (req) => {
        await checkFormat(['json', 'csv', 'xlsx'])(req);
        splitLists(req.query as Record<string, unknown>);
      },
    },
    async (req, reply) => {
      const q = req.query;
      const { from, to } = period(q.from, q.to);
      const by = (q.by ?? []) as Dimension[];
      if (new Set(by).size !== by.length) throw new ValidationError('by', 'a dimension is given twice');
      const filters = Object.fromEntries(
        DIMENSIONS.filter((d) => q[d]?.length).map((d) => [d, q[d]!]),
      ) as Partial<Record<Dimension, string[]>>;
      // A role scoped to a sector, agency or municipality sees the slice of its part only.
      const scope = analyticsScope(req.principal);
      if (scope)
        for (const d of ['sector', 'agency', 'municipality'] as const) {
          const narrowed = narrowToScope(filters[d], scope[d], d);
          if (narrowed) filters[d] = narrowed;
        }
      const all = await app.services.analytics.slice({
        measure: q.measure,
        by,
        period: q.period,
        from,
        to,
        filters,
      });
      // More groups than a slice answers: the largest are kept, and the answer says so.
      const truncated = all.length > SLICE_MAX_ROWS;
      const rows = truncated ? all.slice(0, SLICE_MAX_ROWS) : all;
      if (q.format === 'csv') {
        const cols = [...by, ...(q.period ? ['period'] : [])];
        const lines = [
          [...cols, q.measure, 'n'].join(';'),
          ...rows.map((r) =>
            [...cols.map((c) => csvCell(r.keys[c as Dimension])), csvCell(r.value), r.n].join(';'),
          ),
        ];
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="otklik-${q.measure}.csv"`)
          .send(`\uFEFF${lines.join('\r\n')}\r\n`);
      }
      const out = {
        measure: q.measure,
        by,
        period: q.period ?? null,
        from: from.toISOString(),
        to: to.toISOString(),
        rows,
        truncated,
      };
      if (q.format !== 'xlsx') return out;
      const sheets = sliceSheets(out, filters, referenceLookup(await app.services.reference.get()));
      const name = `otklik-${q.measure}-${day(out.from)}_${day(out.to)}.xlsx`;
      return reply
        .type(XLSX_CONTENT_TYPE)
        .header('content-disposition', attachment(name, `Отклик — срез ${name.slice(7)}`))
        .send(await xlsxBuffer(sheets));
    },
  );

  app.get(
    '/analytics/ratings',
    {
      schema: {
        querystring: Type.Object(
          {
            from: Type.Optional(Type.String({ format: 'date-time' })),
            to: Type.Optional(Type.String({ format: 'date-time' })),
            level: Type.Optional(Type.Union([Type.Literal('regional'), Type.Literal('municipal')])),
            format: JsonOrXlsx,
          },
          { additionalProperties: false },
        ),
      },
      config: A,
      preValidation: checkFormat(['json', 'xlsx']),
    },
    async (req, reply) => {
      const { from, to } = period(req.query.from, req.query.to);
      const prevTo = from;
      const prevFrom = new Date(from.getTime() - (to.getTime() - from.getTime()));
      const { ratingWeights } = await settings();
      const [now, prev] = await Promise.all([
        app.services.analytics.ratings(from, to, ratingWeights),
        app.services.analytics.ratings(prevFrom, prevTo, ratingWeights),
      ]);
      const rank = (items: typeof now, level: string) =>
        items.filter((i) => i.level === level).sort((a, b) => b.score - a.score || b.incidents - a.incidents);
      const levels = req.query.level ? [req.query.level] : ['regional', 'municipal'];
      const out = levels.map((level) => {
        const cur = rank(now, level);
        const before = rank(prev, level);
        return {
          level,
          items: cur.map((i, n) => {
            const p = before.findIndex((b) => b.agencyId === i.agencyId);
            return {
              rank: n + 1,
              previousRank: p < 0 ? null : p + 1,
              change: p < 0 ? null : p + 1 - (n + 1),
              ...i,
            };
          }),
        };
      });
      const result = {
        from: from.toISOString(),
        to: to.toISOString(),
        previous: { from: prevFrom.toISOString(), to: prevTo.toISOString() },
        weights: ratingWeights,
        formula:
          'score = 100 × Σ weight × component / Σ weights; components in 0..1: quantity and median first response min–max normalised over the agencies of the level and period (faster is better), share within deadline, (mean satisfaction − 1) / 4, 1 − share reopened, share answered, share of resolved incidents with a stated result',
        levels: out,
      };
      if (req.query.format !== 'xlsx') return result;
      const name = `otklik-ratings-${day(result.from)}_${day(result.to)}.xlsx`;
      return reply
        .type(XLSX_CONTENT_TYPE)
        .header('content-disposition', attachment(name, `Отклик — рейтинг ведомств ${name.slice(15)}`))
        .send(await xlsxBuffer(ratingSheets(result)));
    },
  );

  app.get(
    '/analytics/workload',
    {
      schema: { querystring: Type.Object({ format: JsonOrXlsx }, { additionalProperties: false }) },
      config: A,
      preValidation: checkFormat(['json', 'xlsx']),
    },
    async (req, reply) => {
      const { staffingGrowthDays } = await settings();
      const all = await app.services.analytics.workload(new Date(), staffingGrowthDays);
      // A scoped role sees the rows of its sector blocks and agencies (an agency by its own sector too).
      const scope = analyticsScope(req.principal);
      const ref = scope ? await app.services.reference.get() : undefined;
      const w = {
        staffingGrowthDays,
        sectors: scope?.sector
          ? all.sectors.filter((r) => scope.sector!.includes(r.key))
          : scope
            ? []
            : all.sectors,
        agencies: scope
          ? all.agencies.filter(
              (r) =>
                scope.agency?.includes(r.key) ||
                (scope.sector !== undefined && scope.sector.includes(ref!.agencies.get(r.key)?.sector ?? '')),
            )
          : all.agencies,
      };
      if (req.query.format !== 'xlsx') return w;
      const name = `otklik-workload-${day(new Date().toISOString())}.xlsx`;
      return reply
        .type(XLSX_CONTENT_TYPE)
        .header('content-disposition', attachment(name, `Отклик — нагрузка ${name.slice(16)}`))
        .send(await xlsxBuffer(workloadSheets(w)));
    },
  );

  app.get('/settings/analytics', { config: { access: 'settings.read' } }, async () => settings());
  app.put(
    '/settings/analytics',
    {
      schema: {
        body: Type.Object(
          {
            ratingWeights: Type.Optional(Weights),
            staffingGrowthDays: Type.Optional(Type.Integer({ minimum: 2, maximum: 60 })),
          },
          { additionalProperties: false },
        ),
      },
      config: { access: 'settings.write' },
    },
    async (req) => {
      const before = await settings();
      const after = {
        ...before,
        ...req.body,
        ratingWeights: {
          ...before.ratingWeights,
          ...(req.body.ratingWeights as Partial<RatingWeights> | undefined),
        },
      };
      if (Object.values(after.ratingWeights).reduce((a, b) => a + b, 0) <= 0)
        throw new ValidationError('ratingWeights', 'at least one weight must be above 0');
      await app.services.database.db
        .insert(s.settings)
        .values({ key: 'analytics', value: after })
        .onConflictDoUpdate({ target: s.settings.key, set: { value: after } });
      await app.services.audit({
        actor: actorName(req.principal),
        action: 'settings.analytics.update',
        entity: 'settings',
        entityId: 'analytics',
        before,
        after,
        ip: req.ip,
      });
      return after;
    },
  );
};
