/**
 * Queue names, job payloads and job-id rules in one place (STYLE.md, habit 5).
 * analyze → route → notify / draft, plus the repeatable sla-watch, send (messages to citizens), and
 * conflicts (alerts on conflict situations), the repeatable polls check (closing polls at their time),
 * broadcast (one campaign's run), and the repeatable privacy retention pass.
 */
import { Queue, type JobsOptions } from 'bullmq';
import type { RedisHandle } from './redis.ts';

export const QUEUE_NAMES = [
  'analyze',
  'route',
  'notify',
  'draft',
  'sla-watch',
  'send',
  'conflicts',
  'polls',
  'broadcast',
  'privacy',
] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

export interface JobData {
  analyze: { messageIds: number[] };
  route: { messageIds: number[] };
  /** `created`: the first card; `refresh`: cards edited to the incident's current figures (new messages). */
  notify: { incidentId: number; kind: 'created' | 'refresh' };
  /** A reply draft of `kind`, once per `key` (absent → `<incident>:<kind>`), with the slots staff gave. */
  draft: {
    incidentId: number;
    kind: 'acknowledgement' | 'in_progress' | 'resolved' | 'redirect' | 'details_request';
    key?: string;
    slots?: Record<string, string>;
  };
  'sla-watch': Record<string, never>;
  /** One row of outbound_messages. */
  send: { outboundId: number };
  /** Conflict situations: the repeatable spike scan, incidents a route batch touched, an official reply sent. */
  conflicts:
    { kind: 'scan' } | { kind: 'routed'; incidentIds: number[] } | { kind: 'reply'; outboundId: number };
  /** The repeatable poll check: closes polls at their time (stopPoll, results into button messages). */
  polls: { kind: 'tick' };
  /** A campaign's run (job id `broadcast-<id>`, added by responders/broadcast.ts kickCampaign). */
  broadcast: { campaignId: number };
  /** The repeatable retention pass (personal data past their period anonymised, responders/privacy.ts). */
  privacy: { kind: 'retention' };
}

/** Retries with exponential backoff; finished jobs kept for a while so they stay visible. */
export const DEFAULT_JOB_OPTIONS: JobsOptions = {
  attempts: 6,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 3600, count: 5000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

/** jobId rules: the same work gets the same id, so BullMQ drops a duplicate while the first is known. */
export function jobId<Q extends QueueName>(queue: Q, data: JobData[Q], salt = ''): string | undefined {
  switch (queue) {
    case 'analyze':
    case 'route': {
      const ids = (data as JobData['analyze']).messageIds;
      return `${queue}-${ids[0]}-${ids[ids.length - 1]}-${ids.length}${salt ? `-${salt}` : ''}`;
    }
    case 'notify': {
      const d = data as JobData['notify'];
      return `${queue}-${d.incidentId}-${d.kind}${salt ? `-${salt}` : ''}`;
    }
    case 'draft': {
      const d = data as JobData['draft'];
      return `draft-${(d.key ?? `${d.incidentId}:${d.kind}`).replace(/:/g, '-')}${salt ? `-${salt}` : ''}`;
    }
    case 'send':
      return `send-${(data as JobData['send']).outboundId}${salt ? `-${salt}` : ''}`;
    case 'conflicts': {
      // A reply is checked once; scans and route batches get fresh ids (their checks are keyed anyway).
      const d = data as JobData['conflicts'];
      return d.kind === 'reply' ? `conflicts-reply-${d.outboundId}${salt ? `-${salt}` : ''}` : undefined;
    }
    default:
      return undefined;
  }
}

export interface Queues {
  get<Q extends QueueName>(name: Q): Queue<JobData[Q]>;
  add<Q extends QueueName>(
    name: Q,
    data: JobData[Q],
    opts?: { salt?: string; delayMs?: number },
  ): Promise<void>;
  all(): Queue[];
  close(): Promise<void>;
}

export function createQueues(redis: RedisHandle, prefix: string): Queues {
  const queues = new Map<QueueName, Queue>();
  for (const name of QUEUE_NAMES) {
    const q = new Queue(name, {
      connection: redis.options,
      prefix,
      defaultJobOptions: DEFAULT_JOB_OPTIONS,
    });
    q.on('error', () => {
      /* connection errors are retried by ioredis; /health reports them */
    });
    queues.set(name, q);
  }
  return {
    get: <Q extends QueueName>(name: Q) => queues.get(name) as unknown as Queue<JobData[Q]>,
    async add(name, data, opts) {
      const q = queues.get(name)!;
      await q.add(name, data as never, {
        jobId: jobId(name, data, opts?.salt),
        ...(opts?.delayMs ? { delay: opts.delayMs } : {}),
      });
    },
    all: () => [...queues.values()],
    async close() {
      await Promise.all([...queues.values()].map((q) => q.close()));
    },
  };
}
