/**
 * The sweeper: the database is the source of truth, Redis only carries work. Messages stuck in a state
 * and incidents whose notify/draft never happened are re-enqueued, so losing Redis delays work and loses
 * nothing. It also (re)installs the repeatable sla-watch job, the conflict scan, the polls check and the
 * privacy retention pass, which a flushed Redis forgets.
 */
import type { Logger } from 'pino';
import type { IncidentStore } from '../store/incident.store.ts';
import type { MessageStore } from '../store/message.store.ts';
import type { OutboundStore } from '../store/outbound.store.ts';
import type { Metrics } from './metrics.ts';
import type { Queues } from './queues.ts';

export interface SweeperOptions {
  messages: MessageStore;
  incidents: IncidentStore;
  /** Messages to citizens whose send job was lost. */
  outbound?: OutboundStore;
  queues: Queues;
  log: Logger;
  metrics: Metrics;
  /** @defaultValue 15000 */
  intervalMs?: number;
  /** @defaultValue 60000 */
  stuckAfterMs?: number;
  /** Period of sla-watch. @defaultValue 60000 */
  slaWatchEveryMs?: number;
  /** Period of the conflict scan (spikes of negative messages). @defaultValue 300000 */
  conflictScanEveryMs?: number;
  /** Period of the polls check (closing polls at their time). @defaultValue 30000 */
  pollsEveryMs?: number;
  /** Period of the privacy retention pass (personal data past their period). @defaultValue 3600000 */
  privacyEveryMs?: number;
  /** Messages per re-enqueued job. @defaultValue 100 */
  batch?: number;
  /** Approved replies whose delivery to citizens a dead process left unfinished (finished here, in place). */
  drafts?: { completeUndelivered(before: Date): Promise<number> };
  /** Campaigns: (re)adds the run job of approved campaigns whose time has come and of running ones. */
  broadcasts?: { kick(): Promise<number> };
}

export interface Sweeper {
  /** One pass; returns how many messages and incidents were re-enqueued. */
  sweep(now?: Date): Promise<{ messages: number; incidents: number }>;
  stop(): void;
}

export function startSweeper(opts: SweeperOptions): Sweeper {
  const interval = opts.intervalMs ?? 15_000;
  const stuckAfter = opts.stuckAfterMs ?? 60_000;
  const batch = opts.batch ?? 100;
  let running = false;
  let inFlightChecked = false;

  async function sweep(now = new Date()) {
    const before = new Date(now.getTime() - stuckAfter);
    const salt = `sweep${Math.floor(now.getTime() / stuckAfter)}`;
    let messages = 0;
    let incidents = 0;
    for (const [state, queue] of [
      ['received', 'analyze'],
      ['analyzed', 'route'],
    ] as const) {
      const ids = await opts.messages.stuck(state, before, 10_000);
      for (let i = 0; i < ids.length; i += batch) {
        await opts.queues.add(queue, { messageIds: ids.slice(i, i + batch) }, { salt });
      }
      if (ids.length) opts.metrics.sweeperRequeued.inc({ state }, ids.length);
      messages += ids.length;
    }
    for (const id of await opts.incidents.pendingSideEffects('notifiedAt', before, 1000)) {
      await opts.queues.add('notify', { incidentId: id, kind: 'created' }, { salt });
      incidents++;
    }
    for (const id of await opts.incidents.pendingSideEffects('draftedAt', before, 1000)) {
      await opts.queues.add('draft', { incidentId: id, kind: 'acknowledgement' }, { salt });
      incidents++;
    }
    // No salt here: a send job that still exists (e.g. delayed by a 429) must not get a twin.
    for (const id of (await opts.outbound?.pendingBefore(before, 1000)) ?? []) {
      await opts.queues.add('send', { outboundId: id });
      incidents++;
    }
    const drafts = (await opts.drafts?.completeUndelivered(before)) ?? 0;
    if (drafts) opts.log.warn({ drafts }, 'finished the delivery of approved replies a stopped process left');
    incidents += drafts;
    // Rows left `sending` by a process that died mid-send, whose job Redis may have lost too: looked at once
    // per start (the state is rare and not indexed); the send job decides whether to resend (issue 9).
    if (!inFlightChecked && opts.outbound) {
      for (const id of await opts.outbound.inFlight(1000)) await opts.queues.add('send', { outboundId: id });
      inFlightChecked = true;
    }
    await opts.queues
      .get('sla-watch')
      .upsertJobScheduler(
        'sla-watch',
        { every: opts.slaWatchEveryMs ?? 60_000 },
        { name: 'sla-watch', data: {} },
      );
    await opts.queues
      .get('conflicts')
      .upsertJobScheduler(
        'conflict-scan',
        { every: opts.conflictScanEveryMs ?? 300_000 },
        { name: 'conflicts', data: { kind: 'scan' } },
      );
    await opts.queues
      .get('polls')
      .upsertJobScheduler(
        'polls-tick',
        { every: opts.pollsEveryMs ?? 30_000 },
        { name: 'polls', data: { kind: 'tick' } },
      );
    await opts.queues
      .get('privacy')
      .upsertJobScheduler(
        'privacy-retention',
        { every: opts.privacyEveryMs ?? 3_600_000 },
        { name: 'privacy', data: { kind: 'retention' } },
      );
    // A campaign's run job has its own id: adding it while it runs or waits is a no-op.
    await opts.broadcasts?.kick();
    if (messages || incidents) opts.log.warn({ messages, incidents }, 'sweeper re-enqueued stuck work');
    return { messages, incidents };
  }

  const timer = setInterval(() => {
    if (running) return;
    running = true;
    sweep()
      .catch((err: unknown) => opts.log.warn({ err }, 'sweep failed; will retry'))
      .finally(() => (running = false));
  }, interval);
  timer.unref();
  return { sweep, stop: () => clearInterval(timer) };
}
