import type { Processor } from 'bullmq';
import type { IncidentStore, RouteContext } from '../store/incident.store.ts';
import type { JobData, Queues } from './queues.ts';
import { parseIds } from './parse.ts';

export interface RouteDeps {
  incidents: IncidentStore;
  queues: Queues;
  context: () => Promise<RouteContext>;
}

/** route: analysed messages open or join incidents; a new incident is announced and gets a draft. */
export function routeProcessor(deps: RouteDeps): Processor<JobData['route']> {
  return async (job) => {
    const outcomes = await deps.incidents.routeMessages(parseIds(job.data), await deps.context());
    for (const o of outcomes.filter((x) => x.opened)) {
      await deps.queues.add('notify', { incidentId: o.incidentId, kind: 'created' });
      await deps.queues.add('draft', { incidentId: o.incidentId, kind: 'acknowledgement' });
    }
    return { routed: outcomes.length, opened: outcomes.filter((o) => o.opened).length };
  };
}
