import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { IllegalTransitionError, NotFoundError, ValidationError } from '../domain/errors.ts';
import { INCIDENT_STATUSES } from '../domain/incident-status.ts';
import { requireBearer } from './auth.ts';
import { IdParamsSchema } from './schemas/message.schema.ts';
import { incidentView } from './views.ts';

const csv = Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 50 });
const ListQuery = Type.Object(
  {
    status: Type.Optional(
      Type.Array(Type.Union(INCIDENT_STATUSES.map((s) => Type.Literal(s))), { maxItems: 20 }),
    ),
    sector: Type.Optional(csv),
    municipality: Type.Optional(csv),
    agency: Type.Optional(csv),
    overdue: Type.Optional(Type.Boolean()),
    limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
    offset: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 }),
  },
  { additionalProperties: false },
);

/** `?status=new,assigned` and `?status=new&status=assigned` both work. */
function splitCommas(q: Record<string, unknown>) {
  for (const k of ['status', 'sector', 'municipality', 'agency']) {
    const v = q[k];
    if (typeof v === 'string') q[k] = v.split(',').filter(Boolean);
    else if (Array.isArray(v)) q[k] = v.flatMap((x) => String(x).split(',')).filter(Boolean);
  }
}

export const incidentsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('preHandler', async (req) => requireBearer(req, [app.services.tokens.api]));
  app.addHook('preValidation', async (req) => splitCommas(req.query as Record<string, unknown>));

  app.get('/incidents', { schema: { querystring: ListQuery } }, async (req) => {
    const { limit, offset, ...filters } = req.query;
    const now = new Date();
    const [ref, page] = await Promise.all([
      app.services.reference.get(),
      app.services.incidents.list(filters, { limit, offset }, now),
    ]);
    const events = await Promise.all(page.items.map((i) => app.services.incidents.events(i.id)));
    return {
      total: page.total,
      limit,
      offset,
      items: page.items.map((i, n) => incidentView(i, ref, now, events[n])),
    };
  });

  app.get('/incidents/:id', { schema: { params: IdParamsSchema } }, async (req) => {
    const inc = await app.services.incidents.get(req.params.id);
    if (!inc) throw new NotFoundError('incident', String(req.params.id));
    const [ref, events, drafts] = await Promise.all([
      app.services.reference.get(),
      app.services.incidents.events(inc.id),
      app.services.outbox.drafts(inc.id),
    ]);
    return {
      ...incidentView(inc, ref, new Date(), events),
      drafts: drafts.map((d) => ({
        id: d.id,
        kind: d.kind,
        text: d.text,
        status: d.status,
        checks: d.checks,
      })),
    };
  });

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
    },
    async (req) => {
      const r = await app.services.incidents.changeStatus(
        req.params.id,
        req.body.to,
        'api-token',
        req.body.reason,
      );
      if (!r.ok) {
        const cur = await app.services.incidents.get(req.params.id);
        if (!cur) throw new NotFoundError('incident', String(req.params.id));
        throw new IllegalTransitionError(cur.status, req.body.to, r.reason);
      }
      // The citizens who wrote through a bot hear about it (the status_changed event is the key).
      await app.services.citizens
        .statusChanged(r.incident.id, req.body.to, String(r.incident.updatedAt.getTime()), req.body.reason)
        .catch((err: unknown) => req.log.error({ err }, 'could not queue the status messages to citizens'));
      return incidentView(r.incident, await app.services.reference.get(), new Date());
    },
  );

  /**
   * An official reply to every citizen who wrote about the incident through a bot or a watched thread
   * (each where they wrote). `key` makes a retried request a no-op. The SMM approval of drafts arrives with
   * the workflow issue; this is the delivery it will use.
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
    },
    async (req, reply) => {
      const inc = await app.services.incidents.get(req.params.id);
      if (!inc) throw new NotFoundError('incident', String(req.params.id));
      const text = req.body.text.trim();
      if (!text) throw new ValidationError('text', 'must not be blank');
      const r = await app.services.citizens.reply(inc.id, text, 'api-token', req.body.key);
      return reply.code(202).send(r);
    },
  );

  app.get('/incidents/:id/outbound', { schema: { params: IdParamsSchema } }, async (req) => {
    const inc = await app.services.incidents.get(req.params.id);
    if (!inc) throw new NotFoundError('incident', String(req.params.id));
    const rows = await app.services.citizens.outbound(inc.id);
    return {
      items: rows.map((r) => ({
        id: r.id,
        purpose: r.purpose,
        source: r.sourceId,
        status: r.status,
        text: r.text,
        attempts: r.attempts,
        lastError: r.lastError,
        externalId: r.externalId,
        createdAt: r.createdAt.toISOString(),
        sentAt: r.sentAt?.toISOString() ?? null,
      })),
    };
  });
};
