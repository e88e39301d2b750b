/**
 * The composition root: config → logger → store → redis/queues → nlp → workers → connectors → api.
 * `createApp` starts the roles asked for; `close()` stops them in reverse order.
 */
import { storableCopy } from './domain/storable.ts';
import { updateAuthor } from './connectors/poison.ts';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { Calendar } from './domain/calendar.ts';
import type { TextAnalyzer } from './domain/types.ts';
import { createLogger } from './logger.ts';
import { resolveTokens, storeSecret, type Tokens } from './secrets.ts';
import { randomBytes } from 'node:crypto';
import { buildApi } from './api/server.ts';
import type { HealthReport } from './api/health.routes.ts';
import { createConnectorAlerts, type ConnectorAlerts } from './connectors/alerts.ts';
import { createBots, createSenders, hasBots, type Bots } from './connectors/bots.ts';
import { createDemoConnector, type Connector } from './connectors/demo.connector.ts';
import { createSendLimiter } from './connectors/rate-limit.ts';
import { computeDeadlines } from './domain/sla.ts';
import { deliverReply, notifyCitizensOfStatus } from './responders/outbound.ts';
import { createApprovals, type Approvals } from './responders/approval.ts';
import { refreshCards, type NotifyDeps } from './responders/notify.ts';
import { createWorkflow, type Workflow } from './responders/workflow.ts';
import { createStaffDialog } from './connectors/staff-dialog.ts';
import { botIdOf, createTelegramSender } from './connectors/telegram.connector.ts';
import { createStaffStore, type StaffStore } from './store/staff.store.ts';
import { createTemplateStore } from './store/template.store.ts';
import { createAuthStore, type AuthStore } from './store/auth.store.ts';
import { createAnalyticsStore } from './store/analytics.store.ts';
import { createReportStore } from './store/report.store.ts';
import { reportAttachment, withReportSchedule, type ReportDeps } from './responders/report.ts';
import { createLive } from './api/live.ts';
import path from 'node:path';
import { createCitizenStore, type CitizenStore } from './store/citizen.store.ts';
import { createCursorStore } from './store/cursor.store.ts';
import { createOutboundStore, type OutboundStore } from './store/outbound.store.ts';
import { sendProcessor } from './workers/send.worker.ts';
import { openDatabase, type Database } from './store/db.ts';
import { createIncidentStore, type IncidentStore, type RouteContext } from './store/incident.store.ts';
import { createLabelStore } from './store/label.store.ts';
import { createMessageStore, type MessageStore } from './store/message.store.ts';
import { createOutboxStore, type OutboxStore } from './store/outbox.store.ts';
import { calendarFromReference, createReferenceStore, type ReferenceStore } from './store/reference.store.ts';
import { seedReferenceData } from './store/seed.ts';
import { analyzeProcessor } from './workers/analyze.worker.ts';
import { draftProcessor } from './workers/draft.worker.ts';
import { createIngestor, type Ingestor } from './workers/ingest.ts';
import { createMetrics, type Metrics } from './workers/metrics.ts';
import { notifyProcessor } from './workers/notify.worker.ts';
import { createQueues, QUEUE_NAMES, type Queues } from './workers/queues.ts';
import { openRedis, type RedisHandle } from './workers/redis.ts';
import { routeProcessor } from './workers/route.worker.ts';
import { startWorkers, type WorkerRuntime } from './workers/runtime.ts';
import { slaWatchProcessor } from './workers/sla-watch.worker.ts';
import { conflictsProcessor } from './workers/conflicts.worker.ts';
import { createConflictStore } from './store/conflict.store.ts';
import { startSweeper, type Sweeper } from './workers/sweeper.ts';
import { createOutreachStore } from './store/outreach.store.ts';
import { createBroadcaster, kickActiveCampaigns, kickCampaign } from './responders/broadcast.ts';
import { broadcastProcessor } from './workers/broadcast.worker.ts';
import { createParticipationStore } from './store/participation.store.ts';
import { createPolls, type Polls } from './responders/polls.ts';
import { createDiscussions, type Discussions } from './responders/discussions.ts';
import { pollsProcessor } from './workers/polls.worker.ts';
import { privacyProcessor } from './responders/privacy.ts';
import { createPrivacyStore } from './store/privacy.store.ts';

export type Role = 'api' | 'workers' | 'connectors' | 'demo';

export interface AppOptions {
  config: Config;
  /** Defaults to config.ROLES (+ demo when DEMO says so). */
  roles?: Role[];
  log?: Logger;
  /** Defaults to the classic analyzer from models/classic. */
  analyzer?: TextAnalyzer;
  /** Listen on config.PORT when the api role runs. @defaultValue true */
  listen?: boolean;
}

export interface App {
  config: Config;
  log: Logger;
  roles: Role[];
  tokens: Tokens;
  database: Database;
  redis: RedisHandle;
  queues: Queues;
  metrics: Metrics;
  messages: MessageStore;
  incidents: IncidentStore;
  outbox: OutboxStore;
  outbound: OutboundStore;
  citizens: CitizenStore;
  alerts: ConnectorAlerts;
  reference: ReferenceStore;
  ingestor: Ingestor;
  /** Telegram bots and VK communities listening in this process (connectors role with tokens set). */
  bots?: Bots;
  staff: StaffStore;
  auth: AuthStore;
  workflow: Workflow;
  approvals: Approvals;
  /** Polls and public discussions. */
  participation: { polls: Polls; discussions: Discussions };
  api?: FastifyInstance;
  workers?: WorkerRuntime;
  sweeper?: Sweeper;
  connectors: Connector[];
  /** Base URL when listening. */
  url?: string;
  health(): Promise<HealthReport>;
  close(): Promise<void>;
}

function defaultRoles(config: Config): Role[] {
  const roles = [...config.ROLES] as Role[];
  const noBots = !hasBots(config);
  if (
    !roles.includes('demo') &&
    roles.includes('connectors') &&
    (config.DEMO === 'on' || (config.DEMO === 'auto' && noBots))
  )
    roles.push('demo');
  return roles;
}

export async function createApp(opts: AppOptions): Promise<App> {
  const { config } = opts;
  const log = opts.log ?? createLogger({ level: config.LOG_LEVEL, format: config.LOG_FORMAT });
  const roles = opts.roles ?? defaultRoles(config);
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const c of closers.reverse()) {
      try {
        await c();
      } catch (err) {
        log.warn({ err }, 'error while closing');
      }
    }
    closers.length = 0;
  };

  try {
    const t0 = Date.now();
    const database = await openDatabase({ url: config.DATABASE_URL, dataDir: `${config.dataDir}/pglite` });
    closers.push(() => database.close());
    await seedReferenceData(database);
    log.info({ db: database.kind, ms: Date.now() - t0 }, 'database ready');

    const redis = await openRedis({
      url: config.REDIS_URL,
      dataDir: config.dataDir,
      serverBin: config.REDIS_SERVER_BIN,
      log,
    });
    closers.push(() => redis.close());
    const queues = createQueues(redis, config.QUEUE_PREFIX);
    closers.push(() => queues.close());

    const metrics = createMetrics();
    const messages = createMessageStore(database);
    // Reopening recomputes a deadline: with the app's cached policies and calendar (routeContext, below).
    const incidents = createIncidentStore(database, { slaContext: () => routeContext() });
    const outbox = createOutboxStore(database);
    const reference = createReferenceStore(database);
    const outbound = createOutboundStore(database);
    const citizens = createCitizenStore(database);
    const tokens = resolveTokens(config.dataDir, {
      ingest: config.INGEST_TOKEN,
      api: config.API_TOKEN,
      telegramWebhook: config.TELEGRAM_WEBHOOK_SECRET,
    });
    const redisClient = redis.connect({ lazyConnect: false });
    redisClient.on('error', () => {
      /* reconnects by itself; /health reports Redis */
    });
    closers.push(async () => void redisClient.disconnect());
    const alerts = createConnectorAlerts(redisClient, config.QUEUE_PREFIX);
    const limiter = createSendLimiter(redisClient, config.QUEUE_PREFIX);
    const senders = createSenders(config);
    const ingestor = createIngestor({
      messages,
      reference,
      queues,
      log: log.child({ module: 'ingest' }),
      metrics,
      batchMax: config.INGEST_BATCH_MAX,
      batchWaitMs: config.INGEST_BATCH_WAIT_MS,
    });
    closers.push(() => ingestor.flush());

    let calendarCache: { at: number; cal: Calendar } | undefined;
    const routeContext = async (): Promise<RouteContext> => {
      const ref = await reference.get();
      if (calendarCache?.at !== ref.loadedAt)
        calendarCache = { at: ref.loadedAt, cal: calendarFromReference(ref) };
      return {
        ref,
        calendar: calendarCache.cal,
        grouping: {
          windowHours: config.GROUPING_WINDOW_HOURS,
          duplicateThreshold: config.GROUPING_THRESHOLD,
        },
      };
    };

    const staff = createStaffStore(database);
    const templates = createTemplateStore(database);
    const refGetter = () => reference.get();
    // The staff bot: its source is registered whatever the roles, so staff messages can be queued anywhere.
    const staffSource = config.STAFF_BOT_TOKEN ? `telegram:${botIdOf(config.STAFF_BOT_TOKEN)}` : undefined;
    if (config.STAFF_BOT_TOKEN && staffSource) {
      senders.set(
        staffSource,
        createTelegramSender({
          token: config.STAFF_BOT_TOKEN,
          apiRoot: config.TELEGRAM_API_ROOT,
          limits: {
            perChatMs: config.TELEGRAM_RATE_PER_CHAT_MS,
            globalMs: Math.ceil(1000 / config.TELEGRAM_RATE_PER_SECOND),
          },
        }),
      );
      await reference.upsertSource({
        id: staffSource,
        platform: 'telegram',
        channelKind: 'staff',
        name: 'Telegram-бот сотрудников',
      });
    }
    const notifyDeps: NotifyDeps & { outbound: OutboundStore; queues: Queues } = {
      incidents,
      outbox,
      reference: refGetter,
      publicUrl: config.PUBLIC_URL,
      staffSource,
      outbound,
      queues,
    };
    const workflow = createWorkflow({ ...notifyDeps, citizens, routeContext });
    const analytics = createAnalyticsStore(database);
    const reportStore = createReportStore(database);
    const reportDeps: ReportDeps = {
      database,
      analytics,
      reports: reportStore,
      reference: refGetter,
      log: log.child({ module: 'reports' }),
      staffSource,
      outbound,
      queues,
    };
    const auth = createAuthStore(database, staff);
    const live = createLive(
      redisClient,
      () => redis.connect(),
      config.QUEUE_PREFIX,
      (id) => incidents.get(id),
    );
    closers.push(() => live.close());
    const approvals = createApprovals({ ...notifyDeps, citizens, staff, routeContext });
    const outreach = createOutreachStore(database);
    const participationStore = createParticipationStore(database);
    const participation = {
      polls: createPolls({
        store: participationStore,
        citizens,
        queues,
        log: log.child({ module: 'polls' }),
      }),
      discussions: createDiscussions({
        store: participationStore,
        outbound,
        queues,
        log: log.child({ module: 'discussions' }),
      }),
    };

    // First start: no staff account yet → an administrator with a generated password (DATA_DIR/secrets.json),
    // so the workspace can be opened at once; create real accounts and change this password there.
    if (roles.includes('api') && !(await staff.any())) {
      const password = randomBytes(12).toString('base64url');
      const admin = await staff.create({
        login: 'admin',
        name: 'Администратор',
        grants: [{ role: 'tech_admin' }, { role: 'center_head' }, { role: 'smm' }, { role: 'curator' }],
      });
      await auth.setPassword(admin.id, password);
      storeSecret(config.dataDir, 'ADMIN_PASSWORD', password);
      log.warn(
        { login: 'admin', file: `${config.dataDir}/secrets.json` },
        'no staff accounts existed: created "admin" with a generated password (ADMIN_PASSWORD in secrets.json)',
      );
    }

    const app: App = {
      config,
      log,
      roles,
      tokens,
      database,
      redis,
      queues,
      metrics,
      messages,
      incidents,
      outbox,
      outbound,
      citizens,
      alerts,
      reference,
      ingestor,
      staff,
      auth,
      workflow,
      approvals,
      participation,
      connectors: [],
      health: () => health(app),
      close,
    };

    if (roles.includes('workers')) {
      // Loaded only where analysis runs: the model files stay out of API-only processes.
      const analyzer =
        opts.analyzer ??
        (await (await import('./nlp/analyzer.ts')).createAnalyzer(config.ANALYZER, log)).analyzer;
      log.info({ analyzer: analyzer.name }, 'text analyzer loaded');
      const broadcaster = createBroadcaster({
        store: outreach,
        sender: (source) => senders.get(source),
        limiter,
        alerts,
        redis: redisClient,
        prefix: config.QUEUE_PREFIX,
        publicUrl: config.PUBLIC_URL,
        log: log.child({ module: 'broadcast' }),
        leaseMs: config.WORKER_LOCK_MS,
      });
      app.workers = startWorkers({
        redis,
        prefix: config.QUEUE_PREFIX,
        log: log.child({ module: 'workers' }),
        metrics,
        lockMs: config.WORKER_LOCK_MS,
        concurrency: {
          analyze: config.ANALYZE_CONCURRENCY,
          route: config.ROUTE_CONCURRENCY,
          notify: 4,
          draft: 4,
          send: config.SEND_CONCURRENCY,
          broadcast: 4, // campaigns at once; each sends through every bot in parallel
        },
        processors: {
          analyze: analyzeProcessor({ messages, analyzer, queues, reviewThreshold: config.REVIEW_THRESHOLD }),
          route: routeProcessor({
            incidents,
            queues,
            context: routeContext,
            // Comments of an open public discussion are analysed but open no incidents.
            divert: (ids) => participation.discussions.divert(ids),
            onResumed: (id) => refreshCards(notifyDeps, id),
            cardRefreshWindowMs: config.CARD_REFRESH_WINDOW_MS,
            onRouted: (ids) => {
              ids.forEach((id) => live.publishId(id));
              // Toxic threads and repeated appeals are looked for on the conflicts queue.
              if (ids.length)
                queues
                  .add('conflicts', { kind: 'routed', incidentIds: ids })
                  .catch((err: unknown) => log.warn({ err }, 'conflict check not queued'));
            },
          }),
          notify: notifyProcessor(notifyDeps),
          draft: draftProcessor({ incidents, outbox, reference: refGetter, templates, analyzer }),
          'sla-watch': withReportSchedule(
            slaWatchProcessor({
              ...notifyDeps,
              staff,
              calendar: async () => (await routeContext()).calendar,
              digestHour: config.DIGEST_HOUR,
            }),
            reportDeps,
          ),
          send: sendProcessor({
            outbound,
            sender: (source) => senders.get(source),
            limiter,
            alerts,
            log: log.child({ module: 'send' }),
            // Official replies are checked for rudeness and lateness on the conflicts queue.
            onSent: async (row, sent) => {
              if (row.purpose === 'reply')
                await queues.add('conflicts', { kind: 'reply', outboundId: row.id });
              // A poll's message (Telegram's poll id for native polls) or a discussion's post.
              if (row.purpose === 'poll') await participation.polls.onSent(row, sent);
              if (row.purpose === 'discussion') await participation.discussions.onSent(row, sent);
            },
            attachment: (ref) => reportAttachment(reportStore, ref.id, ref.format),
          }),
          conflicts: conflictsProcessor({
            ...notifyDeps,
            conflicts: createConflictStore(database),
            analyzer,
            duplicateThreshold: config.GROUPING_THRESHOLD,
            onAlert: (a, agencyId) => live.publishAlert(a, agencyId),
          }),
          polls: pollsProcessor(participation.polls),
          broadcast: broadcastProcessor(broadcaster),
          privacy: privacyProcessor({
            store: createPrivacyStore(database),
            audit: (e) => auth.audit(e),
            log: log.child({ module: 'privacy' }),
          }),
        },
        onFinalFailure: async (queue, data, err) => {
          if (queue === 'analyze' || queue === 'route') {
            const ids = (data as { messageIds?: number[] }).messageIds ?? [];
            await messages.markFailed(ids, `${queue}: ${err.message}`.slice(0, 500));
          }
          if (queue === 'send') {
            const id = Number((data as { outboundId?: number }).outboundId);
            if (Number.isSafeInteger(id))
              await outbound.markFailed(id, `gave up after retries: ${err.message}`);
          }
        },
      });
      closers.push(() => app.workers!.close());
      closers.push(async () => broadcaster.stop()); // runs before the workers close: long runs end at once
      app.sweeper = startSweeper({
        messages,
        incidents,
        outbound,
        queues,
        log: log.child({ module: 'sweeper' }),
        metrics,
        intervalMs: config.SWEEP_INTERVAL_MS,
        stuckAfterMs: config.SWEEP_STUCK_AFTER_MS,
        slaWatchEveryMs: config.SLA_WATCH_EVERY_MS,
        broadcasts: { kick: () => kickActiveCampaigns(outreach, queues) },
        drafts: approvals,
      });
      closers.push(async () => app.sweeper!.stop());
      await app.sweeper.sweep().catch((err: unknown) => log.warn({ err }, 'first sweep failed'));
    }

    const deadlines = async (at: Date) => {
      const ctx = await routeContext();
      const p = ctx.ref.slaPolicies.get('messenger');
      if (!p) throw new Error('no SLA policy for the messenger channel');
      return computeDeadlines(
        { channelKind: 'messenger', firstResponse: p.firstResponse, resolution: p.resolution },
        at,
        ctx.calendar,
      );
    };

    if (roles.includes('connectors') && (hasBots(config) || config.STAFF_BOT_TOKEN)) {
      const bots = createBots({
        config,
        citizens,
        reference,
        outbound,
        queues,
        ingest: (m) => ingestor.ingest(m),
        deadlines,
        senders,
        limiter,
        alerts,
        webhookSecret: tokens.telegramWebhook,
        log: log.child({ module: 'connectors' }),
        reopen: (id, score) => workflow.reopenByCitizen(id, score),
        staffHandler: createStaffDialog({ staff, citizens, incidents, reference: refGetter, workflow }),
        polls: participation.polls,
        cursors: createCursorStore(database),
        poison: {
          databaseAnswers: () => database.ping().then(() => true),
          setAside: (u) =>
            auth.audit({
              actor: 'system',
              action: 'connector.update_set_aside',
              entity: 'connector_update',
              entityId: `${u.source}:${u.updateId}`,
              after: {
                kind: u.kind,
                author: updateAuthor(u.source, u.payload) ?? null,
                error: storableCopy(u.error),
                payload: storableCopy(u.payload),
              },
            }),
        },
      });
      app.bots = bots;
      app.connectors.push(...bots.all);
      closers.push(() => bots.stop());
      await bots.start();
    }

    if (roles.includes('demo')) {
      const demo = createDemoConnector({
        ingest: (m) => ingestor.ingest(m),
        intervalMs: config.DEMO_INTERVAL_MS,
        log: log.child({ module: 'demo' }),
      });
      app.connectors.push(demo);
      await demo.start();
      closers.push(() => demo.stop());
    }

    if (roles.includes('api')) {
      const api = await buildApi({
        logger: log.child({ module: 'api' }),
        services: {
          tokens,
          ingestor,
          messages,
          incidents,
          labels: createLabelStore(database),
          outbox,
          reference,
          metrics,
          health: () => health(app),
          collectMetrics: () => collectMetrics(app),
          webhooks: () =>
            app.bots && {
              telegram: (botId) => app.bots!.telegram.find((b) => b.botId === botId),
              vk: (groupId) => app.bots!.vk.find((g) => g.groupId === groupId),
            },
          citizens: {
            statusChanged: async (id, to, key, reason) => {
              const n = await notifyCitizensOfStatus(
                { outbound, queues, citizens, incidents },
                id,
                to,
                key,
                reason,
              );
              if (to === 'resolved') await workflow.askSatisfaction(id);
              await refreshCards(notifyDeps, id);
              return n;
            },
            reply: (id, text, actor, key) =>
              deliverReply({ outbound, queues, citizens, incidents }, id, text, actor, key),
            outbound: (id) => outbound.byIncident(id),
          },
          workflow: approvals,
          workflowActions: workflow,
          auth,
          analytics,
          reports: reportDeps,
          staff,
          database,
          audit: (e) => auth.audit(e),
          live,
          outreach: { store: outreach, kick: (id, delayMs) => kickCampaign(queues, id, delayMs) },
          participation,
          secureCookies: config.PUBLIC_URL.startsWith('https:'),
          webDir: path.resolve(import.meta.dirname, '../web/dist'),
        },
      });
      app.api = api;
      closers.push(() => api.close());
      if (opts.listen !== false) {
        app.url = await api.listen({ port: config.PORT, host: config.HOST });
        log.info({ url: app.url }, 'Отклик is listening');
      }
    }
    if (tokens.generated.length)
      log.warn(
        { file: `${config.dataDir}/secrets.json`, generated: tokens.generated },
        'tokens were not set in the environment; generated ones are stored in DATA_DIR/secrets.json',
      );
    return app;
  } catch (err) {
    await close();
    throw err;
  }
}

async function timed<T>(fn: () => Promise<T>, ms = 2000): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      fn(),
      new Promise<never>((_, rej) => (t = setTimeout(() => rej(new Error(`no answer in ${ms} ms`)), ms))),
    ]);
  } finally {
    clearTimeout(t);
  }
}

async function health(app: App): Promise<HealthReport> {
  const t0 = Date.now();
  const database = await timed(() => app.database.ping())
    .then(() => ({ ok: true, kind: app.database.kind, latencyMs: Date.now() - t0 }))
    .catch((err: Error) => ({ ok: false, kind: app.database.kind, error: err.message }));
  const t1 = Date.now();
  const q = app.queues.get('analyze');
  const redis = await timed(async () => ((await q.client) as unknown as { ping(): Promise<string> }).ping())
    .then(() => ({ ok: true, at: app.redis.describe, latencyMs: Date.now() - t1 }))
    .catch((err: Error) => ({ ok: false, at: app.redis.describe, error: err.message }));
  const queues = redis.ok
    ? await timed(async () => {
        const out: Record<string, unknown> = {};
        for (const name of QUEUE_NAMES)
          out[name] = await app.queues
            .get(name)
            .getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed');
        return { ok: true, workers: app.workers ? 'running' : 'not in this process', ...out };
      }).catch((err: Error) => ({ ok: false, error: err.message }))
    : { ok: false, error: 'redis is unreachable' };
  const list = app.connectors.map((c) => c.status());
  // Alerts raised by any process (a send worker meeting «authorization failed», a poller refused).
  const alerts = await timed(() => app.alerts.list()).catch(() => ({}));
  // The sources this deployment is configured with: an alert of a bot that is no longer configured (replaced
  // or removed) would otherwise keep /health degraded for good — it is dropped instead.
  const cfg = app.config;
  const configured = new Set([
    ...(cfg.TELEGRAM_BOT_TOKEN ?? []).map((t) => `telegram:${botIdOf(t)}`),
    ...(cfg.STAFF_BOT_TOKEN ? [`telegram:${botIdOf(cfg.STAFF_BOT_TOKEN)}`] : []),
    ...(cfg.VK_GROUP_ID ?? []).map((id) => `vk:${id}`),
    ...list.map((x) => x.name),
  ]);
  for (const source of Object.keys(alerts))
    if (!configured.has(source)) {
      delete (alerts as Record<string, unknown>)[source];
      await app.alerts.clear(source).catch(() => undefined);
    }
  for (const [source, a] of Object.entries(alerts)) {
    const c = list.find((x) => x.name === source);
    if (c) {
      c.ok = false;
      c.detail = `${c.detail ? `${c.detail}; ` : ''}alert: ${a.message} (since ${a.at})`;
    } else list.push({ name: source, ok: false, detail: `alert: ${a.message} (since ${a.at})` });
  }
  const connectors = { ok: list.every((c) => c.ok), list };
  const ok = database.ok && redis.ok && queues.ok && connectors.ok;
  return { status: ok ? 'ok' : 'degraded', components: { database, redis, queues, connectors } };
}

async function collectMetrics(app: App): Promise<void> {
  const now = Date.now();
  await Promise.all(
    QUEUE_NAMES.map(async (name) => {
      const q = app.queues.get(name);
      const [waiting, oldest] = await Promise.all([q.getWaitingCount(), q.getJobs(['wait'], 0, 0, true)]);
      app.metrics.queueWaiting.set({ queue: name }, waiting);
      app.metrics.queueLag.set({ queue: name }, oldest[0] ? (now - oldest[0].timestamp) / 1000 : 0);
    }),
  ).catch(() => {
    /* Redis down: the gauges keep their last values; /health says why */
  });
  const [byStatus, byState] = await Promise.all([app.incidents.countByStatus(), app.messages.countByState()]);
  app.metrics.incidents.reset();
  for (const [status, n] of Object.entries(byStatus)) app.metrics.incidents.set({ status }, n);
  app.metrics.messagesByState.reset();
  for (const [state, n] of Object.entries(byState)) app.metrics.messagesByState.set({ state }, n);
}
