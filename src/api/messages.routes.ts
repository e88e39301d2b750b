import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { NotFoundError, ValidationError } from '../domain/errors.ts';
import { requireBearer } from './auth.ts';
import { ErrorSchema, IdParamsSchema, IngestBodySchema } from './schemas/message.schema.ts';
import { messageView } from './views.ts';

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
      const row = await app.services.messages.get(req.params.id);
      if (!row) throw new NotFoundError('message', String(req.params.id));
      return messageView(row);
    },
  );
};
