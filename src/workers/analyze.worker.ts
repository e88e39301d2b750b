import { UnrecoverableError, type Processor } from 'bullmq';
import type { TextAnalyzer } from '../domain/types.ts';
import type { MessageStore } from '../store/message.store.ts';
import type { JobData, Queues } from './queues.ts';
import { parseIds } from './parse.ts';

export interface AnalyzeDeps {
  messages: MessageStore;
  analyzer: TextAnalyzer;
  queues: Queues;
  /** Sector confidence below which a message goes to human review. */
  reviewThreshold: number;
}

/** analyze: messages in `received` get their analysis (in one batch), then go to route. */
export function analyzeProcessor(deps: AnalyzeDeps): Processor<JobData['analyze']> {
  return async (job) => {
    const ids = parseIds(job.data);
    const rows = await deps.messages.byIds(ids, 'received');
    if (rows.length) {
      const analyses = await deps.analyzer.analyze(rows.map((r) => r.text));
      if (analyses.length !== rows.length)
        throw new UnrecoverableError('analyzer returned a wrong number of results');
      await deps.messages.saveAnalyses(
        rows.map((r, i) => ({
          id: r.id,
          analysis: analyses[i]!,
          needsReview: analyses[i]!.sectorScore < deps.reviewThreshold,
        })),
      );
    }
    // Also re-sends messages analysed by an earlier attempt that died before enqueueing.
    const next = (await deps.messages.byIds(ids, 'analyzed')).map((r) => r.id);
    if (next.length) await deps.queues.add('route', { messageIds: next });
    return { analyzed: rows.length, routed: next.length };
  };
}
