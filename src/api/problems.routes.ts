import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';

export const problemsRoutes: FastifyPluginAsyncTypebox = async () => {};
