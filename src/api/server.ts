/**
 * The fastify app: composes plugins and routes, one error handler that maps AppError codes to HTTP
 * statuses and hides 5xx details (STYLE.md, habits 8–10). listen() is the caller's business.
 */
import Fastify, { LogController, type FastifyError, type FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Logger } from 'pino';
import { isAppError } from '../domain/errors.ts';
import type { IncidentStatus } from '../domain/incident-status.ts';
import type { IncidentStore } from '../store/incident.store.ts';
import type { OutboundRow } from '../store/outbound.store.ts';
import type { LabelStore } from '../store/label.store.ts';
import type { MessageStore } from '../store/message.store.ts';
import type { OutboxStore } from '../store/outbox.store.ts';
import type { ReferenceStore } from '../store/reference.store.ts';
import type { Ingestor } from '../workers/ingest.ts';
import type { Metrics } from '../workers/metrics.ts';
import { healthRoutes, type HealthReport } from './health.routes.ts';
import { incidentsRoutes } from './incidents.routes.ts';
import { messagesRoutes } from './messages.routes.ts';
import { webhooksRoutes, type WebhookTargets } from './webhooks.routes.ts';
import { draftsRoutes } from './drafts.routes.ts';
import type { Approvals } from '../responders/approval.ts';

export interface ApiServices {
  tokens: { ingest: string; api: string };
  ingestor: Ingestor;
  messages: MessageStore;
  incidents: IncidentStore;
  labels: LabelStore;
  outbox: OutboxStore;
  reference: ReferenceStore;
  metrics: Metrics;
  health: () => Promise<HealthReport>;
  /** Refreshes gauges that come from the database/queues before /metrics renders. */
  collectMetrics: () => Promise<void>;
  /** Bots and communities of this process that take webhooks (none when the connectors role runs elsewhere). */
  webhooks: () => WebhookTargets | undefined;
  /** SMM decisions on reply drafts (staff tokens). */
  workflow: Approvals;
  /** Messages to citizens about an incident: status changes and official replies. */
  citizens: {
    statusChanged(
      incidentId: number,
      to: IncidentStatus,
      changeKey: string,
      reason?: string,
    ): Promise<number>;
    reply(
      incidentId: number,
      text: string,
      actor: string,
      key: string,
    ): Promise<{ queued: number; recipients: number }>;
    outbound(incidentId: number): Promise<OutboundRow[]>;
  };
}

declare module 'fastify' {
  interface FastifyInstance {
    services: ApiServices;
  }
}

export interface BuildApiOptions {
  services: ApiServices;
  logger: Logger | false;
  /** @defaultValue 262144 (256 KiB) */
  bodyLimit?: number;
}

export async function buildApi(opts: BuildApiOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: opts.logger || undefined,
    logger: opts.logger ? undefined : false,
    bodyLimit: opts.bodyLimit ?? 256 * 1024,
    // Per-request access logs would flood the log at ingest rates; errors are logged by the handler below.
    logController: new LogController({ disableRequestLogging: true }),
    ajv: { customOptions: { allErrors: false, coerceTypes: 'array', removeAdditional: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  await app.register(
    fp(
      async (f) => {
        f.decorate('services', opts.services);
      },
      { name: 'services' },
    ),
  );

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err.validation) {
      const first = err.validation[0];
      const field =
        (first?.instancePath || '').replace(/^\//, '').replace(/\//g, '.') ||
        (first?.params as { missingProperty?: string } | undefined)?.missingProperty ||
        err.validationContext ||
        'body';
      const missing = (first?.params as { missingProperty?: string } | undefined)?.missingProperty;
      return reply.code(400).send({
        error: 'VALIDATION_FAILED',
        field:
          missing && field !== missing
            ? `${field ? `${field}.` : ''}${missing}`.replace(/^body\./, '')
            : field,
        reason: missing ? 'is required' : (first?.message ?? err.message),
        message: `${err.validationContext ?? 'request'} is invalid: ${err.message}`,
      });
    }
    if (isAppError(err) && err.statusCode && err.statusCode < 500) {
      return reply.code(err.statusCode).send({ error: err.code, message: err.message, ...err.details });
    }
    if (err.statusCode && err.statusCode < 500) {
      // fastify's own 4xx: body too large, bad JSON, unsupported media type …
      return reply.code(err.statusCode).send({ error: err.code ?? 'BAD_REQUEST', message: err.message });
    }
    req.log.error({ err }, 'request failed');
    return reply.code(500).send({ error: 'INTERNAL', message: 'Internal error; see the server log' });
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({ error: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` }),
  );

  await app.register(healthRoutes);
  await app.register(messagesRoutes, { prefix: '/api/v1' });
  await app.register(incidentsRoutes, { prefix: '/api/v1' });
  await app.register(draftsRoutes, { prefix: '/api/v1' });
  await app.register(webhooksRoutes, { targets: opts.services.webhooks });
  return app as unknown as FastifyInstance;
}
