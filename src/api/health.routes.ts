import type { FastifyPluginAsync } from 'fastify';

export interface ComponentHealth {
  ok: boolean;
  [k: string]: unknown;
}

export interface HealthReport {
  status: 'ok' | 'degraded';
  components: {
    database: ComponentHealth;
    redis: ComponentHealth;
    queues: ComponentHealth;
    connectors: ComponentHealth;
  };
}

/** GET /health (each component) and GET /metrics (Prometheus). No auth: they hold no personal data. */
export const healthRoutes: FastifyPluginAsync = async (app) => {
  app.get('/health', async (_req, reply) => {
    const report = await app.services.health();
    return reply.code(report.status === 'ok' ? 200 : 503).send(report);
  });
  app.get('/metrics', async (_req, reply) => {
    await app.services.collectMetrics();
    const { registry } = app.services.metrics;
    return reply.type(registry.contentType).send(await registry.metrics());
  });
};
