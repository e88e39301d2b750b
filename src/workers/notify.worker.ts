import type { Processor } from 'bullmq';
import { notifyIncidentCreated, type NotifyDeps } from '../responders/notify.ts';
import type { JobData } from './queues.ts';
import { parseIncidentId } from './parse.ts';

/** notify: the incident card goes to the responsible chat (through the outbox). */
export const notifyProcessor =
  (deps: NotifyDeps): Processor<JobData['notify']> =>
  async (job) => ({ result: await notifyIncidentCreated(deps, parseIncidentId(job.data)) });
