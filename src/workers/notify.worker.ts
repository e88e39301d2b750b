import type { Processor } from 'bullmq';
import { notifyIncidentCreated, refreshCards, type NotifyDeps } from '../responders/notify.ts';
import type { JobData } from './queues.ts';
import { parseIncidentId } from './parse.ts';

/** notify: the incident card goes to the responsible chat (through the outbox), or its posted cards are edited. */
export const notifyProcessor =
  (deps: NotifyDeps): Processor<JobData['notify']> =>
  async (job) => {
    const id = parseIncidentId(job.data);
    if (job.data.kind === 'refresh') return { edited: await refreshCards(deps, id) };
    return { result: await notifyIncidentCreated(deps, id) };
  };
