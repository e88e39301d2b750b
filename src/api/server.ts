/**
 * The fastify app: composes plugins and routes, one error handler that maps AppError codes to HTTP
 * statuses and hides 5xx details (STYLE.md, habits 8–10). listen() is the caller's business.
 */
import Fastify, {
  LogController,
  type FastifyError,
  type FastifyInstance,
  type FastifyServerOptions,
} from 'fastify';
import fp from 'fastify-plugin';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Logger } from 'pino';
import { isAppError, ValidationError } from '../domain/errors.ts';
import { unstorable } from '../domain/storable.ts';
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
import type { Workflow } from '../responders/workflow.ts';
import type { AuditEntry, AuthStore } from '../store/auth.store.ts';
import type { Database } from '../store/db.ts';
import type { StaffStore } from '../store/staff.store.ts';
import cookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fs from 'node:fs';
import path from 'node:path';
import { installAccessControl } from './access.ts';
import { authRoutes } from './auth.routes.ts';
import type { Live } from './live.ts';
import { settingsRoutes } from './settings.routes.ts';
import type { ReportDeps } from '../responders/report.ts';
import { alertsRoutes } from './alerts.routes.ts';
import { analyticsRoutes } from './analytics.routes.ts';
import { problemsRoutes } from './problems.routes.ts';
import { reportsRoutes } from './reports.routes.ts';
import type { AnalyticsStore } from '../store/analytics.store.ts';
import { outreachRoutes, type OutreachServices } from './outreach.routes.ts';
import { participationRoutes, type Participation } from './participation.routes.ts';
import { privacyRoutes } from './privacy.routes.ts';

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
  /** Staff actions on incidents (the card buttons' twin). */
  workflowActions: Workflow;
  auth: AuthStore;
  analytics: AnalyticsStore;
  /** The governor's weekly report: build, store, post. */
  reports: ReportDeps;
  staff: StaffStore;
  database: Database;
  audit: (e: AuditEntry) => Promise<void>;
  live: Live;
  /** Segments and campaigns (the broadcast runs on the workers). */
  outreach: OutreachServices;
  /** Polls and public discussions. */
  participation: Participation;
  /** Mark the session cookie Secure (PUBLIC_URL is https). */
  secureCookies: boolean;
  /** Folder of the built web workspace; absent → no UI is served. */
  webDir?: string;
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
    /** Every route as registered, with its access class (the route-matrix and CSRF tests walk it). */
    routeTable: RouteEntry[];
  }
}

export interface RouteEntry {
  method: string;
  url: string;
  access?: string;
}

export interface BuildApiOptions {
  services: ApiServices;
  logger: Logger | false;
  /** @defaultValue 262144 (256 KiB) */
  bodyLimit?: number;
}

/** The years a date from outside may name (`format: 'date-time'`: periods, schedules, postedAt). */
export const DATE_TIME_RANGE = { from: 1970, to: 2099 } as const;
const DATE_TIME_REASON = `must be a date-time with a time zone (ISO 8601, e.g. 2025-03-01T09:00:00+07:00) in the years ${DATE_TIME_RANGE.from}–${DATE_TIME_RANGE.to}`;

type Ajv = Parameters<NonNullable<NonNullable<FastifyServerOptions['ajv']>['onCreate']>>[0];

/**
 * `format: 'date-time'` of every schema, limited to DATE_TIME_RANGE: RFC 3339 admits the year 0000 and
 * 9999, and PostgreSQL refuses the year 0 (and a period reaching before it): such a date was a 500.
 */
function limitDateTimes(ajv: Ajv): void {
  const std = ajv.formats['date-time'] as { validate: (s: string) => boolean } | undefined;
  const lo = Date.UTC(DATE_TIME_RANGE.from, 0, 1);
  const hi = Date.UTC(DATE_TIME_RANGE.to + 1, 0, 1);
  ajv.addFormat('date-time', {
    type: 'string',
    validate: (s: string) => {
      if (std && !std.validate(s)) return false;
      const t = Date.parse(s);
      return t >= lo && t < hi;
    },
  });
}

export async function buildApi(opts: BuildApiOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: opts.logger || undefined,
    logger: opts.logger ? undefined : false,
    bodyLimit: opts.bodyLimit ?? 256 * 1024,
    // Per-request access logs would flood the log at ingest rates; errors are logged by the handler below.
    logController: new LogController({ disableRequestLogging: true }),
    ajv: {
      customOptions: { allErrors: false, coerceTypes: 'array', removeAdditional: false },
      onCreate: limitDateTimes,
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // The route table, collected before any plugin registers a route (issue 9: every route must name an
  // access class or be on the tests' explicit public list). And no response is ever sniffed into HTML.
  const routeTable: RouteEntry[] = [];
  app.decorate('routeTable', routeTable);
  app.addHook('onRoute', (r) => {
    const access = (r.config as { access?: string } | undefined)?.access;
    for (const method of [r.method].flat()) routeTable.push({ method, url: r.url, access });
  });
  app.addHook('onSend', async (_req, reply) => {
    reply.header('x-content-type-options', 'nosniff');
  });

  await app.register(
    fp(
      async (f) => {
        f.decorate('services', opts.services);
      },
      { name: 'services' },
    ),
  );

  // JSON from outside is read strictly (issue 9, «Hostile input»): bytes that are not UTF-8 (fastify's own
  // parser turns them into U+FFFD without a word), nesting deeper than 64 levels, and NUL characters or lone
  // surrogates anywhere (PostgreSQL refuses them: the write failed with a 500, and a webhook's message took
  // its ingest batch down) are a 400 before any hook or handler runs. Prototype poisoning stays refused.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    let text: string;
    try {
      text = utf8.decode(body as Buffer);
    } catch {
      return done(new ValidationError('body', 'is not valid UTF-8'), undefined);
    }
    parseJson(req, text, (err, value) => {
      if (err) return done(err, undefined);
      const bad = unstorable(value);
      if (bad) return done(new ValidationError(bad.field || 'body', bad.reason), undefined);
      done(null, value);
    });
  });

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
        reason: missing
          ? 'is required'
          : first?.keyword === 'format' &&
              (first.params as { format?: string } | undefined)?.format === 'date-time'
            ? DATE_TIME_REASON
            : (first?.message ?? err.message),
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

  app.setNotFoundHandler((req, reply) => {
    const web = opts.services.webDir;
    const url = req.url.split('?')[0]!;
    // The workspace is a single-page app: a GET of a page (not the API) gets index.html.
    if (
      req.method === 'GET' &&
      web &&
      !url.startsWith('/api/') &&
      !url.startsWith('/webhooks/') &&
      fs.existsSync(path.join(web, 'index.html'))
    )
      return reply.type('text/html; charset=utf-8').send(fs.readFileSync(path.join(web, 'index.html')));
    return reply.code(404).send({ error: 'NOT_FOUND', message: `no route ${req.method} ${url}` });
  });

  await app.register(cookie);
  installAccessControl(app as unknown as FastifyInstance, () => ({
    envTokens: opts.services.tokens,
    session: (id) => opts.services.auth.session(id),
    staffToken: (t) => opts.services.staff.byToken(t),
    apiToken: (t) => opts.services.auth.apiToken(t),
  }));
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Отклик API',
        version: '1',
        description:
          'API of the regional feedback platform. Staff authenticate with a session (POST /api/v1/auth/login, then the cookie and the x-csrf-token header on writes) or a personal token (Bearer stf_…); integrations with a scoped token (Bearer int_…, or INGEST_TOKEN / API_TOKEN). Who may call what: see the README table.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          session: { type: 'apiKey', in: 'cookie', name: 'otklik_session' },
        },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  // Route access classes go into the OpenAPI document, so each operation says who may call it.
  app.addHook('onRoute', (route) => {
    const access = (route.config as { access?: string } | undefined)?.access;
    if (!access) return;
    const schema = (route.schema ??= {}) as Record<string, unknown>;
    schema.description = `Access: ${access} (see the README table)`;
    schema.security = [{ bearer: [] }, { session: [] }];
  });

  await app.register(healthRoutes);
  await app.register(messagesRoutes, { prefix: '/api/v1' });
  await app.register(incidentsRoutes, { prefix: '/api/v1' });
  await app.register(draftsRoutes, { prefix: '/api/v1' });
  await app.register(authRoutes, { prefix: '/api/v1' });
  await app.register(settingsRoutes, { prefix: '/api/v1' });
  await app.register(analyticsRoutes, { prefix: '/api/v1' });
  await app.register(problemsRoutes, { prefix: '/api/v1' });
  await app.register(alertsRoutes, { prefix: '/api/v1' });
  await app.register(reportsRoutes, { prefix: '/api/v1' });
  await app.register(participationRoutes, { prefix: '/api/v1' });
  await app.register(privacyRoutes, { prefix: '/api/v1' });
  await app.register(outreachRoutes); // /api/v1/segments, /api/v1/campaigns, and the public /r/<token>/<n>
  const web = opts.services.webDir;
  if (web && fs.existsSync(path.join(web, 'index.html')))
    await app.register(fastifyStatic, { root: web, prefix: '/', wildcard: false, index: ['index.html'] });
  await app.register(webhooksRoutes, { targets: opts.services.webhooks });
  return app as unknown as FastifyInstance;
}
