import type { Processor } from 'bullmq';
import type { IncidentStore, RouteContext } from '../store/incident.store.ts';
import type { JobData, Queues } from './queues.ts';
import { parseIds } from './parse.ts';

export interface RouteDeps {
  incidents: IncidentStore;
  queues: Queues;
  context: () => Promise<RouteContext>;
  /** Called for an incident whose clock restarted because the asked citizen wrote again (update its cards). */
  onResumed?: (incidentId: number) => Promise<unknown>;
  /** Incidents opened or joined (live updates of the workspace). */
  onRouted?: (incidentIds: number[]) => void;
  /**
   * Messages kept out of incidents (comments of an open public discussion): the hook marks them routed
   * without an incident and returns their ids; the rest of the batch is routed as usual.
   */
  divert?: (messageIds: number[]) => Promise<number[]>;
  /** @defaultValue CARD_REFRESH_WINDOW_MS */
  cardRefreshWindowMs?: number;
}

/**
 * Cards show the incident's message, author and negative counts: messages joining an incident edit its
 * cards once per window (the job id carries the window; it runs at the window's end, so the last message
 * of a burst is in the figures), not once per message — Telegram limits edits like messages.
 */
export const CARD_REFRESH_WINDOW_MS = 30_000;

/** route: analysed messages open or join incidents; a new incident is announced and gets a draft. */
export function routeProcessor(deps: RouteDeps): Processor<JobData['route']> {
  return async (job) => {
    const ctx = await deps.context();
    let ids = parseIds(job.data);
    const diverted = new Set(await deps.divert?.(ids));
    if (diverted.size) ids = ids.filter((id) => !diverted.has(id));
    const outcomes = await deps.incidents.routeMessages(ids, ctx);
    // An incident waiting for the citizen (details asked) restarts its clock when one who was asked (an
    // author of its messages before the pause) writes again; anybody else's message leaves it standing.
    const joinedBy = new Map<number, Set<number>>();
    for (const o of outcomes)
      if (!o.opened && o.authorId !== null)
        joinedBy.set(o.incidentId, (joinedBy.get(o.incidentId) ?? new Set()).add(o.authorId));
    for (const [id, authors] of joinedBy)
      if (await deps.incidents.resume(id, 'citizen', ctx, new Date(), { authorIds: [...authors] }))
        await deps.onResumed?.(id);
    const now = Date.now();
    const windowMs = deps.cardRefreshWindowMs ?? CARD_REFRESH_WINDOW_MS;
    const bucket = Math.floor(now / windowMs);
    for (const id of new Set(outcomes.filter((o) => !o.opened).map((o) => o.incidentId)))
      await deps.queues.add(
        'notify',
        { incidentId: id, kind: 'refresh' },
        { salt: `w${bucket}`, delayMs: (bucket + 1) * windowMs - now },
      );
    for (const o of outcomes.filter((x) => x.opened)) {
      await deps.queues.add('notify', { incidentId: o.incidentId, kind: 'created' });
      await deps.queues.add('draft', { incidentId: o.incidentId, kind: 'acknowledgement' });
    }
    deps.onRouted?.([...new Set(outcomes.map((o) => o.incidentId))]);
    return { routed: outcomes.length, opened: outcomes.filter((o) => o.opened).length };
  };
}
