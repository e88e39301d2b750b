/**
 * Reference data (sources, sector blocks, agencies, routing rules, SLA policies, calendar exceptions),
 * read often and changed rarely: cached in memory and refreshed on demand or after `ttlMs`.
 */
import { asc, eq } from 'drizzle-orm';
import { createCalendar, type Calendar } from '../domain/calendar.ts';
import type { ProductionCalendarData } from '../domain/production-calendar.data.ts';
import type { Database } from './db.ts';
import * as s from './schema.ts';

export type SourceRow = typeof s.sources.$inferSelect;
export type AgencyRow = typeof s.agencies.$inferSelect;
export type SectorBlockRow = typeof s.sectorBlocks.$inferSelect;
export type RoutingRuleRow = typeof s.routingRules.$inferSelect;
export type SlaPolicyRow = typeof s.slaPolicies.$inferSelect;
export type CalendarDayRow = typeof s.calendarDays.$inferSelect;
export type CalendarYearRow = typeof s.calendarYears.$inferSelect;
export type MunicipalityRow = typeof s.municipalities.$inferSelect;

export interface ReferenceSnapshot {
  sources: Map<string, SourceRow>;
  agencies: Map<string, AgencyRow>;
  sectorBlocks: Map<string, SectorBlockRow>;
  municipalities: Map<string, MunicipalityRow>;
  routingRules: RoutingRuleRow[];
  slaPolicies: Map<string, SlaPolicyRow>;
  calendarDays: CalendarDayRow[];
  calendarYears: CalendarYearRow[];
  loadedAt: number;
}

export interface ReferenceStore {
  get(): Promise<ReferenceSnapshot>;
  invalidate(): void;
  upsertSource(row: typeof s.sources.$inferInsert): Promise<void>;
}

export function createReferenceStore(database: Database, ttlMs = 30_000): ReferenceStore {
  const { db } = database;
  let cached: ReferenceSnapshot | undefined;
  let loading: Promise<{ snap: ReferenceSnapshot; started: number }> | undefined;
  let version = 0;

  async function load(): Promise<ReferenceSnapshot> {
    const [sources, agencies, blocks, munis, rules, sla, days, years] = await Promise.all([
      db.select().from(s.sources),
      db.select().from(s.agencies),
      db.select().from(s.sectorBlocks).orderBy(asc(s.sectorBlocks.sort)),
      db.select().from(s.municipalities),
      db.select().from(s.routingRules).where(eq(s.routingRules.active, true)),
      db.select().from(s.slaPolicies),
      db.select().from(s.calendarDays),
      db.select().from(s.calendarYears),
    ]);
    return {
      sources: new Map(sources.map((r) => [r.id, r])),
      agencies: new Map(agencies.map((r) => [r.id, r])),
      sectorBlocks: new Map(blocks.map((r) => [r.code, r])),
      municipalities: new Map(munis.map((r) => [r.code, r])),
      routingRules: rules,
      slaPolicies: new Map(sla.map((r) => [r.channelKind, r])),
      calendarDays: days,
      calendarYears: years,
      loadedAt: Date.now(),
    };
  }

  return {
    async get() {
      if (cached && Date.now() - cached.loadedAt < ttlMs) return cached;
      // A load that started before a change (invalidate) must not cache what it read: load again.
      for (;;) {
        if (!loading) {
          const started = version;
          loading = load()
            .then((snap) => ({ snap, started }))
            .finally(() => (loading = undefined));
        }
        const { snap, started } = await loading;
        if (started === version) return (cached = snap);
      }
    },
    invalidate() {
      version++;
      cached = undefined;
    },
    async upsertSource(row) {
      await db
        .insert(s.sources)
        .values(row)
        .onConflictDoUpdate({
          target: s.sources.id,
          set: { platform: row.platform, channelKind: row.channelKind, name: row.name },
        });
      version++;
      cached = undefined;
    },
  };
}

/** The working-time calendar from the stored production calendar (editable data). */
export function calendarFromReference(ref: ReferenceSnapshot): Calendar {
  return createCalendar(calendarDataOf(ref));
}

/** The production-calendar data of the reference (years with their exception days). */
export function calendarDataOf(
  ref: Pick<ReferenceSnapshot, 'calendarYears' | 'calendarDays'>,
): ProductionCalendarData {
  return ref.calendarYears.map((y) => {
    const days = ref.calendarDays.filter((d) => d.day.startsWith(`${y.year}-`));
    const of = (kind: string) => days.filter((d) => d.kind === kind).map((d) => d.day);
    return {
      year: y.year,
      provisional: y.provisional,
      source: y.source,
      holidays: of('holiday'),
      workingWeekends: of('working_weekend'),
      shortDays: of('short_day'),
    };
  });
}
