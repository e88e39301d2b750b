/**
 * Conflict alerts for the workspace: the list (open or all, by kind, within the caller's scope), the
 * acknowledgement (audited), and the settings of detection and delivery (audited like other settings).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { ALERT_KIND_LABELS, ALERT_KINDS, type AlertKind, type AlertSettings } from '../domain/conflicts.ts';
import { ConflictError, ForbiddenError, NotFoundError } from '../domain/errors.ts';
import { can } from '../domain/permissions.ts';
import { createConflictStore, type ConflictAlertRow } from '../store/conflict.store.ts';
import type { ReferenceSnapshot } from '../store/reference.store.ts';
import { actorName, canSeePersonalData, type Principal } from './access.ts';
import { maskText } from '../responders/privacy.ts';
import { incidentAuthorNames } from '../store/privacy.store.ts';
import { audited } from './audit.ts';

const Settings = Type.Object(
  {
    spikeK: Type.Number({ minimum: 0.5, maximum: 10 }),
    spikeMinCount: Type.Integer({ minimum: 1, maximum: 100_000 }),
    toxicThreshold: Type.Integer({ minimum: 1, maximum: 1000 }),
    repeatCount: Type.Integer({ minimum: 2, maximum: 100 }),
    repeatWindowHours: Type.Integer({ minimum: 1, maximum: 24 * 90 }),
    replyToxicScore: Type.Number({ minimum: 0.5, maximum: 1 }),
    centerChatId: Type.Union([Type.String({ pattern: '^(-?\\d{1,20}|@[A-Za-z0-9_]{5,64})$' }), Type.Null()]),
  },
  { additionalProperties: false },
);

/** Read grants as list scopes; integrations see everything. */
const scopeOf = (p: Principal | undefined) =>
  p?.kind === 'staff'
    ? p.member.grants.map((g) => ({ sector: g.sector, agencyId: g.agencyId, municipality: g.municipality }))
    : undefined;

/**
 * `names` (for a caller without access to personal data: the names of the incidents' citizens): the text,
 * quoting a citizen's words, comes with contacts and those names masked.
 */
function view(a: ConflictAlertRow, ref: ReferenceSnapshot, names?: Map<number, string[]>) {
  return {
    id: a.id,
    kind: a.kind,
    kindLabel: ALERT_KIND_LABELS[a.kind as AlertKind] ?? a.kind,
    severity: a.severity,
    sector: a.sector,
    municipality: a.municipality,
    municipalityName: a.municipality ? (ref.municipalities.get(a.municipality)?.shortName ?? null) : null,
    incidentId: a.incidentId,
    text: names ? maskText(a.text, a.incidentId === null ? [] : names.get(a.incidentId)) : a.text,
    details: a.details,
    createdAt: a.createdAt.toISOString(),
    acknowledgedBy: a.acknowledgedBy,
    acknowledgedAt: a.acknowledgedAt?.toISOString() ?? null,
  };
}

export const alertsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const store = createConflictStore(app.services.database);
  const namesFor = async (p: Principal | undefined, ids: (number | null)[]) =>
    canSeePersonalData(p)
      ? undefined
      : incidentAuthorNames(
          app.services.database,
          ids.filter((id): id is number => id !== null),
        );

  app.get(
    '/alerts',
    {
      schema: {
        querystring: Type.Object({
          status: Type.Union([Type.Literal('open'), Type.Literal('all')], { default: 'open' }),
          kind: Type.Optional(
            Type.String({ pattern: `^(${ALERT_KINDS.join('|')})(,(${ALERT_KINDS.join('|')}))*$` }),
          ),
          limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
          offset: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 }),
        }),
      },
      config: { access: 'analytics.read' },
    },
    async (req) => {
      const { status, kind, limit, offset } = req.query;
      const page = await store.list({
        status,
        kinds: kind?.split(','),
        scope: scopeOf(req.principal),
        limit,
        offset,
      });
      const ref = await app.services.reference.get();
      const names = await namesFor(
        req.principal,
        page.items.map((a) => a.incidentId),
      );
      return { total: page.total, items: page.items.map((a) => view(a, ref, names)) };
    },
  );

  app.post(
    '/alerts/:id/ack',
    {
      schema: { params: Type.Object({ id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) }) },
      config: { access: 'alerts.ack' },
    },
    async (req) => {
      const before = await store.get(req.params.id);
      if (!before) throw new NotFoundError('alert', String(req.params.id));
      const p = req.principal;
      if (
        p?.kind === 'staff' &&
        !can(p.member.grants, 'read', {
          sector: before.sector ?? '',
          agencyId: before.agencyId,
          municipality: before.municipality,
        })
      )
        throw new ForbiddenError(`alert ${before.id} is outside the scope of ${p.member.login}`, {
          code: 'FORBIDDEN_SCOPE',
        });
      const after = await store.acknowledge(before.id, actorName(p));
      if (!after)
        throw new ConflictError(`alert ${before.id} is already acknowledged`, { code: 'ALERT_ACKNOWLEDGED' });
      await audited(
        app,
        req,
        'alert.ack',
        'conflict_alert',
        after.id,
        { acknowledgedBy: null, acknowledgedAt: null },
        { acknowledgedBy: after.acknowledgedBy, acknowledgedAt: after.acknowledgedAt },
      );
      app.services.live.publishAlert(after, before.agencyId);
      return view(after, await app.services.reference.get(), await namesFor(p, [after.incidentId]));
    },
  );

  app.get('/settings/alerts', { config: { access: 'settings.read' } }, async () => store.settings());
  app.put(
    '/settings/alerts',
    { schema: { body: Type.Partial(Settings) }, config: { access: 'settings.write' } },
    async (req) => {
      const before = await store.settings();
      const after: AlertSettings = { ...before, ...req.body };
      await store.saveSettings(after);
      await audited(app, req, 'settings.alerts.update', 'settings', 'alerts', before, after);
      return after;
    },
  );
};
