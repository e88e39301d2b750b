/**
 * The problem map (per municipality: incidents per 10,000 residents or the share overdue, with the legend's
 * range) and the top recurring problems (the same object or subject, with the previous period and weeks).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { ForbiddenError, ValidationError } from '../domain/errors.ts';
import { municipalityGeo } from '../domain/municipality-geo.ts';
import { CHANNEL_KINDS, isSectorCode } from '../domain/types.ts';
import { MAP_DEFINITIONS, MAP_MEASURES, problemMap, topProblems } from '../store/problems.store.ts';
import { maskText } from '../responders/privacy.ts';
import { analyticsScope, narrowToScope } from './access.ts';
import { incidentAuthorNames } from '../store/privacy.store.ts';

const codes = Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 100 }));
const period = {
  from: Type.Optional(Type.String({ format: 'date-time' })),
  to: Type.Optional(Type.String({ format: 'date-time' })),
};
const MapQuery = Type.Object(
  {
    measure: Type.Union(
      MAP_MEASURES.map((m) => Type.Literal(m)),
      { default: 'per10k' },
    ),
    ...period,
    sector: codes,
    agency: codes,
    channel: Type.Optional(
      Type.Array(Type.Union(CHANNEL_KINDS.map((c) => Type.Literal(c))), { maxItems: 10 }),
    ),
  },
  { additionalProperties: false },
);
const TopQuery = Type.Object(
  {
    ...period,
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 10 }),
    sector: codes,
    municipality: codes,
  },
  { additionalProperties: false },
);

/** The longest period of top problems: two periods of incidents are grouped in memory. */
const MAX_TOP_DAYS = 366;
const DAY_MS = 86_400_000;

/** `?sector=a,b` and `?sector=a&sector=b` both work. */
function splitCommas(q: Record<string, unknown>) {
  for (const k of ['sector', 'agency', 'channel', 'municipality']) {
    const v = q[k];
    if (typeof v === 'string') q[k] = v.split(',').filter(Boolean);
    else if (Array.isArray(v)) q[k] = v.flatMap((x) => String(x).split(',')).filter(Boolean);
  }
}

function periodOf(from?: string, to?: string, days = 30) {
  const t = to ? new Date(to) : new Date();
  const f = from ? new Date(from) : new Date(t.getTime() - days * DAY_MS);
  if (f >= t) throw new ValidationError('from', 'must be before `to`');
  return { from: f, to: t };
}

function checkCodes(field: string, values: string[] | undefined, known: (v: string) => boolean) {
  const bad = values?.find((v) => !known(v));
  if (bad !== undefined) throw new ValidationError(field, `unknown code «${bad}»`);
}

export const problemsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('preValidation', async (req) => splitCommas(req.query as Record<string, unknown>));
  const A = { access: 'analytics.read' as const };

  app.get('/analytics/map', { schema: { querystring: MapQuery }, config: A }, async (req) => {
    const scope = analyticsScope(req.principal);
    const q = {
      ...req.query,
      sector: narrowToScope(req.query.sector, scope?.sector, 'sector'),
      agency: narrowToScope(req.query.agency, scope?.agency, 'agency'),
    };
    const { from, to } = periodOf(q.from, q.to);
    checkCodes('sector', q.sector, isSectorCode);
    // A role scoped to municipalities sees only theirs on the map, and the scale is theirs too.
    const map = await problemMap(app.services.database, {
      ...q,
      from,
      to,
      ...(scope?.municipality ? { municipality: scope.municipality } : {}),
    });
    return {
      measure: map.measure,
      definition: MAP_DEFINITIONS[map.measure],
      from: from.toISOString(),
      to: to.toISOString(),
      min: map.min,
      max: map.max,
      unassigned: map.unassigned,
      items: map.items.map((i) => ({
        ...i,
        lat: municipalityGeo(i.code)?.lat ?? null,
        lon: municipalityGeo(i.code)?.lon ?? null,
      })),
    };
  });

  app.get('/analytics/top-problems', { schema: { querystring: TopQuery }, config: A }, async (req) => {
    const scope = analyticsScope(req.principal);
    // Top problems carry incidents and their summaries: an agency-scoped role gets its incidents elsewhere.
    if (scope?.agency && !scope.sector && !scope.municipality)
      throw new ForbiddenError(
        'top problems are by sector and municipality; the caller is limited to an agency',
        {
          code: 'FORBIDDEN_SCOPE',
        },
      );
    const q = {
      ...req.query,
      sector: narrowToScope(req.query.sector, scope?.sector, 'sector'),
      municipality: narrowToScope(req.query.municipality, scope?.municipality, 'municipality'),
    };
    const { from, to } = periodOf(q.from, q.to);
    if (to.getTime() - from.getTime() > MAX_TOP_DAYS * DAY_MS)
      throw new ValidationError('from', `the period is longer than ${MAX_TOP_DAYS} days`);
    const ref = await app.services.reference.get();
    checkCodes('sector', q.sector, isSectorCode);
    checkCodes('municipality', q.municipality, (c) => ref.municipalities.has(c));
    const items = await topProblems(app.services.database, { ...q, from, to });
    const names = await incidentAuthorNames(
      app.services.database,
      items.flatMap((p) => p.incidentIds),
    );
    return {
      from: from.toISOString(),
      to: to.toISOString(),
      previous: { from: new Date(2 * from.getTime() - to.getTime()).toISOString(), to: from.toISOString() },
      items: items.map((p) => ({
        ...p,
        // A subject's title is an incident's summary, a citizen's words: analytics carry no contacts or names.
        title: maskText(
          p.title,
          p.incidentIds.flatMap((id) => names.get(id) ?? []),
        ),
        sectorName: p.sector ? (ref.sectorBlocks.get(p.sector)?.name ?? p.sector) : null,
        municipalityName: p.municipality ? (ref.municipalities.get(p.municipality)?.shortName ?? null) : null,
      })),
    };
  });
};
