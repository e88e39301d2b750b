import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';

export const alertsRoutes: FastifyPluginAsyncTypebox = async () => {};
