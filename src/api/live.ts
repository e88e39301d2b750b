/**
 * Live updates of incidents for the workspace, across processes: whoever changes an incident (API, route
 * worker, staff bot) publishes {id, status, …} on a Redis channel; each API process relays it to its SSE
 * subscribers. Conflict alerts travel the same way as `alert` events.
 */
import type { Redis } from 'ioredis';
import type { IncidentRow } from '../store/incident.store.ts';

export interface LiveEvent {
  id: number;
  status: string;
  sector: string;
  agencyId: string | null;
  municipality: string | null;
  updatedAt: string;
  /** `alert`: a conflict alert was raised or acknowledged (`id` is the alert's, `status` its kind). */
  event?: 'alert';
}

export interface Live {
  publish(inc: IncidentRow): void;
  /** Publishes the current state of an incident by id. */
  publishId(id: number): void;
  /** A conflict alert raised or acknowledged (the workspace's list of alerts refreshes). */
  publishAlert(
    a: { id: number; kind: string; sector: string | null; municipality: string | null },
    agencyId?: string | null,
  ): void;
  subscribe(fn: (e: LiveEvent) => void): () => void;
  close(): Promise<void>;
}

export function createLive(
  pub: Redis,
  makeSub: () => Redis,
  prefix: string,
  load: (id: number) => Promise<IncidentRow | undefined>,
): Live {
  const channel = `${prefix}:live`;
  const subs = new Set<(e: LiveEvent) => void>();
  let sub: Redis | undefined;
  const ensure = () => {
    if (sub) return;
    sub = makeSub();
    sub.on('error', () => undefined);
    void sub.subscribe(channel).catch(() => undefined);
    sub.on('message', (_c: string, msg: string) => {
      let e: LiveEvent;
      try {
        e = JSON.parse(msg) as LiveEvent;
      } catch {
        return;
      }
      for (const fn of subs) fn(e);
    });
  };
  return {
    publish(inc) {
      const e: LiveEvent = {
        id: inc.id,
        status: inc.status,
        sector: inc.sector,
        agencyId: inc.agencyId,
        municipality: inc.municipality,
        updatedAt: inc.updatedAt.toISOString(),
      };
      void pub.publish(channel, JSON.stringify(e)).catch(() => undefined);
    },
    publishId(id) {
      void load(id)
        .then((inc) => inc && this.publish(inc))
        .catch(() => undefined);
    },
    publishAlert(a, agencyId = null) {
      const e: LiveEvent = {
        event: 'alert',
        id: a.id,
        status: a.kind,
        sector: a.sector ?? '',
        agencyId,
        municipality: a.municipality,
        updatedAt: new Date().toISOString(),
      };
      void pub.publish(channel, JSON.stringify(e)).catch(() => undefined);
    },
    subscribe(fn) {
      ensure();
      subs.add(fn);
      return () => subs.delete(fn);
    },
    async close() {
      sub?.disconnect();
    },
  };
}
