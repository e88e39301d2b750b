/**
 * Incidents: the inbox (filters, Russian full-text search, sort, pagination), one incident with its
 * messages, events and drafts, staff actions (the web twin of the card buttons), status transitions,
 * official replies, what was sent, the SLA monitor, live updates (SSE) and the reference lists. Staff see
 * only incidents their grants cover; citizens' names only where their role may see personal data.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { ForbiddenError, IllegalTransitionError, NotFoundError, ValidationError } from '../domain/errors.ts';
import {
  INCIDENT_STATUS_LABELS,
  INCIDENT_STATUSES,
  isOpenStatus,
  type IncidentStatus,
} from '../domain/incident-status.ts';
import { overdueDeadlines } from '../domain/sla.ts';
import { politeCheck } from '../responders/draft-engine.ts';
import { can } from '../domain/permissions.ts';
import { CHANNEL_KINDS, CHANNEL_LABELS, SECTORS, type ChannelKind } from '../domain/types.ts';
import type { IncidentRow } from '../store/incident.store.ts';
import { actorName, allowed, assertMayRead, canSeePersonalData, type Principal } from './access.ts';
import { IdParamsSchema } from './schemas/message.schema.ts';
import { incidentView as fullView, messageView } from './views.ts';
import { maskMessage, maskText } from '../responders/privacy.ts';
import { incidentAuthorNames } from '../store/privacy.store.ts';

const csv = Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 50 });
const ListQuery = Type.Object(
  {
    status: Type.Optional(
      Type.Array(Type.Union(INCIDENT_STATUSES.map((s) => Type.Literal(s))), { maxItems: 20 }),
    ),
    sector: Type.Optional(csv),
    municipality: Type.Optional(csv),
    agency: Type.Optional(csv),
    channel: Type.Optional(
      Type.Array(Type.Union(CHANNEL_KINDS.map((c) => Type.Literal(c))), { maxItems: 10 }),
    ),
    sentiment: Type.Optional(
      Type.Union([Type.Literal('negative'), Type.Literal('neutral'), Type.Literal('positive')]),
    ),
    overdue: Type.Optional(Type.Boolean()),
    /** Created in [from, to) — the period of an analytics view that links here. */
    from: Type.Optional(Type.String({ format: 'date-time' })),
    to: Type.Optional(Type.String({ format: 'date-time' })),
    q: Type.Optional(Type.String({ maxLength: 200 })),
    sort: Type.Optional(Type.Union([Type.Literal('deadline'), Type.Literal('-updated')])),
    limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
    offset: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 }),
  },
  { additionalProperties: false },
);

/** `?status=new,assigned` and `?status=new&status=assigned` both work. */
function splitCommas(q: Record<string, unknown>) {
  for (const k of ['status', 'sector', 'municipality', 'agency', 'channel']) {
    const v = q[k];
    if (typeof v === 'string') q[k] = v.split(',').filter(Boolean);
    else if (Array.isArray(v)) q[k] = v.flatMap((x) => String(x).split(',')).filter(Boolean);
  }
}

/** Read grants of a staff member as list scopes; integrations see everything. */
function scopeOf(p: Principal | undefined) {
  if (p?.kind !== 'staff') return undefined;
  return p.member.grants.map((g) => ({
    sector: g.sector,
    agencyId: g.agencyId,
    municipality: g.municipality,
  }));
}

const assertMayReadIncident = (p: Principal | undefined, inc: IncidentRow) =>
  assertMayRead(
    p,
    { sector: inc.sector, agencyId: inc.agencyId, municipality: inc.municipality },
    `incident ${inc.id}`,
  );

/**
 * The incident as the caller may see it: without access to personal data (`names` given: the names of its
 * citizens), the summary — a citizen's words — with contacts and those names masked.
 */
const viewFor =
  (names: Map<number, string[]> | undefined) =>
  (...args: Parameters<typeof fullView>) => {
    const v = fullView(...args);
    if (!names) return v;
    const who = names.get(v.id);
    return {
      ...v,
      summary: maskText(v.summary, who),
      // A citizen's comment on their rating is their words too.
      ...(v.events
        ? {
            events: v.events.map((e) =>
              e.type === 'satisfaction_comment' && typeof e.data?.comment === 'string'
                ? { ...e, data: { ...e.data, comment: maskText(e.data.comment, who) } }
                : e,
            ),
          }
        : {}),
    };
  };

export const incidentsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('preValidation', async (req) => splitCommas(req.query as Record<string, unknown>));
  const read = { access: 'incidents.read' as const };

  /** For a caller without access to personal data: the names to mask in these incidents' summaries. */
  const namesFor = async (p: Principal | undefined, ids: number[]) =>
    canSeePersonalData(p) ? undefined : incidentAuthorNames(app.services.database, ids);

  async function load(id: number, p: Principal | undefined) {
    const inc = await app.services.incidents.get(id);
    if (!inc) throw new NotFoundError('incident', String(id));
    assertMayReadIncident(p, inc);
    return inc;
  }

  app.get('/incidents', { schema: { querystring: ListQuery }, config: read }, async (req) => {
    const { limit, offset, from, to, ...filters } = req.query;
    const now = new Date();
    const [ref, page] = await Promise.all([
      app.services.reference.get(),
      app.services.incidents.list(
        {
          ...filters,
          ...(from ? { createdFrom: new Date(from) } : {}),
          ...(to ? { createdTo: new Date(to) } : {}),
          scope: scopeOf(req.principal),
        },
        { limit, offset },
        now,
      ),
    ]);
    const events = await Promise.all(page.items.map((i) => app.services.incidents.events(i.id)));
    const view = viewFor(
      await namesFor(
        req.principal,
        page.items.map((i) => i.id),
      ),
    );
    return {
      total: page.total,
      limit,
      offset,
      items: page.items.map((i, n) => view(i, ref, now, events[n])),
    };
  });

  app.get('/incidents/:id', { schema: { params: IdParamsSchema }, config: read }, async (req) => {
    const inc = await load(req.params.id, req.principal);
    const [ref, events, drafts, msgs] = await Promise.all([
      app.services.reference.get(),
      app.services.incidents.events(inc.id),
      app.services.outbox.drafts(inc.id),
      app.services.messages.byIncident(inc.id),
    ]);
    const pd = canSeePersonalData(req.principal);
    const corrections = await Promise.all(msgs.map((m) => app.services.labels.correctionsOf(m.row.id)));
    // Without access to personal data, the names of everyone in the thread are masked in every text.
    const names = [...new Set(msgs.map((m) => m.authorName).filter((n): n is string => !!n))];
    return {
      ...viewFor(pd ? undefined : new Map([[inc.id, names]]))(inc, ref, new Date(), events),
      drafts: drafts.map((d) => ({
        id: d.id,
        kind: d.kind,
        text: d.text,
        status: d.status,
        checks: d.checks,
        failedChecks: d.checks.filter((c) => !c.ok).map((c) => c.name),
        requiresSecondApproval: d.requiresSecondApproval,
      })),
      messages: msgs.map((m, i) =>
        pd
          ? {
              ...messageView(m.row, corrections[i]),
              author: m.authorName ?? `автор ${m.row.authorId ?? '—'}`,
              channelKind: m.channelKind,
            }
          : // No name, account or platform ids; contacts and the author's name masked in the text.
            {
              ...maskMessage(messageView(m.row, corrections[i]), names),
              author: null,
              channelKind: m.channelKind,
            },
      ),
    };
  });

  app.get(
    '/incidents/:id/handover-choices',
    {
      schema: {
        params: IdParamsSchema,
        querystring: Type.Object(
          { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 8 })) },
          { additionalProperties: false },
        ),
      },
      config: read,
    },
    async (req) => {
      const inc = await load(req.params.id, req.principal);
      return { items: await app.services.workflowActions.handOverChoices(inc.id, req.query.limit) };
    },
  );

  app.post(
    '/incidents/:id/actions',
    {
      schema: {
        params: IdParamsSchema,
        body: Type.Object(
          {
            action: Type.Union(['accept', 'work', 'done', 'other', 'details'].map((a) => Type.Literal(a))),
            result: Type.Optional(Type.String({ minLength: 1, maxLength: 1000 })),
            agencyId: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
            question: Type.Optional(Type.String({ minLength: 1, maxLength: 1000 })),
          },
          { additionalProperties: false },
        ),
      },
      config: { access: 'incidents.act' },
    },
    async (req) => {
      const p = req.principal;
      if (p?.kind !== 'staff')
        throw new ForbiddenError('actions are taken by named staff (log in or use a staff token)', {
          code: 'STAFF_ONLY',
        });
      const before = await load(req.params.id, p);
      const r = await app.services.workflowActions.act(
        p.member,
        before.id,
        req.body.action as never,
        req.body,
      );
      if (!r.ok) {
        if (r.code === 'forbidden') throw new ForbiddenError(r.reason, { code: 'FORBIDDEN_SCOPE' });
        if (r.code === 'missing')
          throw new ValidationError(
            req.body.action === 'done' ? 'result' : req.body.action === 'other' ? 'agencyId' : 'question',
            r.reason,
          );
        if (r.code === 'not_found') throw new NotFoundError('incident', String(before.id));
        throw new IllegalTransitionError(before.status, req.body.action, r.reason);
      }
      await app.services.audit({
        actor: actorName(p),
        action: `incident.${req.body.action}`,
        entity: 'incident',
        entityId: before.id,
        before: { status: before.status, agencyId: before.agencyId },
        after: {
          status: r.incident.status,
          agencyId: r.incident.agencyId,
          result: req.body.result,
          question: req.body.question,
        },
        ip: req.ip,
      });
      app.services.live.publish(r.incident);
      return {
        ...viewFor(await namesFor(p, [r.incident.id]))(
          r.incident,
          await app.services.reference.get(),
          new Date(),
        ),
        message: r.message,
      };
    },
  );

  app.post(
    '/incidents/:id/transitions',
    {
      schema: {
        params: IdParamsSchema,
        body: Type.Object(
          {
            to: Type.Union(INCIDENT_STATUSES.map((s) => Type.Literal(s))),
            reason: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
          },
          { additionalProperties: false },
        ),
      },
      config: { access: 'incidents.act' },
    },
    async (req) => {
      const before = await load(req.params.id, req.principal);
      const p = req.principal;
      if (
        p?.kind === 'staff' &&
        !can(p.member.grants, 'handle', {
          sector: before.sector,
          agencyId: before.agencyId,
          municipality: before.municipality,
        })
      )
        throw new ForbiddenError(`incident ${before.id} is outside the scope of ${p.member.login}`, {
          code: 'FORBIDDEN_SCOPE',
        });
      // A rejection's reason is sent to the citizens as written: it must pass the politeness check replies pass.
      if (req.body.to === 'rejected' && req.body.reason) {
        const polite = politeCheck(req.body.reason);
        if (polite.blocking)
          throw new ValidationError(
            'reason',
            `the reason goes to the citizens and must be polite (${polite.detail ?? 'rude words'})`,
            { code: 'REASON_NOT_POLITE' },
          );
      }
      const r = await app.services.incidents.changeStatus(
        req.params.id,
        req.body.to,
        actorName(p),
        req.body.reason,
      );
      if (!r.ok) throw new IllegalTransitionError(before.status, req.body.to, r.reason);
      await app.services.audit({
        actor: actorName(p),
        action: 'incident.transition',
        entity: 'incident',
        entityId: before.id,
        before: { status: before.status },
        after: { status: r.incident.status, reason: req.body.reason },
        ip: req.ip,
      });
      // The citizens who wrote through a bot hear about it (the status_changed event is the key).
      await app.services.citizens
        .statusChanged(r.incident.id, req.body.to, String(r.incident.updatedAt.getTime()), req.body.reason)
        .catch((err: unknown) => req.log.error({ err }, 'could not queue the status messages to citizens'));
      app.services.live.publish(r.incident);
      return viewFor(await namesFor(p, [r.incident.id]))(
        r.incident,
        await app.services.reference.get(),
        new Date(),
      );
    },
  );

  /**
   * An official reply to every citizen who wrote about the incident through a bot or a watched thread
   * (each where they wrote). `key` makes a retried request a no-op. Staff normally reply through approved
   * drafts (/drafts); this is the same delivery for integrations.
   */
  app.post(
    '/incidents/:id/replies',
    {
      schema: {
        params: IdParamsSchema,
        body: Type.Object(
          {
            text: Type.String({ minLength: 1, maxLength: 4000 }),
            key: Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_.:-]+$' }),
          },
          { additionalProperties: false },
        ),
      },
      config: { access: 'incidents.reply' },
    },
    async (req, reply) => {
      const inc = await load(req.params.id, req.principal);
      const text = req.body.text.trim();
      if (!text) throw new ValidationError('text', 'must not be blank');
      const r = await app.services.citizens.reply(inc.id, text, actorName(req.principal), req.body.key);
      await app.services.audit({
        actor: actorName(req.principal),
        action: 'incident.reply',
        entity: 'incident',
        entityId: inc.id,
        after: { text, key: req.body.key, queued: r.queued },
        ip: req.ip,
      });
      return reply.code(202).send(r);
    },
  );

  app.get('/incidents/:id/outbound', { schema: { params: IdParamsSchema }, config: read }, async (req) => {
    const inc = await load(req.params.id, req.principal);
    const rows = await app.services.citizens.outbound(inc.id);
    const pd = canSeePersonalData(req.principal);
    const names = await namesFor(req.principal, [inc.id]);
    return {
      items: rows.map((r) => ({
        id: r.id,
        purpose: r.purpose,
        source: r.sourceId,
        status: r.status,
        text: pd ? r.text : maskText(r.text, names?.get(inc.id)),
        attempts: r.attempts,
        lastError: r.lastError,
        // A sent message's platform id carries the chat: the citizen's account in a private chat.
        externalId: pd ? r.externalId : null,
        createdAt: r.createdAt.toISOString(),
        sentAt: r.sentAt?.toISOString() ?? null,
      })),
    };
  });

  /** Due soon (within 24 h), overdue, and both by sector block, for open incidents in the caller's scope. */
  app.get('/sla/monitor', { config: read }, async (req) => {
    const now = new Date();
    const ref = await app.services.reference.get();
    const page = await app.services.incidents.list(
      {
        status: INCIDENT_STATUSES.filter((s) => isOpenStatus(s)),
        scope: scopeOf(req.principal),
        sort: 'deadline',
      },
      { limit: 5000, offset: 0 },
      now,
    );
    const soon = now.getTime() + 24 * 3600_000;
    const open = page.items.filter((i) => !i.pausedAt);
    // Overdue as everywhere in the workspace: a missed first response or a missed resolution.
    const late = (i: (typeof open)[number]) =>
      overdueDeadlines(
        {
          open: true,
          paused: false,
          firstResponseDue: i.firstResponseDue,
          firstRespondedAt: i.firstRespondedAt,
          resolutionDue: i.resolutionDue,
        },
        now,
      ).any;
    const overdue = open.filter(late);
    const dueSoon = open.filter((i) => !late(i) && i.resolutionDue.getTime() <= soon);
    const byBlock = SECTORS.map((s) => ({
      sector: s.code,
      sectorName: s.name,
      open: page.items.filter((i) => i.sector === s.code).length,
      dueSoon: dueSoon.filter((i) => i.sector === s.code).length,
      overdue: overdue.filter((i) => i.sector === s.code).length,
    })).filter((b) => b.open > 0);
    const shown = [...dueSoon.slice(0, 200), ...overdue.slice(0, 200)];
    const view = viewFor(
      await namesFor(
        req.principal,
        shown.map((i) => i.id),
      ),
    );
    return {
      dueSoon: dueSoon.slice(0, 200).map((i) => view(i, ref, now)),
      overdue: overdue.slice(0, 200).map((i) => view(i, ref, now)),
      byBlock,
    };
  });

  /**
   * Live updates for the workspace: Server-Sent Events `incident` {id, status, updatedAt}, and `alert`
   * {id, status: kind} for those who may read alerts.
   */
  app.get('/stream', { config: read }, (req, reply) => {
    reply.hijack(); // a long-lived response written by hand
    reply.raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    reply.raw.write(': connected\n\n');
    const scope = scopeOf(req.principal);
    const seesAlerts = req.principal ? allowed(req.principal, 'analytics.read') : false;
    const unsubscribe = app.services.live.subscribe((e) => {
      if (e.event === 'alert' && !seesAlerts) return;
      if (
        scope &&
        !scope.some(
          (g) =>
            (!g.sector || g.sector === e.sector) &&
            (!g.agencyId || g.agencyId === e.agencyId) &&
            (!g.municipality || g.municipality === e.municipality),
        )
      )
        return;
      reply.raw.write(
        `event: ${e.event ?? 'incident'}\ndata: ${JSON.stringify({ id: e.id, status: e.status, updatedAt: e.updatedAt })}\n\n`,
      );
    });
    const ping = setInterval(() => reply.raw.write(': ping\n\n'), 25_000);
    req.raw.on('close', () => {
      clearInterval(ping);
      unsubscribe();
    });
  });

  app.get('/reference', { config: read }, async () => {
    const ref = await app.services.reference.get();
    return {
      sectors: SECTORS.map((s) => ({ code: s.code, name: s.name })),
      municipalities: [...ref.municipalities.values()]
        .map((m) => ({ code: m.code, shortName: m.shortName }))
        .sort((a, b) => a.shortName.localeCompare(b.shortName, 'ru')),
      agencies: [...ref.agencies.values()]
        .filter((a) => a.active)
        .map((a) => ({ id: a.id, shortName: a.shortName, sector: a.sector, municipality: a.municipality })),
      statuses: INCIDENT_STATUSES.map((s) => ({
        code: s,
        label: INCIDENT_STATUS_LABELS[s as IncidentStatus],
      })),
      channels: CHANNEL_KINDS.map((c) => ({ code: c, label: CHANNEL_LABELS[c as ChannelKind] ?? c })),
    };
  });
};
