/** Prometheus metrics of the process (one registry; GET /metrics renders it). */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  messagesIn: Counter<'source' | 'result'>;
  jobsCompleted: Counter<'queue'>;
  jobsFailed: Counter<'queue' | 'final'>;
  queueLag: Gauge<'queue'>;
  queueWaiting: Gauge<'queue'>;
  incidents: Gauge<'status'>;
  messagesByState: Gauge<'state'>;
  sweeperRequeued: Counter<'state'>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'otklik_' });
  return {
    registry,
    messagesIn: new Counter({
      name: 'otklik_messages_in_total',
      help: 'Messages received, by source and result (created or duplicate)',
      labelNames: ['source', 'result'],
      registers: [registry],
    }),
    jobsCompleted: new Counter({
      name: 'otklik_jobs_completed_total',
      help: 'Jobs completed per queue',
      labelNames: ['queue'],
      registers: [registry],
    }),
    jobsFailed: new Counter({
      name: 'otklik_jobs_failed_total',
      help: 'Job attempts failed per queue (final = no retries left)',
      labelNames: ['queue', 'final'],
      registers: [registry],
    }),
    queueLag: new Gauge({
      name: 'otklik_queue_lag_seconds',
      help: 'Age of the oldest waiting job per queue',
      labelNames: ['queue'],
      registers: [registry],
    }),
    queueWaiting: new Gauge({
      name: 'otklik_queue_waiting_jobs',
      help: 'Jobs waiting per queue',
      labelNames: ['queue'],
      registers: [registry],
    }),
    incidents: new Gauge({
      name: 'otklik_incidents',
      help: 'Incidents by status',
      labelNames: ['status'],
      registers: [registry],
    }),
    messagesByState: new Gauge({
      name: 'otklik_messages',
      help: 'Stored messages by pipeline state',
      labelNames: ['state'],
      registers: [registry],
    }),
    sweeperRequeued: new Counter({
      name: 'otklik_sweeper_requeued_total',
      help: 'Messages re-enqueued by the sweeper, by the state they were stuck in',
      labelNames: ['state'],
      registers: [registry],
    }),
  };
}
