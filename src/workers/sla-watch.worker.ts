import type { Processor } from 'bullmq';
import { escalateBreaches, type EscalationDeps } from '../responders/escalate.ts';
import type { JobData } from './queues.ts';

/** sla-watch (repeatable): open incidents past a deadline are flagged once and escalated. */
export const slaWatchProcessor =
  (deps: EscalationDeps): Processor<JobData['sla-watch']> =>
  async () => ({ escalated: await escalateBreaches(deps, new Date()) });
