import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { ConflictError, NotFoundError, ValidationError } from '../domain/errors.ts';
import { isLabelTask, LABEL_TASKS, labelValues } from '../store/label.store.ts';
import { requireBearer } from './auth.ts';
import {
  ErrorSchema,
  IdParamsSchema,
  IngestBodySchema,
  LabelBodySchema,
  LabelCreatedSchema,
} from './schemas/message.schema.ts';
import { messageView } from './views.ts';

/** Who a correction is attributed to until staff log in (web workspace issue). */
const API_TOKEN_ACTOR = 'api-token';

export const messagesRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/messages',
    {
      schema: {
        body: IngestBodySchema,
        response: { 202: Type.Object({ id: Type.Integer(), created: Type.Boolean() }), 400: ErrorSchema },
      },
      preValidation: async (req) => requireBearer(req, [app.services.tokens.ingest]),
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
      preHandler: async (req) => requireBearer(req, [app.services.tokens.api]),
    },
    async (req) => {
      const [row, corrections] = await Promise.all([
        app.services.messages.get(req.params.id),
        app.services.labels.correctionsOf(req.params.id),
      ]);
      if (!row) throw new NotFoundError('message', String(req.params.id));
      return messageView(row, corrections);
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
      // Before validation: a caller without the token learns nothing about the body's shape.
      preValidation: async (req) => requireBearer(req, [app.services.tokens.api]),
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
      const r = await app.services.labels.correct({
        messageId: req.params.id,
        task,
        label,
        actor: API_TOKEN_ACTOR,
      });
      if (!r.ok && r.reason === 'not_found') throw new NotFoundError('message', String(req.params.id));
      if (!r.ok)
        throw new ConflictError(`message ${req.params.id} has not been analysed yet; correct it later`, {
          code: 'MESSAGE_NOT_ANALYZED',
        });
      const l = r.label;
      return reply
        .code(201)
        .send({ id: l.id, messageId: l.messageId, task: l.task, label: l.label, previous: l.previous });
    },
  );
};
