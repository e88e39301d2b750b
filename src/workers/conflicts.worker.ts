import { UnrecoverableError, type Processor } from 'bullmq';
import { checkReply, checkRouted, scanSpikes, type ConflictDeps } from '../responders/conflicts.ts';
import type { JobData } from './queues.ts';

const positive = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) > 0;

/**
 * conflicts: `scan` (repeatable) looks for spikes of negative messages; `routed` checks the incidents a
 * route batch touched (toxic threads, repeated appeals); `reply` checks an official reply just sent (rude,
 * late). Every check is keyed, so a retried job raises nothing twice.
 */
export function conflictsProcessor(deps: ConflictDeps): Processor<JobData['conflicts']> {
  return async (job) => {
    const d = job.data as Partial<Record<string, unknown>> | null;
    switch (d?.kind) {
      case 'scan':
        return { raised: await scanSpikes(deps, new Date()) };
      case 'routed': {
        const ids = d.incidentIds;
        if (!Array.isArray(ids) || !ids.every(positive))
          throw new UnrecoverableError(
            'job data must be { kind: "routed", incidentIds: positive integers[] }',
          );
        return { raised: await checkRouted(deps, ids) };
      }
      case 'reply':
        if (!positive(d.outboundId))
          throw new UnrecoverableError('job data must be { kind: "reply", outboundId: positive integer }');
        return { raised: await checkReply(deps, d.outboundId) };
      default:
        throw new UnrecoverableError(`unknown conflicts job ${JSON.stringify(d)?.slice(0, 200)}`);
    }
  };
}
