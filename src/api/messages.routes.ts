import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { ConflictError, NotFoundError, ValidationError } from '../domain/errors.ts';
import type { IncidentRow } from '../store/incident.store.ts';
import { isLabelTask, LABEL_TASKS, labelValues } from '../store/label.store.ts';
import { actorName, assertMayRead, canSeePersonalData, type Principal } from './access.ts';
import { maskMessage } from '../responders/privacy.ts';
import {
  ErrorSchema,
  IdParamsSchema,
  IngestBodySchema,
  LabelBodySchema,
  LabelCreatedSchema,
} from './schemas/message.schema.ts';
import { messageView } from './views.ts';

/**
 * A message is read within its incident's scope (sector, agency, municipality); one not in an incident yet
 * within its own sector and municipality — an agency-scoped grant does not reach it.
 */
async function assertMayReadMessage(
  incidentOf: (id: number) => Promise<IncidentRow | undefined>,
  p: Principal | undefined,
  m: { id: number; incidentId: number | null; sector: string | null; municipality: string | null },
): Promise<void> {
  const inc = m.incidentId ? await incidentOf(m.incidentId) : undefined;
  assertMayRead(
    p,
    inc
      ? { sector: inc.sector, agencyId: inc.agencyId, municipality: inc.municipality }
      : { sector: m.sector ?? 'other', agencyId: null, municipality: m.municipality },
    `message ${m.id}`,
  );
}

export const messagesRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/messages',
    {
      schema: {
        body: IngestBodySchema,
        response: { 202: Type.Object({ id: Type.Integer(), created: Type.Boolean() }), 400: ErrorSchema },
      },
      config: { access: 'messages.ingest' },
    },
    async (req, reply) => {
      const b = req.body;
      const postedAt = new Date(b.postedAt);
      if (postedAt.getTime() > Date.now() + 24 * 3_600_000)
        throw new ValidationError('postedAt', 'is more than a day in the future');
      const r = await app.services.ingestor.ingest({ ...b, postedAt });
      return reply.code(202).send(r);
    },
  );

  app.get(
    '/messages/:id',
    {
      schema: { params: IdParamsSchema },
      config: { access: 'messages.read' },
    },
    async (req) => {
      const [row, corrections] = await Promise.all([
        app.services.messages.get(req.params.id),
        app.services.labels.correctionsOf(req.params.id),
      ]);
      if (!row) throw new NotFoundError('message', String(req.params.id));
      await assertMayReadMessage((id) => app.services.incidents.get(id), req.principal, row);
      if (canSeePersonalData(req.principal)) return messageView(row, corrections);
      // Without access to personal data: no author or platform ids; contacts and the author's name masked.
      const [author] = row.authorId
        ? await app.services.database.query<{ name: string | null }>(
            `select name from authors where id = $1`,
            [row.authorId],
          )
        : [];
      return maskMessage(messageView(row, corrections), author?.name);
    },
  );

  // A staff correction of the sector or sentiment: stored as a label (training data), applied to the
  // message, recorded in its incident's events.
  app.post(
    '/messages/:id/labels',
    {
      schema: {
        params: IdParamsSchema,
        body: LabelBodySchema,
        response: { 201: LabelCreatedSchema, 400: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema },
      },
      // Checked before validation: a caller without the right learns nothing about the body's shape.
      config: { access: 'labels.write' },
    },
    async (req, reply) => {
      const { task, label } = req.body;
      if (!isLabelTask(task))
        throw new ValidationError(
          'task',
          `${task === undefined ? 'is required' : `"${task}" is not allowed`}; allowed: ${LABEL_TASKS.join(', ')}`,
          { details: { allowed: LABEL_TASKS } },
        );
      const allowed = labelValues(task);
      if (label === undefined || !allowed.includes(label))
        throw new ValidationError(
          'label',
          `${label === undefined ? 'is required' : `"${label}" is not allowed`} for task ${task}; allowed: ${allowed.join(', ')}`,
          { details: { allowed } },
        );
      const message = await app.services.messages.get(req.params.id);
      if (!message) throw new NotFoundError('message', String(req.params.id));
      await assertMayReadMessage((id) => app.services.incidents.get(id), req.principal, message);
      const r = await app.services.labels.correct({
        messageId: req.params.id,
        task,
        label,
        actor: actorName(req.principal),
      });
      // A refused correction changed nothing: the audit trail records only the ones that were stored.
      if (!r.ok && r.reason === 'not_found') throw new NotFoundError('message', String(req.params.id));
      if (!r.ok)
        throw new ConflictError(`message ${req.params.id} has not been analysed yet; correct it later`, {
          code: 'MESSAGE_NOT_ANALYZED',
        });
      await app.services.audit({
        actor: actorName(req.principal),
        action: 'label.create',
        entity: 'message',
        entityId: req.params.id,
        before: { [task]: r.label.previous },
        after: { [task]: label },
        ip: req.ip,
      });
      const l = r.label;
      return reply
        .code(201)
        .send({ id: l.id, messageId: l.messageId, task: l.task, label: l.label, previous: l.previous });
    },
  );
};
