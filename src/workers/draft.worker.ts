import type { Processor } from 'bullmq';
import { draftAcknowledgement, type DraftDeps } from '../responders/draft.ts';
import type { JobData } from './queues.ts';
import { parseIncidentId } from './parse.ts';

/** draft: the acknowledgement reply is prepared for SMM approval. */
export const draftProcessor =
  (deps: DraftDeps): Processor<JobData['draft']> =>
  async (job) => ({ result: await draftAcknowledgement(deps, parseIncidentId(job.data)) });
