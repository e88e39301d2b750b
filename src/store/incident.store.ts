/**
 * Incidents: grouping messages into incidents (one transaction per message, serialised per
 * sector × municipality), status changes with their events, and the read side for the API.
 */
import { and, asc, desc, eq, gte, inArray, isNull, lt, or, sql, type SQL } from 'drizzle-orm';
import { decideGrouping, type GroupingPolicy } from '../domain/grouping.ts';
import {
  INCIDENT_STATUSES,
  isOpenStatus,
  transition,
  type IncidentStatus,
} from '../domain/incident-status.ts';
import { decideRoute } from '../domain/routing.ts';
import { computeDeadlines, computeDue, type SlaPolicy } from '../domain/sla.ts';
import type { Calendar } from '../domain/calendar.ts';
import type { ChannelKind, SectorCode } from '../domain/types.ts';
import type { Database, Db } from './db.ts';
import { calendarFromReference, createReferenceStore, type ReferenceSnapshot } from './reference.store.ts';
import * as s from './schema.ts';

export type IncidentRow = typeof s.incidents.$inferSelect;
export type IncidentEventRow = typeof s.incidentEvents.$inferSelect;

export interface RouteContext {
  ref: ReferenceSnapshot;
  calendar: Calendar;
  grouping: GroupingPolicy;
}

/** What the deadline arithmetic needs: the SLA policies and the regional calendar. */
export type SlaContext = Pick<RouteContext, 'ref' | 'calendar'>;

export interface IncidentStoreOptions {
  /**
   * Policies and calendar for the deadlines a status change recomputes (a reopening).
   * @defaultValue a reference store of its own over the same database (cached 30 s)
   */
  slaContext?: () => Promise<SlaContext>;
}

export interface RouteOutcome {
  messageId: number;
  /** The message's author (null when unknown), e.g. to tell whether the asked citizen answered. */
  authorId: number | null;
  incidentId: number;
  opened: boolean;
  reason: string;
}

export interface IncidentFilters {
  status?: string[];
  sector?: string[];
  municipality?: string[];
  agency?: string[];
  /**
   * Open, not paused, and past a deadline that still applies: the first response (none yet) or the
   * resolution.
   */
  overdue?: boolean;
  channel?: string[];
  /** Incidents with at least one message of this sentiment. */
  sentiment?: string;
  /** Russian full-text search over the summary and the messages. */
  q?: string;
  /** `deadline` (soonest resolution deadline first), `-updated`; default: latest message first. */
  sort?: 'deadline' | '-updated';
  /** Staff scopes (one per grant, OR-ed; a grant with no scope means everything). */
  scope?: { sector: string | null; agencyId: string | null; municipality: string | null }[];
  /** Created at or after. */
  createdFrom?: Date;
  /** Created before. */
  createdTo?: Date;
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
  /** Hands the incident to another agency (status back to `assigned` where the machine allows). */
  /** To another agency; with `sector`, the incident moves to that sector block too (scope, chat, block). */
  reassign(
    id: number,
    agencyId: string,
    actor: string,
    reason?: string,
    sector?: SectorCode,
  ): Promise<IncidentRow | undefined>;
  /** Sets the result, the sensitive flag or the first response (the latter only once). */
  setFields(
    id: number,
    fields: { result?: string; sensitive?: boolean; firstRespondedAt?: Date },
  ): Promise<IncidentRow | undefined>;
  /** Stops the SLA clock (waiting for the citizen); false when it already stands. */
  pause(id: number, actor: string, at?: Date): Promise<boolean>;
  /**
   * Starts the clock again and moves both deadlines by the pause; false when it was not paused. With
   * `authorIds`, only when one of them had written to the incident before the pause (a citizen who was
   * asked); `reason` goes into the `sla_resumed` event.
   */
  resume(
    id: number,
    actor: string,
    ctx: SlaContext,
    at?: Date,
    opts?: { authorIds?: readonly number[]; reason?: string },
  ): Promise<boolean>;
  /** Open incidents whose clock stands since before `before`, longest first. */
  pausedSince(before: Date, limit: number): Promise<IncidentRow[]>;
  /** Marks a once-only side effect done (`notifiedAt`, `draftedAt`); false when already done. */
  markOnce(id: number, column: 'notifiedAt' | 'draftedAt'): Promise<boolean>;
  /** Incidents whose notify / draft step has not happened since `olderThan`. */
  pendingSideEffects(column: 'notifiedAt' | 'draftedAt', olderThan: Date, limit: number): Promise<number[]>;
  /**
   * Open, running incidents with a deadline missed and not yet flagged: the first response (none yet,
   * `firstResponseBreachedAt` unset) or the resolution (`resolutionBreachedAt` unset).
   */
  newlyBreached(now: Date, limit: number): Promise<IncidentRow[]>;
  /**
   * Flags one missed deadline once (atomically: of two workers exactly one gets true) and records
   * `sla_breached`; false when already flagged or no longer missed (answered, paused, reopened meanwhile).
   */
  markBreached(id: number, at: Date, which: 'first_response' | 'resolution'): Promise<boolean>;
  countByStatus(): Promise<Record<string, number>>;
  /** Open incidents for sla-watch and digests, soonest deadline first. */
  openIncidents(limit: number): Promise<IncidentRow[]>;
}

const SYSTEM = 'system';
export const OPEN_STATUSES: readonly IncidentStatus[] = INCIDENT_STATUSES.filter(isOpenStatus);

const openStatusesSql = () =>
  sql.join(
    OPEN_STATUSES.map((x) => sql`${x}`),
    sql`, `,
  );

/** The incident's SLA policy (its channel kind, else the API one), or undefined when none is configured. */
function policyOf(ref: ReferenceSnapshot, channelKind: string): SlaPolicy | undefined {
  const row = ref.slaPolicies.get(channelKind) ?? ref.slaPolicies.get('api');
  return row
    ? {
        channelKind: channelKind as ChannelKind,
        firstResponse: row.firstResponse,
        resolution: row.resolution,
      }
    : undefined;
}

function summarise(text: string): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length <= 160 ? t : `${t.slice(0, 157).replace(/\s+\S*$/, '')}…`;
}

export type StaffScope = NonNullable<IncidentFilters['scope']>;

/**
 * The incidents a set of grants reaches (OR over grants, AND within one); undefined when a grant without any
 * scope reaches everything. Shared by every list that must respect the caller's scope.
 */
export function scopeCondition(scope: StaffScope): SQL | undefined {
  if (scope.some((g) => !g.sector && !g.agencyId && !g.municipality)) return undefined;
  const ors = scope.map((g) => {
    const and_: SQL[] = [];
    if (g.sector) and_.push(eq(s.incidents.sector, g.sector));
    if (g.agencyId) and_.push(eq(s.incidents.agencyId, g.agencyId));
    if (g.municipality) and_.push(eq(s.incidents.municipality, g.municipality));
    return and(...and_) as SQL;
  });
  return ors.length ? (or(...ors) as SQL) : sql`false`;
}

export function createIncidentStore(database: Database, opts: IncidentStoreOptions = {}): IncidentStore {
  const { db } = database;
  let ownReference: ReturnType<typeof createReferenceStore> | undefined;
  const slaContext =
    opts.slaContext ??
    (async (): Promise<SlaContext> => {
      ownReference ??= createReferenceStore(database);
      const ref = await ownReference.get();
      return { ref, calendar: calendarFromReference(ref) };
    });

  /**
   * One transaction per batch: lock the batch's messages, take the advisory locks of their
   * sector × municipality keys in sorted order (so two batches never deadlock and never both open an
   * incident for one problem), load parents and candidates in bulk, decide in memory message by message
   * (a message may join an incident opened earlier in the same batch), then write in bulk.
   */
  async function routeBatch(ids: readonly number[], ctx: RouteContext): Promise<RouteOutcome[]> {
    return db.transaction(async (tx) => {
      const rowsOf = <T>(r: unknown) => (r as { rows: T[] }).rows;
      const msgs = await tx
        .select()
        .from(s.messages)
        .where(and(inArray(s.messages.id, [...ids]), eq(s.messages.state, 'analyzed')))
        .orderBy(s.messages.id)
        .for('update');
      if (msgs.length === 0) return [];
      const keyOf = (sector: string, municipality: string | null) => `${sector}:${municipality ?? ''}`;
      const keys = [...new Set(msgs.map((m) => keyOf(m.sector ?? 'other', m.municipality)))].sort();
      const keyPairs = [
        ...new Map(
          msgs.map((m) => [
            keyOf(m.sector ?? 'other', m.municipality),
            [m.sector ?? 'other', m.municipality] as const,
          ]),
        ).values(),
      ];
      await tx.execute(
        sql`select pg_advisory_xact_lock(hashtext(k)) from (select unnest(array[${sql.join(
          keys.map((k) => sql`${k}::text`),
          sql`, `,
        )}]) as k order by 1) x`,
      );

      // Parents of replies: stored earlier, or in this very batch (filled in as we go).
      const threadKey = (source: string, ext: string) => `${source}\u0000${ext}`;
      const incidentOfExternal = new Map<string, number | null>();
      const withParent = msgs.filter((m) => m.parentExternalId);
      if (withParent.length) {
        const parents = await tx
          .select({
            sourceId: s.messages.sourceId,
            externalId: s.messages.externalId,
            incidentId: s.messages.incidentId,
          })
          .from(s.messages)
          .where(
            sql`(${s.messages.sourceId}, ${s.messages.externalId}) in (${sql.join(
              withParent.map((m) => sql`(${m.sourceId}, ${m.parentExternalId})`),
              sql`, `,
            )})`,
          );
        for (const p of parents) incidentOfExternal.set(threadKey(p.sourceId, p.externalId), p.incidentId);
      }

      // Open candidates of every key, the 50 most recent each.
      const minPosted = Math.min(...msgs.map((m) => m.postedAt.getTime()));
      const windowStart = new Date(minPosted - ctx.grouping.windowHours * 3_600_000);
      const candRows = rowsOf<{
        id: number;
        sector: string;
        municipality: string | null;
        address: string | null;
        terms: string[];
        last_message_at: string | Date;
      }>(
        await tx.execute(sql`
          select id, sector, municipality, address, terms, last_message_at from (
            select id, sector, municipality, address, terms, last_message_at,
                   row_number() over (partition by sector, municipality order by last_message_at desc) as rn
            from incidents
            where status in (${sql.join(
              OPEN_STATUSES.map((x) => sql`${x}`),
              sql`, `,
            )})
              and last_message_at >= ${windowStart.toISOString()}::timestamptz
              and (${sql.join(
                keyPairs.map(([sec, mun]) =>
                  mun === null
                    ? sql`(sector = ${sec} and municipality is null)`
                    : sql`(sector = ${sec} and municipality = ${mun})`,
                ),
                sql` or `,
              )})
          ) c where rn <= 50`),
      );
      type Cand = {
        id: number;
        sector: SectorCode;
        municipality: string | null;
        address: string | null;
        terms: string[];
        lastMessageAt: Date;
      };
      const candidates = new Map<string, Cand[]>();
      for (const c of candRows) {
        const k = keyOf(c.sector, c.municipality);
        const list = candidates.get(k) ?? [];
        list.push({
          id: Number(c.id),
          sector: c.sector as SectorCode,
          municipality: c.municipality,
          address: c.address,
          terms: typeof c.terms === 'string' ? (JSON.parse(c.terms) as string[]) : c.terms,
          lastMessageAt: new Date(c.last_message_at),
        });
        candidates.set(k, list);
      }

      // Which authors already wrote to which incidents (for the authors count).
      const authorsIn = new Set<string>();
      const incidentIds = new Set<number>([...candRows.map((c) => Number(c.id))]);
      for (const v of incidentOfExternal.values()) if (v) incidentIds.add(v);
      const authorIds = [...new Set(msgs.map((m) => m.authorId).filter((a): a is number => a !== null))];
      if (incidentIds.size && authorIds.length) {
        const known = await tx
          .selectDistinct({ incidentId: s.messages.incidentId, authorId: s.messages.authorId })
          .from(s.messages)
          .where(
            and(inArray(s.messages.incidentId, [...incidentIds]), inArray(s.messages.authorId, authorIds)),
          );
        for (const k of known) authorsIn.add(`${k.incidentId}:${k.authorId}`);
      }

      const now = new Date();
      const deltas = new Map<
        number,
        { messages: number; authors: number; negative: number; last: Date; address: string | null }
      >();
      const events: (typeof s.incidentEvents.$inferInsert)[] = [];
      const placed: { id: number; incidentId: number }[] = [];
      const outcomes: RouteOutcome[] = [];

      for (const msg of msgs) {
        const sector = (msg.sector ?? 'other') as SectorCode;
        const municipality = msg.municipality;
        const k = keyOf(sector, municipality);
        const parentIncidentId = msg.parentExternalId
          ? (incidentOfExternal.get(threadKey(msg.sourceId, msg.parentExternalId)) ?? null)
          : null;
        const decision = decideGrouping(
          {
            sector,
            municipality,
            address: msg.address,
            terms: msg.terms ?? [],
            postedAt: msg.postedAt,
            parentIncidentId,
          },
          candidates.get(k) ?? [],
          ctx.grouping,
        );
        let incidentId: number;
        if (decision.kind === 'join') {
          incidentId = decision.incidentId;
          const d = deltas.get(incidentId) ?? {
            messages: 0,
            authors: 0,
            negative: 0,
            last: msg.postedAt,
            address: null,
          };
          d.messages++;
          if (msg.authorId !== null && !authorsIn.has(`${incidentId}:${msg.authorId}`)) d.authors++;
          if (msg.sentiment === 'negative') d.negative++;
          if (msg.postedAt > d.last) d.last = msg.postedAt;
          d.address ??= msg.address;
          deltas.set(incidentId, d);
          const cand = candidates.get(k)?.find((c) => c.id === incidentId);
          if (cand && msg.postedAt > cand.lastMessageAt) cand.lastMessageAt = msg.postedAt;
          events.push({
            incidentId,
            type: 'message_added',
            actor: SYSTEM,
            data: { messageId: msg.id, reason: decision.reason },
          });
        } else {
          incidentId = await openIncident(tx, msg, sector, municipality, ctx, events);
          const list = candidates.get(k) ?? [];
          list.unshift({
            id: incidentId,
            sector,
            municipality,
            address: msg.address,
            terms: msg.terms ?? [],
            lastMessageAt: msg.postedAt,
          });
          candidates.set(k, list);
        }
        if (msg.authorId !== null) authorsIn.add(`${incidentId}:${msg.authorId}`);
        incidentOfExternal.set(threadKey(msg.sourceId, msg.externalId), incidentId);
        placed.push({ id: msg.id, incidentId });
        outcomes.push({
          messageId: msg.id,
          authorId: msg.authorId,
          incidentId,
          opened: decision.kind === 'open',
          reason: decision.kind === 'join' ? decision.reason : 'opened',
        });
      }

      if (deltas.size)
        await tx.execute(sql`
          update incidents i set
            message_count = i.message_count + v.dm, author_count = i.author_count + v.da,
            negative_count = i.negative_count + v.dn, last_message_at = greatest(i.last_message_at, v.last),
            address = coalesce(i.address, v.addr), updated_at = now()
          from (values ${sql.join(
            [...deltas].map(
              ([id, d]) =>
                sql`(${id}::bigint, ${d.messages}::int, ${d.authors}::int, ${d.negative}::int, ${d.last.toISOString()}::timestamptz, ${d.address}::text)`,
            ),
            sql`, `,
          )}) as v(id, dm, da, dn, last, addr)
          where i.id = v.id`);
      if (events.length) await tx.insert(s.incidentEvents).values(events);
      await tx.execute(sql`
        update messages m set state = 'routed', state_changed_at = ${now.toISOString()}::timestamptz,
          routed_at = ${now.toISOString()}::timestamptz, incident_id = v.inc
        from (values ${sql.join(
          placed.map((p) => sql`(${p.id}::bigint, ${p.incidentId}::bigint)`),
          sql`, `,
        )}) as v(id, inc)
        where m.id = v.id`);
      return outcomes;
    });
  }

  type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

  async function openIncident(
    tx: Tx,
    msg: typeof s.messages.$inferSelect,
    sector: SectorCode,
    municipality: string | null,
    ctx: RouteContext,
    events: (typeof s.incidentEvents.$inferInsert)[],
  ): Promise<number> {
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
    // A low-confidence sector is not guessed into an agency: a person in the sector block decides.
    const route: ReturnType<typeof decideRoute> = msg.needsReview
      ? {
          kind: 'sector_block',
          sector,
          reason: `низкая уверенность классификации (${((msg.sectorScore ?? 0) * 100).toFixed(0)} %): нужна проверка человеком`,
        }
      : decideRoute(
          // A rule pointing at a deactivated agency does not route: the next rule, or the sector block, does.
          ctx.ref.routingRules
            .filter((r) => ctx.ref.agencies.get(r.agencyId)?.active !== false)
            .map((r) => ({ ...r, sector: r.sector as SectorCode })),
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
    const incidentId = inc!.id;
    events.push({
      incidentId,
      type: 'created',
      toStatus: 'new',
      actor: SYSTEM,
      data: { messageId: msg.id, sector, municipality },
    });
    events.push(
      route.kind === 'agency'
        ? {
            incidentId,
            type: 'status_changed',
            fromStatus: 'new',
            toStatus: 'assigned',
            actor: SYSTEM,
            data: { agencyId, ruleId: route.ruleId },
          }
        : {
            incidentId,
            type: 'routed_to_sector_block',
            actor: SYSTEM,
            data: { sector, reason: route.reason },
          },
    );
    return incidentId;
  }

  return {
    routeMessages: (ids, ctx) => (ids.length ? routeBatch(ids, ctx) : Promise.resolve([])),

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
        conds.push(sql`(${s.incidents.status} in (${openStatusesSql()}) and ${s.incidents.pausedAt} is null
          and (${s.incidents.resolutionDue} < ${now.toISOString()}::timestamptz
               or (${s.incidents.firstRespondedAt} is null
                   and ${s.incidents.firstResponseDue} < ${now.toISOString()}::timestamptz)))`);
      if (f.channel?.length) conds.push(inArray(s.incidents.channelKind, f.channel));
      if (f.sentiment)
        conds.push(
          sql`exists (select 1 from messages m where m.incident_id = ${s.incidents.id} and m.sentiment = ${f.sentiment})`,
        );
      if (f.q?.trim()) {
        const q = f.q.trim().slice(0, 200);
        conds.push(
          sql`(to_tsvector('russian', ${s.incidents.summary}) @@ plainto_tsquery('russian', ${q})
               or exists (select 1 from messages m where m.incident_id = ${s.incidents.id}
                          and to_tsvector('russian', m.text) @@ plainto_tsquery('russian', ${q})))`,
        );
      }
      const inScope = f.scope ? scopeCondition(f.scope) : undefined;
      if (inScope) conds.push(inScope);
      if (f.createdFrom) conds.push(gte(s.incidents.createdAt, f.createdFrom));
      if (f.createdTo) conds.push(lt(s.incidents.createdAt, f.createdTo));
      const where = conds.length ? and(...conds) : undefined;
      const order =
        f.sort === 'deadline'
          ? [asc(s.incidents.resolutionDue), asc(s.incidents.id)]
          : f.sort === '-updated'
            ? [desc(s.incidents.updatedAt), desc(s.incidents.id)]
            : [desc(s.incidents.lastMessageAt), desc(s.incidents.id)];
      const [items, [count]] = await Promise.all([
        db
          .select()
          .from(s.incidents)
          .where(where)
          .orderBy(...order)
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
      // Loaded before the row lock: a reopening needs the policy and the calendar.
      const sla = to === 'reopened' ? await slaContext() : undefined;
      return db.transaction(async (tx) => {
        const [inc] = await tx.select().from(s.incidents).where(eq(s.incidents.id, id)).for('update');
        if (!inc) return { ok: false as const, reason: `incident ${id} not found` };
        const at = new Date();
        const r = transition(inc.status as IncidentStatus, to, { actor, at, reason });
        if (!r.ok) return { ok: false as const, reason: r.reason };
        const patch: Partial<typeof s.incidents.$inferInsert> = {
          status: to,
          updatedAt: at,
          resolvedAt: to === 'resolved' ? at : to === 'reopened' ? null : inc.resolvedAt,
        };
        const data: Record<string, unknown> = reason ? { reason } : {};
        if (to === 'reopened' && sla) {
          // A fresh resolution clock from now: its own deadline, breach mark and reminders (their outbox
          // keys carry `resolutionStartedAt`). The citizen has answered, so a question still waiting ends.
          patch.resolutionStartedAt = at;
          patch.resolutionBreachedAt = null;
          const policy = policyOf(sla.ref, inc.channelKind);
          if (inc.pausedAt) {
            patch.pausedAt = null;
            patch.pauses = [...inc.pauses, { from: inc.pausedAt.toISOString(), to: at.toISOString() }];
            // As a resume does: the first-response deadline moves by the pauses too.
            const [first] = await tx
              .select({ at: sql<string>`min(${s.messages.receivedAt})` })
              .from(s.messages)
              .where(eq(s.messages.incidentId, id));
            if (policy && first?.at)
              patch.firstResponseDue = computeDeadlines(
                policy,
                new Date(first.at),
                sla.calendar,
                patch.pauses.map((p) => ({ from: new Date(p.from), to: new Date(p.to) })),
              ).firstResponseDue;
          }
          if (policy) {
            patch.resolutionDue = computeDue(policy.resolution, at, sla.calendar);
            data.resolutionDue = patch.resolutionDue.toISOString();
          }
        }
        const [updated] = await tx.update(s.incidents).set(patch).where(eq(s.incidents.id, id)).returning();
        await tx.insert(s.incidentEvents).values({
          incidentId: id,
          type: 'status_changed',
          fromStatus: inc.status,
          toStatus: to,
          actor,
          at,
          data,
        });
        if (patch.pausedAt === null && inc.pausedAt)
          await tx.insert(s.incidentEvents).values({
            incidentId: id,
            type: 'sla_resumed',
            actor,
            at,
            data: { pausedFrom: inc.pausedAt.toISOString(), reason: 'reopened' },
          });
        return { ok: true as const, incident: updated! };
      });
    },

    async addEvent(incidentId, type, actor, data = {}) {
      await db.insert(s.incidentEvents).values({ incidentId, type, actor, data });
    },

    async reassign(id, agencyId, actor, reason, sector) {
      return db.transaction(async (tx) => {
        const [inc] = await tx.select().from(s.incidents).where(eq(s.incidents.id, id)).for('update');
        if (!inc) return undefined;
        const at = new Date();
        const status = inc.status as IncidentStatus;
        const to: IncidentStatus = transition(status, 'assigned', { actor, at }).ok ? 'assigned' : status;
        const [updated] = await tx
          .update(s.incidents)
          .set({ agencyId, status: to, updatedAt: at, ...(sector ? { sector } : {}) })
          .where(eq(s.incidents.id, id))
          .returning();
        const sectorMoved = sector !== undefined && sector !== inc.sector;
        await tx.insert(s.incidentEvents).values({
          incidentId: id,
          type: 'reassigned',
          actor,
          at,
          data: {
            from: inc.agencyId,
            to: agencyId,
            ...(reason ? { reason } : {}),
            ...(sectorMoved ? { fromSector: inc.sector, toSector: sector } : {}),
          },
        });
        if (to !== status)
          await tx
            .insert(s.incidentEvents)
            .values({ incidentId: id, type: 'status_changed', fromStatus: status, toStatus: to, actor, at });
        return updated;
      });
    },

    async setFields(id, fields) {
      const set: Partial<typeof s.incidents.$inferInsert> = { updatedAt: new Date() };
      if (fields.result !== undefined) set.result = fields.result;
      if (fields.sensitive !== undefined) set.sensitive = fields.sensitive;
      const conds = [eq(s.incidents.id, id)];
      if (fields.firstRespondedAt) {
        await db
          .update(s.incidents)
          .set({ firstRespondedAt: fields.firstRespondedAt })
          .where(and(eq(s.incidents.id, id), isNull(s.incidents.firstRespondedAt)));
      }
      const [row] = await db
        .update(s.incidents)
        .set(set)
        .where(and(...conds))
        .returning();
      return row;
    },

    async pause(id, actor, at = new Date()) {
      return db.transaction(async (tx) => {
        const rows = await tx
          .update(s.incidents)
          .set({ pausedAt: at, updatedAt: at })
          .where(and(eq(s.incidents.id, id), isNull(s.incidents.pausedAt)))
          .returning({ id: s.incidents.id });
        if (!rows.length) return false;
        await tx.insert(s.incidentEvents).values({ incidentId: id, type: 'sla_paused', actor, at, data: {} });
        return true;
      });
    },

    async resume(id, actor, ctx, at = new Date(), opts = {}) {
      if (opts.authorIds && opts.authorIds.length === 0) return false;
      return db.transaction(async (tx) => {
        const [inc] = await tx.select().from(s.incidents).where(eq(s.incidents.id, id)).for('update');
        if (!inc?.pausedAt) return false;
        if (opts.authorIds) {
          // Only a citizen who was asked restarts the clock: one who wrote to the incident before the pause.
          const [asked] = await tx
            .select({ id: s.messages.id })
            .from(s.messages)
            .where(
              and(
                eq(s.messages.incidentId, id),
                inArray(s.messages.authorId, [...opts.authorIds]),
                sql`coalesce(${s.messages.routedAt}, ${s.messages.receivedAt}) <= ${inc.pausedAt.toISOString()}::timestamptz`,
              ),
            )
            .limit(1);
          if (!asked) return false;
        }
        const end = at < inc.pausedAt ? inc.pausedAt : at;
        const pauses = [...inc.pauses, { from: inc.pausedAt.toISOString(), to: end.toISOString() }];
        const [first] = await tx
          .select({ at: sql<string>`min(${s.messages.receivedAt})` })
          .from(s.messages)
          .where(eq(s.messages.incidentId, id));
        const policy = policyOf(ctx.ref, inc.channelKind);
        const patch: Partial<typeof s.incidents.$inferInsert> = { pausedAt: null, pauses, updatedAt: at };
        if (policy && first?.at) {
          const stretches = pauses.map((p) => ({ from: new Date(p.from), to: new Date(p.to) }));
          patch.firstResponseDue = computeDeadlines(
            policy,
            new Date(first.at),
            ctx.calendar,
            stretches,
          ).firstResponseDue;
          // After a reopening the resolution clock runs from the reopening, moved by the pauses since.
          patch.resolutionDue = computeDeadlines(
            policy,
            inc.resolutionStartedAt ?? new Date(first.at),
            ctx.calendar,
            stretches,
          ).resolutionDue;
        }
        await tx.update(s.incidents).set(patch).where(eq(s.incidents.id, id));
        await tx.insert(s.incidentEvents).values({
          incidentId: id,
          type: 'sla_resumed',
          actor,
          at,
          data: {
            pausedFrom: inc.pausedAt.toISOString(),
            resolutionDue: patch.resolutionDue?.toISOString(),
            ...(opts.reason ? { reason: opts.reason } : {}),
          },
        });
        return true;
      });
    },

    pausedSince: (before, limit) =>
      db
        .select()
        .from(s.incidents)
        .where(and(inArray(s.incidents.status, [...OPEN_STATUSES]), lt(s.incidents.pausedAt, before)))
        .orderBy(s.incidents.pausedAt, s.incidents.id)
        .limit(limit),

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
      const t = now.toISOString();
      return db
        .select()
        .from(s.incidents)
        .where(
          and(
            isNull(s.incidents.pausedAt),
            inArray(s.incidents.status, [...OPEN_STATUSES]),
            sql`((${s.incidents.firstResponseBreachedAt} is null and ${s.incidents.firstRespondedAt} is null
                  and ${s.incidents.firstResponseDue} < ${t}::timestamptz)
                 or (${s.incidents.resolutionBreachedAt} is null and ${s.incidents.resolutionDue} < ${t}::timestamptz))`,
          ),
        )
        .orderBy(s.incidents.firstResponseDue, s.incidents.id)
        .limit(limit);
    },

    async markBreached(id, at, which) {
      const t = at.toISOString();
      const [mark, still] =
        which === 'first_response'
          ? [
              s.incidents.firstResponseBreachedAt,
              sql`${s.incidents.firstRespondedAt} is null and ${s.incidents.firstResponseDue} < ${t}::timestamptz`,
            ]
          : [s.incidents.resolutionBreachedAt, sql`${s.incidents.resolutionDue} < ${t}::timestamptz`];
      return db.transaction(async (tx) => {
        const rows = await tx
          .update(s.incidents)
          .set({
            ...(which === 'first_response' ? { firstResponseBreachedAt: at } : { resolutionBreachedAt: at }),
            breachedAt: sql`coalesce(${s.incidents.breachedAt}, ${t}::timestamptz)`,
          })
          .where(
            and(
              eq(s.incidents.id, id),
              isNull(mark),
              isNull(s.incidents.pausedAt),
              inArray(s.incidents.status, [...OPEN_STATUSES]),
              still,
            ),
          )
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

    openIncidents: (limit) =>
      db
        .select()
        .from(s.incidents)
        .where(inArray(s.incidents.status, [...OPEN_STATUSES]))
        .orderBy(s.incidents.resolutionDue)
        .limit(limit),

    async countByStatus() {
      const rows = await db
        .select({ status: s.incidents.status, n: sql<number>`count(*)`.mapWith(Number) })
        .from(s.incidents)
        .groupBy(s.incidents.status);
      return Object.fromEntries(rows.map((r) => [r.status, r.n]));
    },
  };
}
