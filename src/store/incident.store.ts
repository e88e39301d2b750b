/**
 * Incidents: grouping messages into incidents (one transaction per message, serialised per
 * sector × municipality), status changes with their events, and the read side for the API.
 */
import { and, desc, eq, gte, inArray, isNull, lt, sql, type SQL } from 'drizzle-orm';
import { decideGrouping, type GroupingPolicy } from '../domain/grouping.ts';
import { INCIDENT_STATUSES, isOpenStatus, transition, type IncidentStatus } from '../domain/incident-status.ts';
import { decideRoute } from '../domain/routing.ts';
import { computeDeadlines, type SlaPolicy } from '../domain/sla.ts';
import type { Calendar } from '../domain/calendar.ts';
import type { ChannelKind, SectorCode } from '../domain/types.ts';
import type { Database } from './db.ts';
import type { ReferenceSnapshot } from './reference.store.ts';
import * as s from './schema.ts';

export type IncidentRow = typeof s.incidents.$inferSelect;
export type IncidentEventRow = typeof s.incidentEvents.$inferSelect;

export interface RouteContext {
  ref: ReferenceSnapshot;
  calendar: Calendar;
  grouping: GroupingPolicy;
}

export interface RouteOutcome {
  messageId: number;
  incidentId: number;
  opened: boolean;
  reason: string;
}

export interface IncidentFilters {
  status?: string[];
  sector?: string[];
  municipality?: string[];
  agency?: string[];
  overdue?: boolean;
}

export interface IncidentStore {
  /** Groups analyzed messages into incidents; messages not in `analyzed` are skipped (idempotent). */
  routeMessages(ids: readonly number[], ctx: RouteContext): Promise<RouteOutcome[]>;
  get(id: number): Promise<IncidentRow | undefined>;
  events(incidentId: number): Promise<IncidentEventRow[]>;
  list(
    filters: IncidentFilters,
    page: { limit: number; offset: number },
    now?: Date,
  ): Promise<{ total: number; items: IncidentRow[] }>;
  changeStatus(
    id: number,
    to: IncidentStatus,
    actor: string,
    reason?: string,
  ): Promise<{ ok: true; incident: IncidentRow } | { ok: false; reason: string }>;
  addEvent(incidentId: number, type: string, actor: string, data?: Record<string, unknown>): Promise<void>;
  /** Marks a once-only side effect done (`notifiedAt`, `draftedAt`); false when already done. */
  markOnce(id: number, column: 'notifiedAt' | 'draftedAt'): Promise<boolean>;
  /** Incidents whose notify / draft step has not happened since `olderThan`. */
  pendingSideEffects(column: 'notifiedAt' | 'draftedAt', olderThan: Date, limit: number): Promise<number[]>;
  /** Open incidents past their first-response or resolution deadline and not yet flagged. */
  newlyBreached(now: Date, limit: number): Promise<IncidentRow[]>;
  markBreached(id: number, at: Date, which: 'first_response' | 'resolution'): Promise<boolean>;
  countByStatus(): Promise<Record<string, number>>;
}

const SYSTEM = 'system';
export const OPEN_STATUSES: readonly IncidentStatus[] = INCIDENT_STATUSES.filter(isOpenStatus);

function summarise(text: string): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length <= 160 ? t : `${t.slice(0, 157).replace(/\s+\S*$/, '')}…`;
}

export function createIncidentStore(database: Database): IncidentStore {
  const { db } = database;

  async function routeOne(id: number, ctx: RouteContext): Promise<RouteOutcome | null> {
    return db.transaction(async (tx) => {
      const [msg] = await tx
        .select()
        .from(s.messages)
        .where(and(eq(s.messages.id, id), eq(s.messages.state, 'analyzed')))
        .for('update');
      if (!msg) return null;
      const sector = (msg.sector ?? 'other') as SectorCode;
      const municipality = msg.municipality;
      // Serialise grouping per sector × municipality so two racing messages cannot both open an incident.
      await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`${sector}:${municipality ?? ''}`}))`);

      let parentIncidentId: number | null = null;
      if (msg.parentExternalId) {
        const [parent] = await tx
          .select({ incidentId: s.messages.incidentId })
          .from(s.messages)
          .where(and(eq(s.messages.sourceId, msg.sourceId), eq(s.messages.externalId, msg.parentExternalId)));
        parentIncidentId = parent?.incidentId ?? null;
      }
      const windowStart = new Date(msg.postedAt.getTime() - ctx.grouping.windowHours * 3_600_000);
      const candidates = await tx
        .select({
          id: s.incidents.id,
          sector: s.incidents.sector,
          municipality: s.incidents.municipality,
          address: s.incidents.address,
          terms: s.incidents.terms,
          lastMessageAt: s.incidents.lastMessageAt,
        })
        .from(s.incidents)
        .where(
          and(
            eq(s.incidents.sector, sector),
            municipality === null ? isNull(s.incidents.municipality) : eq(s.incidents.municipality, municipality),
            inArray(s.incidents.status, [...OPEN_STATUSES]),
            gte(s.incidents.lastMessageAt, windowStart),
          ),
        )
        .orderBy(desc(s.incidents.lastMessageAt))
        .limit(50);
      const decision = decideGrouping(
        {
          sector,
          municipality,
          address: msg.address,
          terms: msg.terms ?? [],
          postedAt: msg.postedAt,
          parentIncidentId,
        },
        candidates.map((c) => ({ ...c, sector: c.sector as SectorCode })),
        ctx.grouping,
      );

      const now = new Date();
      let incidentId: number;
      let opened = false;
      if (decision.kind === 'join') {
        incidentId = decision.incidentId;
        const [known] = msg.authorId
          ? await tx
              .select({ one: sql<number>`1` })
              .from(s.messages)
              .where(and(eq(s.messages.incidentId, incidentId), eq(s.messages.authorId, msg.authorId)))
              .limit(1)
          : [];
        await tx
          .update(s.incidents)
          .set({
            messageCount: sql`${s.incidents.messageCount} + 1`,
            authorCount: known ? sql`${s.incidents.authorCount}` : sql`${s.incidents.authorCount} + 1`,
            negativeCount: sql`${s.incidents.negativeCount} + ${msg.sentiment === 'negative' ? 1 : 0}`,
            lastMessageAt: sql`greatest(${s.incidents.lastMessageAt}, ${msg.postedAt.toISOString()}::timestamptz)`,
            address: sql`coalesce(${s.incidents.address}, ${msg.address})`,
            updatedAt: now,
          })
          .where(eq(s.incidents.id, incidentId));
        await tx.insert(s.incidentEvents).values({
          incidentId,
          type: 'message_added',
          actor: SYSTEM,
          data: { messageId: msg.id, reason: decision.reason },
        });
      } else {
        const source = ctx.ref.sources.get(msg.sourceId);
        const channelKind = (source?.channelKind ?? 'api') as ChannelKind;
        const policyRow = ctx.ref.slaPolicies.get(channelKind) ?? ctx.ref.slaPolicies.get('api');
        if (!policyRow) throw new Error(`no SLA policy for channel kind ${channelKind}`);
        const policy: SlaPolicy = {
          channelKind,
          firstResponse: policyRow.firstResponse,
          resolution: policyRow.resolution,
        };
        const due = computeDeadlines(policy, msg.receivedAt, ctx.calendar);
        const route = decideRoute(
          ctx.ref.routingRules.map((r) => ({ ...r, sector: r.sector as SectorCode })),
          { sector, municipality },
        );
        const agencyId = route.kind === 'agency' ? route.agencyId : null;
        const [inc] = await tx
          .insert(s.incidents)
          .values({
            status: agencyId ? 'assigned' : 'new',
            sector,
            municipality,
            agencyId,
            routingRuleId: route.kind === 'agency' ? route.ruleId : null,
            address: msg.address,
            summary: summarise(msg.text),
            terms: msg.terms ?? [],
            channelKind,
            messageCount: 1,
            authorCount: 1,
            negativeCount: msg.sentiment === 'negative' ? 1 : 0,
            firstMessageAt: msg.postedAt,
            lastMessageAt: msg.postedAt,
            firstResponseDue: due.firstResponseDue,
            resolutionDue: due.resolutionDue,
          })
          .returning({ id: s.incidents.id });
        incidentId = inc!.id;
        opened = true;
        await tx.insert(s.incidentEvents).values([
          {
            incidentId,
            type: 'created',
            toStatus: 'new',
            actor: SYSTEM,
            data: { messageId: msg.id, sector, municipality },
          },
          ...(agencyId
            ? [
                {
                  incidentId,
                  type: 'status_changed',
                  fromStatus: 'new',
                  toStatus: 'assigned',
                  actor: SYSTEM,
                  data: { agencyId, ruleId: route.kind === 'agency' ? route.ruleId : null },
                },
              ]
            : [
                {
                  incidentId,
                  type: 'routed_to_sector_block',
                  actor: SYSTEM,
                  data: { sector, reason: route.kind === 'sector_block' ? route.reason : '' },
                },
              ]),
        ]);
      }
      await tx
        .update(s.messages)
        .set({ state: 'routed', stateChangedAt: now, routedAt: now, incidentId })
        .where(eq(s.messages.id, msg.id));
      return {
        messageId: msg.id,
        incidentId,
        opened,
        reason: decision.kind === 'join' ? decision.reason : 'opened',
      };
    });
  }

  return {
    async routeMessages(ids, ctx) {
      const out: RouteOutcome[] = [];
      for (const id of [...ids].sort((a, b) => a - b)) {
        const r = await routeOne(id, ctx);
        if (r) out.push(r);
      }
      return out;
    },

    async get(id) {
      const [row] = await db.select().from(s.incidents).where(eq(s.incidents.id, id));
      return row;
    },

    async events(incidentId) {
      return db
        .select()
        .from(s.incidentEvents)
        .where(eq(s.incidentEvents.incidentId, incidentId))
        .orderBy(s.incidentEvents.at, s.incidentEvents.id);
    },

    async list(f, page, now = new Date()) {
      const conds: SQL[] = [];
      if (f.status?.length) conds.push(inArray(s.incidents.status, f.status));
      if (f.sector?.length) conds.push(inArray(s.incidents.sector, f.sector));
      if (f.municipality?.length) conds.push(inArray(s.incidents.municipality, f.municipality));
      if (f.agency?.length) conds.push(inArray(s.incidents.agencyId, f.agency));
      if (f.overdue)
        conds.push(
          and(inArray(s.incidents.status, [...OPEN_STATUSES]), lt(s.incidents.resolutionDue, now)) as SQL,
        );
      const where = conds.length ? and(...conds) : undefined;
      const [items, [count]] = await Promise.all([
        db
          .select()
          .from(s.incidents)
          .where(where)
          .orderBy(desc(s.incidents.lastMessageAt), desc(s.incidents.id))
          .limit(page.limit)
          .offset(page.offset),
        db
          .select({ n: sql<number>`count(*)`.mapWith(Number) })
          .from(s.incidents)
          .where(where),
      ]);
      return { total: count?.n ?? 0, items };
    },

    async changeStatus(id, to, actor, reason) {
      return db.transaction(async (tx) => {
        const [inc] = await tx.select().from(s.incidents).where(eq(s.incidents.id, id)).for('update');
        if (!inc) return { ok: false as const, reason: `incident ${id} not found` };
        const at = new Date();
        const r = transition(inc.status as IncidentStatus, to, { actor, at, reason });
        if (!r.ok) return { ok: false as const, reason: r.reason };
        const [updated] = await tx
          .update(s.incidents)
          .set({
            status: to,
            updatedAt: at,
            resolvedAt: to === 'resolved' ? at : to === 'reopened' ? null : inc.resolvedAt,
          })
          .where(eq(s.incidents.id, id))
          .returning();
        await tx.insert(s.incidentEvents).values({
          incidentId: id,
          type: 'status_changed',
          fromStatus: inc.status,
          toStatus: to,
          actor,
          at,
          data: reason ? { reason } : {},
        });
        return { ok: true as const, incident: updated! };
      });
    },

    async addEvent(incidentId, type, actor, data = {}) {
      await db.insert(s.incidentEvents).values({ incidentId, type, actor, data });
    },

    async markOnce(id, column) {
      const col = s.incidents[column];
      const rows = await db
        .update(s.incidents)
        .set({ [column]: new Date() })
        .where(and(eq(s.incidents.id, id), isNull(col)))
        .returning({ id: s.incidents.id });
      return rows.length > 0;
    },

    async pendingSideEffects(column, olderThan, limit) {
      const rows = await db
        .select({ id: s.incidents.id })
        .from(s.incidents)
        .where(and(isNull(s.incidents[column]), lt(s.incidents.createdAt, olderThan)))
        .orderBy(s.incidents.id)
        .limit(limit);
      return rows.map((r) => r.id);
    },

    async newlyBreached(now, limit) {
      return db
        .select()
        .from(s.incidents)
        .where(
          and(
            isNull(s.incidents.breachedAt),
            inArray(s.incidents.status, [...OPEN_STATUSES]),
            sql`(${s.incidents.resolutionDue} < ${now.toISOString()}::timestamptz or (${s.incidents.firstRespondedAt} is null and ${s.incidents.firstResponseDue} < ${now.toISOString()}::timestamptz))`,
          ),
        )
        .orderBy(s.incidents.firstResponseDue)
        .limit(limit);
    },

    async markBreached(id, at, which) {
      return db.transaction(async (tx) => {
        const rows = await tx
          .update(s.incidents)
          .set({ breachedAt: at })
          .where(and(eq(s.incidents.id, id), isNull(s.incidents.breachedAt)))
          .returning({ id: s.incidents.id });
        if (rows.length === 0) return false;
        await tx.insert(s.incidentEvents).values({
          incidentId: id,
          type: 'sla_breached',
          actor: SYSTEM,
          at,
          data: { which },
        });
        return true;
      });
    },

    async countByStatus() {
      const rows = await db
        .select({ status: s.incidents.status, n: sql<number>`count(*)`.mapWith(Number) })
        .from(s.incidents)
        .groupBy(s.incidents.status);
      return Object.fromEntries(rows.map((r) => [r.status, r.n]));
    },
  };
}

