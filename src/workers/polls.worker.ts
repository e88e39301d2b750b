/** polls: the repeatable check that closes polls at their time (src/responders/polls.ts does the work). */
import type { Processor } from 'bullmq';
import type { Polls } from '../responders/polls.ts';
import type { JobData } from './queues.ts';

export function pollsProcessor(polls: Pick<Polls, 'tick'>): Processor<JobData['polls']> {
  return async () => polls.tick();
}
