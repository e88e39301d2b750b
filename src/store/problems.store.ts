/**
 * The problem map (incidents per municipality: per 10,000 residents, share overdue) and the top recurring
 * problems (incidents about the same object or the same subject over a period, with the previous period
 * and a weekly series). Plain SQL with bound parameters; the grouping of top problems is done in memory.
 */
import { sql, type SQL } from 'drizzle-orm';
import { REGION_UTC_OFFSET_MINUTES } from '../domain/calendar.ts';
import { normalizeAddress } from '../domain/grouping.ts';
import { isOpenStatus, INCIDENT_STATUSES } from '../domain/incident-status.ts';
import type { Database } from './db.ts';

export const MAP_MEASURES = ['per10k', 'overdue_share'] as const;
export type MapMeasure = (typeof MAP_MEASURES)[number];

const OPEN = INCIDENT_STATUSES.filter(isOpenStatus);

/** Written into the README and the API answer, so the number on the map is never a guess. */
export const MAP_DEFINITIONS: Readonly<Record<MapMeasure, string>> = {
  per10k:
    'incidents created in the period (spam excluded) per 10,000 residents of the municipality (population from the municipalities table)',
  overdue_share:
    'share of the incidents created in the period (spam excluded) that are past their resolution deadline: still open and the deadline has passed, or resolved after the deadline; null where there are no incidents',
};

export interface MapQuery {
  measure: MapMeasure;
  from: Date;
  to: Date;
  sector?: string[];
  agency?: string[];
  channel?: string[];
  /**
   * Only these municipalities (a role scoped to them): the other ones are neither drawn nor counted in the
   * scale (`min`, `max`) or `unassigned`.
   */
  municipality?: string[];
  /** Moment "overdue" is judged at. @defaultValue now */
  now?: Date;
}

export interface MapItem {
  code: string;
  name: string;
  shortName: string;
  kind: string;
  population: number;
  incidents: number;
  overdue: number;
  value: number | null;
}

export interface ProblemMap {
  measure: MapMeasure;
  items: MapItem[];
  /** Smallest and largest value over the municipalities that have one (the legend); null when none has. */
  min: number | null;
  max: number | null;
  /** Incidents of the period whose municipality is not known (not on the map). */
  unassigned: { incidents: number; overdue: number };
}

const inList = (col: SQL, values: readonly string[] | undefined): SQL | undefined =>
  values?.length
    ? sql`${col} in (${sql.join(
        values.map((v) => sql`${v}`),
        sql`, `,
      )})`
    : undefined;

export async function problemMap(db: Database, q: MapQuery): Promise<ProblemMap> {
  const now = q.now ?? new Date();
  const conds = [
    sql`i.created_at >= ${q.from.toISOString()}::timestamptz`,
    sql`i.created_at < ${q.to.toISOString()}::timestamptz`,
    sql`i.status <> 'spam'`,
    inList(sql`i.sector`, q.sector),
    inList(sql`i.agency_id`, q.agency),
    inList(sql`i.channel_kind`, q.channel),
    inList(sql`i.municipality`, q.municipality),
  ].filter((c): c is SQL => c !== undefined);
  const overdue = sql`(i.status in (${sql.join(
    OPEN.map((st) => sql`${st}`),
    sql`, `,
  )}) and i.paused_at is null and i.resolution_due < ${now.toISOString()}::timestamptz)
      or (i.resolved_at is not null and i.resolved_at > i.resolution_due)`;
  const rows = await db.rows<{
    code: string | null;
    name: string | null;
    short_name: string | null;
    kind: string | null;
    population: number | null;
    incidents: number | null;
    overdue: number | null;
  }>(sql`
    with agg as (
      select i.municipality as code, count(*)::int as incidents, count(*) filter (where ${overdue})::int as overdue
      from incidents i
      where ${sql.join(conds, sql` and `)}
      group by 1
    )
    select coalesce(m.code, agg.code) as code, m.name, m.short_name, m.kind, m.population,
           coalesce(agg.incidents, 0)::int as incidents, coalesce(agg.overdue, 0)::int as overdue
    from municipalities m full join agg on agg.code = m.code
    order by m.name nulls last`);
  const unassigned = { incidents: 0, overdue: 0 };
  const items: MapItem[] = [];
  for (const r of rows) {
    const incidents = Number(r.incidents ?? 0);
    const over = Number(r.overdue ?? 0);
    if (q.municipality && !(r.code !== null && q.municipality.includes(r.code))) continue;
    if (r.name === null || r.code === null) {
      // No municipality, or a code the reference does not know: counted, not drawn.
      unassigned.incidents += incidents;
      unassigned.overdue += over;
      continue;
    }
    const population = Number(r.population ?? 0);
    const value =
      q.measure === 'per10k'
        ? population > 0
          ? (incidents * 10_000) / population
          : null
        : incidents > 0
          ? over / incidents
          : null;
    items.push({
      code: r.code,
      name: r.name,
      shortName: r.short_name ?? r.name,
      kind: r.kind ?? '',
      population,
      incidents,
      overdue: over,
      value,
    });
  }
  const values = items.map((i) => i.value).filter((v): v is number => v !== null);
  return {
    measure: q.measure,
    items,
    min: values.length ? Math.min(...values) : null,
    max: values.length ? Math.max(...values) : null,
    unassigned,
  };
}

export type ProblemTrend = 'up' | 'down' | 'flat' | 'new';

export type TopProblem = {
  /** Stable within the data: `object:<municipality>:<normalised address>` or `subject:<sector>:<municipality>:<core terms>`. */
  key: string;
  /** The address as written (an object) or the summary of the most typical incident (a subject). */
  title: string;
  kind: 'object' | 'subject';
  /** The block of all its incidents; null for an object whose incidents are in different blocks. */
  sector: string | null;
  municipality: string | null;
  incidents: number;
  /** Messages of those incidents. */
  messages: number;
  /** Incidents of the same object or subject in the preceding period of equal length. */
  previous: number;
  trend: ProblemTrend;
  /** Incidents per week (Monday, Barnaul time, `YYYY-MM-DD`), every week the period touches. */
  weekly: { week: string; incidents: number }[];
  incidentIds: number[];
};

/** A problem is recurring from this many incidents in the period. */
export const MIN_PROBLEM_INCIDENTS = 2;
/** `up`/`down` when the count changed by at least this factor (1.25: 4 → 5 is up, 10 → 11 is flat). */
export const TREND_FACTOR = 1.25;
/**
 * Subject match: the incident's terms and the group's core terms (those of most of its incidents) share at least `SUBJECT_MIN_SHARED`
 * terms and at least `SUBJECT_OVERLAP` of the smaller set. Looser than the near-duplicate rule of
 * grouping.ts (Jaccard ≥ 0.5 within 72 h), which it contains: it links complaints weeks apart that
 * say the same thing in other words («нет горячей воды» / «отключили горячую воду на неделю»).
 */
export const SUBJECT_OVERLAP = 0.5;
export const SUBJECT_MIN_SHARED = 2;
/** Incidents that are not problems: spam and rejected appeals. */
const EXCLUDED_STATUSES = ['spam', 'rejected'];

interface Inc {
  id: number;
  sector: string;
  municipality: string | null;
  address: string | null;
  object: string;
  summary: string;
  terms: string[];
  messages: number;
  t: number;
}

interface Group {
  kind: 'object' | 'subject';
  key: string;
  members: Inc[];
  /** Subject groups: how many members carry each term. */
  termCounts: Map<string, number>;
  /** Subject groups: the core terms, until a member joins. */
  core?: Set<string>;
}

export async function topProblems(
  db: Database,
  q: { from: Date; to: Date; limit?: number; sector?: string[]; municipality?: string[] },
): Promise<TopProblem[]> {
  const from = q.from.getTime();
  const to = q.to.getTime();
  if (!(from < to)) return [];
  const prevFrom = from - (to - from);
  const conds = [
    sql`i.created_at >= ${new Date(prevFrom).toISOString()}::timestamptz`,
    sql`i.created_at < ${q.to.toISOString()}::timestamptz`,
    sql`i.status not in (${sql.join(
      EXCLUDED_STATUSES.map((st) => sql`${st}`),
      sql`, `,
    )})`,
    inList(sql`i.sector`, q.sector),
    inList(sql`i.municipality`, q.municipality),
  ].filter((c): c is SQL => c !== undefined);
  const rows = await db.rows<{
    id: number | string;
    sector: string;
    municipality: string | null;
    address: string | null;
    summary: string;
    terms: unknown;
    message_count: number | string;
    t: number | string;
  }>(sql`
    select i.id, i.sector, i.municipality, i.address, i.summary, i.terms, i.message_count,
           (extract(epoch from i.created_at) * 1000)::float8 as t
    from incidents i
    where ${sql.join(conds, sql` and `)}
    order by i.created_at, i.id`);
  const current: Inc[] = [];
  const previous: Inc[] = [];
  for (const r of rows) {
    const terms = typeof r.terms === 'string' ? (JSON.parse(r.terms) as unknown) : r.terms;
    const inc: Inc = {
      id: Number(r.id),
      sector: r.sector,
      municipality: r.municipality,
      address: r.address,
      object: objectKey(r.municipality, r.address),
      summary: r.summary,
      terms: Array.isArray(terms) ? [...new Set(terms.map(String))] : [],
      messages: Number(r.message_count),
      t: Number(r.t),
    };
    (inc.t >= from ? current : previous).push(inc);
  }

  // 1. The same object: municipality + normalised address. 2. Incidents left over (no address, or the only
  //    one at their address) join subject groups: same block and municipality, similar terms.
  const groups: Group[] = [];
  const byObject = new Map<string, Inc[]>();
  for (const inc of current)
    if (inc.object !== '') byObject.set(inc.object, [...(byObject.get(inc.object) ?? []), inc]);
  const grouped = new Set<number>();
  for (const [object, members] of byObject)
    if (members.length >= MIN_PROBLEM_INCIDENTS) {
      groups.push({ kind: 'object', key: `object:${object}`, members, termCounts: new Map() });
      for (const m of members) grouped.add(m.id);
    }
  const buckets = new Map<string, Inc[]>();
  for (const inc of current) {
    if (grouped.has(inc.id) || inc.terms.length === 0) continue;
    const b = `${inc.sector}:${inc.municipality ?? '-'}`;
    buckets.set(b, [...(buckets.get(b) ?? []), inc]);
  }
  for (const incs of buckets.values())
    for (const g of clusterBySubject(incs))
      if (g.members.length >= MIN_PROBLEM_INCIDENTS) {
        const first = g.members[0] as Inc;
        g.key = `subject:${first.sector}:${first.municipality ?? '-'}:${[...coreTerms(g)].sort().slice(0, 6).join('+')}`;
        groups.push(g);
      }

  const count = (g: Group) => g.members.length;
  const messages = (g: Group) => g.members.reduce((a, m) => a + m.messages, 0);
  const last = (g: Group) => Math.max(...g.members.map((m) => m.t));
  groups.sort(
    (a, b) =>
      count(b) - count(a) ||
      messages(b) - messages(a) ||
      last(b) - last(a) ||
      (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
  );
  const limit = Math.max(1, Math.min(q.limit ?? 10, 100));
  const weeks = weekStarts(from, to);
  return groups.slice(0, limit).map((g) => {
    const first = g.members[0] as Inc;
    const prev =
      g.kind === 'object'
        ? previous.filter((p) => p.object === first.object).length
        : previous.filter(
            (p) =>
              p.sector === first.sector &&
              p.municipality === first.municipality &&
              subjectMatch(p.terms, coreTerms(g)),
          ).length;
    const sectors = new Set(g.members.map((m) => m.sector));
    const weekly = weeks.map((w, n) => ({
      week: w.label,
      incidents: g.members.filter((m) => m.t >= w.start && m.t < (weeks[n + 1]?.start ?? Infinity)).length,
    }));
    return {
      key: g.key,
      title: title(g),
      kind: g.kind,
      sector: sectors.size === 1 ? first.sector : null,
      municipality: first.municipality,
      incidents: count(g),
      messages: messages(g),
      previous: prev,
      trend: trendOf(count(g), prev),
      weekly,
      incidentIds: g.members.map((m) => m.id),
    };
  });
}

/** `<municipality>:<normalised address>`, or '' when either is missing (an address alone is ambiguous). */
function objectKey(municipality: string | null, address: string | null): string {
  if (municipality === null || address === null) return '';
  const a = normalizeAddress(address);
  return /\p{L}/u.test(a) ? `${municipality}:${a}` : '';
}

export function trendOf(current: number, previous: number): ProblemTrend {
  if (previous === 0) return current > 0 ? 'new' : 'flat';
  if (current >= previous * TREND_FACTOR) return 'up';
  if (current * TREND_FACTOR <= previous) return 'down';
  return 'flat';
}

/** Terms carried by more than half of the group's incidents (all terms of a group of one). */
function coreTerms(g: Group): Set<string> {
  const half = g.members.length / 2;
  g.core ??= new Set([...g.termCounts].filter(([, n]) => n > half).map(([t]) => t));
  return g.core;
}

function subjectMatch(terms: readonly string[], core: ReadonlySet<string>): boolean {
  let shared = 0;
  for (const t of terms) if (core.has(t)) shared++;
  return shared >= SUBJECT_MIN_SHARED && shared >= SUBJECT_OVERLAP * Math.min(terms.length, core.size);
}

/**
 * Leader clustering in time order: each incident joins the group whose core terms it matches best (most
 * shared terms, then the earlier group), or starts a group. An inverted index of the terms keeps it near
 * linear for the large buckets (a city's housing complaints).
 */
function clusterBySubject(incs: readonly Inc[]): Group[] {
  const groups: Group[] = [];
  const index = new Map<string, Set<number>>();
  for (const inc of incs) {
    const candidates = new Set<number>();
    for (const t of inc.terms) for (const g of index.get(t) ?? []) candidates.add(g);
    let best = -1;
    let bestShared = 0;
    for (const n of [...candidates].sort((a, b) => a - b)) {
      const core = coreTerms(groups[n] as Group);
      if (!subjectMatch(inc.terms, core)) continue;
      const shared = inc.terms.filter((t) => core.has(t)).length;
      if (shared > bestShared) {
        best = n;
        bestShared = shared;
      }
    }
    if (best === -1) {
      best = groups.length;
      groups.push({ kind: 'subject', key: '', members: [], termCounts: new Map() });
    }
    const g = groups[best] as Group;
    g.members.push(inc);
    g.core = undefined;
    for (const t of inc.terms) {
      g.termCounts.set(t, (g.termCounts.get(t) ?? 0) + 1);
      const set = index.get(t) ?? new Set<number>();
      set.add(best);
      index.set(t, set);
    }
  }
  return groups;
}

function title(g: Group): string {
  const latest = [...g.members].sort((a, b) => b.t - a.t || b.id - a.id);
  if (g.kind === 'object') return (latest.find((m) => m.address)?.address ?? '').trim();
  // The most typical incident: the one sharing most core terms; the latest among equals.
  const core = coreTerms(g);
  let best = latest[0] as Inc;
  let bestShared = -1;
  for (const m of latest) {
    const shared = m.terms.filter((t) => core.has(t)).length;
    if (shared > bestShared) {
      best = m;
      bestShared = shared;
    }
  }
  return best.summary;
}

const DAY_MS = 86_400_000;
const OFFSET_MS = REGION_UTC_OFFSET_MINUTES * 60_000;

/** Mondays (Barnaul time) of every week that [from, to) touches, as instants and `YYYY-MM-DD`. */
function weekStarts(from: number, to: number): { start: number; label: string }[] {
  const mondayOf = (t: number) => {
    const day = Math.floor((t + OFFSET_MS) / DAY_MS);
    const weekday = (new Date(day * DAY_MS).getUTCDay() + 6) % 7; // Monday 0
    return day - weekday;
  };
  const out: { start: number; label: string }[] = [];
  for (let d = mondayOf(from); d <= mondayOf(to - 1); d += 7)
    out.push({ start: d * DAY_MS - OFFSET_MS, label: new Date(d * DAY_MS).toISOString().slice(0, 10) });
  return out;
}
