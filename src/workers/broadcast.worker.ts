import { UnrecoverableError, type Processor } from 'bullmq';
import type { Broadcaster, RunResult } from '../responders/broadcast.ts';
import type { JobData } from './queues.ts';

/** broadcast: one campaign, worked on until it is done, paused or cancelled (see responders/broadcast.ts). */
export const broadcastProcessor =
  (broadcaster: Broadcaster): Processor<JobData['broadcast'], RunResult> =>
  async (job) => {
    const id = Number(job.data.campaignId);
    if (!Number.isSafeInteger(id) || id <= 0)
      throw new UnrecoverableError(`bad campaignId ${job.data.campaignId}`);
    return broadcaster.run(id);
  };
