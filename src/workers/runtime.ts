/**
 * Starts one BullMQ Worker per queue. Boot fails if a queue has no processor (STYLE.md, habit 5).
 */
import { Worker, type Processor } from 'bullmq';
import type { Logger } from 'pino';
import type { Metrics } from './metrics.ts';
import { DEFAULT_JOB_OPTIONS, QUEUE_NAMES, type JobData, type QueueName, type Queues } from './queues.ts';
import type { RedisHandle } from './redis.ts';

export type Processors = { [Q in QueueName]: Processor<JobData[Q]> };

export interface WorkerRuntimeOptions {
  redis: RedisHandle;
  prefix: string;
  processors: Processors;
  concurrency?: Partial<Record<QueueName, number>>;
  log: Logger;
  metrics: Metrics;
  /** Job lock; a killed worker's job is taken over after about this long. @defaultValue 30000 */
  lockMs?: number;
  /** Called when a job has no retries left (e.g. mark its messages failed). */
  onFinalFailure?: (queue: QueueName, data: unknown, err: Error) => Promise<void>;
}

export interface WorkerRuntime {
  workers: Worker[];
  close(): Promise<void>;
}

export function startWorkers(opts: WorkerRuntimeOptions): WorkerRuntime {
  for (const name of QUEUE_NAMES)
    if (typeof opts.processors[name] !== 'function') throw new Error(`queue "${name}" has no processor`);
  const maxAttempts = DEFAULT_JOB_OPTIONS.attempts ?? 1;
  const workers = QUEUE_NAMES.map((name) => {
    const log = opts.log.child({ queue: name });
    const w = new Worker(name, opts.processors[name] as Processor, {
      connection: opts.redis.options,
      prefix: opts.prefix,
      concurrency: opts.concurrency?.[name] ?? 1,
      // A killed worker's job is picked up again after the lock expires.
      lockDuration: opts.lockMs ?? 30_000,
      stalledInterval: Math.max(500, Math.floor((opts.lockMs ?? 30_000) / 2)),
      maxStalledCount: 3,
    });
    w.on('error', (err) => log.error({ err }, 'worker error'));
    w.on('completed', () => opts.metrics.jobsCompleted.inc({ queue: name }));
    w.on('failed', (job, err) => {
      const final =
        !job || job.attemptsMade >= (job.opts.attempts ?? maxAttempts) || err.name === 'UnrecoverableError';
      opts.metrics.jobsFailed.inc({ queue: name, final: String(final) });
      log[final ? 'error' : 'warn']({ err, jobId: job?.id, attempts: job?.attemptsMade }, 'job failed');
      if (final && job && opts.onFinalFailure)
        opts
          .onFinalFailure(name, job.data, err)
          .catch((e: unknown) => log.error({ err: e }, 'onFinalFailure failed'));
    });
    return w;
  });
  return {
    workers,
    async close() {
      await Promise.all(workers.map((w) => w.close()));
    },
  };
}

export type { Queues };
