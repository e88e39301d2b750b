import type { Processor } from 'bullmq';
import { prepareDraft, type DraftDeps } from '../responders/draft.ts';
import type { JobData } from './queues.ts';
import { parseIncidentId } from './parse.ts';

/** draft: a reply draft of the asked kind is prepared for SMM approval (once per key). */
export const draftProcessor =
  (deps: DraftDeps): Processor<JobData['draft']> =>
  async (job) => ({
    result: await prepareDraft(
      deps,
      parseIncidentId(job.data),
      job.data.kind ?? 'acknowledgement',
      job.data.key,
      job.data.slots ?? {},
    ),
  });
