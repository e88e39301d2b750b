import type { Processor } from 'bullmq';
import { watchDeadlines, type EscalationDeps } from '../responders/escalate.ts';
import type { JobData } from './queues.ts';

/**
 * sla-watch (repeatable): pauses past their limit ended, each deadline's breach escalated once, 50/80 %
 * reminders, the morning digest.
 */
export const slaWatchProcessor =
  (deps: EscalationDeps): Processor<JobData['sla-watch']> =>
  async () =>
    watchDeadlines(deps, new Date());
