/**
 * Analytics over the same data staff work on: slices (a measure grouped by up to two dimensions and a time
 * bucket, filtered by any of them), agency ratings (a documented weighted formula), and workload. Plain SQL
 * with whitelisted columns; every value is a bound parameter.
 *
 * Rollups (migration 0006_rollups). The counting measures are answered from daily rollups keyed by the
 * Barnaul day and every dimension value: `analytics_messages_daily` (day, source, sector, municipality,
 * sentiment, agency, status → messages), `analytics_authors_daily` (the same plus the author, for distinct
 * authors) and `analytics_incidents_daily` (day, sector, municipality, agency, channel, derived sentiment,
 * status → incidents). A message's agency and status are its incident's; its channel is joined from
 * `sources` at read time (the rollup keeps the source id).
 * - Exactly consistent: statement-level triggers on `messages` and `incidents` append signed deltas (old
 *   values −1, new values +1, grouped per statement) to two append-only change logs, so ingest and routing
 *   never wait on a hot rollup row; a status change or reassignment moves the incident's messages along.
 *   Each read first folds the logs into the rollups (`analytics_fold()`: one folder at a time, rows that
 *   reach zero removed) and then also adds what is still in the logs, so the answer equals the raw SQL over
 *   the same snapshot even while another session folds or writes.
 * - Whole days of the window come from the rollup; the partial days at its edges (the default window is
 *   «now − 30 days» to «now») from the raw tables, in the same statement.
 * - Medians, the within-deadline share and satisfaction are not additive and meet the target raw; they,
 *   and windows without a whole day, read the raw tables. `{ rollups: false }` answers everything raw.
 */
import { sql, type SQL } from 'drizzle-orm';
import type { Database } from './db.ts';

/** The most rows a slice answers; one more is read so a caller can tell that rows were cut. */
export const SLICE_MAX_ROWS = 5000;
export const DIMENSIONS = ['sector', 'municipality', 'agency', 'channel', 'sentiment', 'status'] as const;
export type Dimension = (typeof DIMENSIONS)[number];
export const MEASURES = [
  'messages',
  'authors',
  'incidents',
  'first_response_hours',
  'resolution_hours',
  'within_deadline_share',
  'satisfaction',
] as const;
export type Measure = (typeof MEASURES)[number];
export type Period = 'day' | 'week' | 'month';

/** Message measures count messages (by received time); the others count incidents (by creation time). */
const MESSAGE_MEASURES: readonly Measure[] = ['messages', 'authors'];

export interface SliceQuery {
  measure: Measure;
  by: Dimension[];
  period?: Period;
  from: Date;
  to: Date;
  filters: Partial<Record<Dimension, string[]>>;
}

export interface SliceRow {
  keys: Partial<Record<Dimension | 'period', string | null>>;
  value: number | null;
  /** How many rows (messages or incidents) the value is computed over. */
  n: number;
}

function column(d: Dimension, onMessages: boolean): SQL {
  switch (d) {
    case 'sector':
      return onMessages ? sql`m.sector` : sql`i.sector`;
    case 'municipality':
      return onMessages ? sql`m.municipality` : sql`i.municipality`;
    case 'agency':
      return sql`i.agency_id`;
    case 'channel':
      return onMessages ? sql`so.channel_kind` : sql`i.channel_kind`;
    case 'sentiment':
      return onMessages
        ? sql`m.sentiment`
        : sql`(case when i.negative_count * 2 >= i.message_count then 'negative' else 'not_negative' end)`;
    case 'status':
      return sql`i.status`;
  }
}

function measureExpr(m: Measure): SQL {
  switch (m) {
    case 'messages':
      return sql`count(*)::float8`;
    case 'authors':
      return sql`count(distinct m.author_id)::float8`;
    case 'incidents':
      return sql`count(*)::float8`;
    case 'first_response_hours':
      return sql`(percentile_cont(0.5) within group (order by extract(epoch from (i.first_responded_at - i.created_at)) / 3600))::float8`;
    case 'resolution_hours':
      return sql`(percentile_cont(0.5) within group (order by extract(epoch from (i.resolved_at - i.created_at)) / 3600))::float8`;
    case 'within_deadline_share':
      // Rejected and spam incidents are never resolved and are not late: they are left out.
      return sql`avg(case when i.status in ('rejected', 'spam') then null
                          when i.resolved_at is not null then (i.resolved_at <= i.resolution_due)::int
                          when i.resolution_due < now() then 0 end)::float8`;
    case 'satisfaction':
      return sql`avg(sat.score)::float8`;
  }
}

export interface AnalyticsStore {
  slice(q: SliceQuery): Promise<SliceRow[]>;
  /** Folds the change logs into the rollups now (every slice does it first); returns the log rows moved. */
  refresh(): Promise<number>;
  ratings(from: Date, to: Date, weights: RatingWeights): Promise<RatingItem[]>;
  workload(now: Date, growthDays: number): Promise<{ sectors: WorkloadRow[]; agencies: WorkloadRow[] }>;
}

export interface RatingWeights {
  quantity: number;
  speed_first_response: number;
  speed_within_deadline: number;
  quality_satisfaction: number;
  quality_not_reopened: number;
  completeness_answered: number;
  completeness_result: number;
}

/** The defaults (editable in settings `rating_weights`); they sum to 1. */
export const DEFAULT_RATING_WEIGHTS: RatingWeights = {
  quantity: 0.1,
  speed_first_response: 0.15,
  speed_within_deadline: 0.2,
  quality_satisfaction: 0.2,
  quality_not_reopened: 0.1,
  completeness_answered: 0.15,
  completeness_result: 0.1,
};

export interface RatingItem {
  agencyId: string;
  name: string;
  level: string;
  incidents: number;
  medianFirstResponseHours: number | null;
  withinDeadlineShare: number | null;
  meanSatisfaction: number | null;
  reopenedShare: number | null;
  answeredShare: number | null;
  resultShare: number | null;
  /** 0..100 */
  score: number;
  /** Each component's normalised value (0..1) and its weighted contribution to the score. */
  breakdown: Record<keyof RatingWeights, { value: number; points: number }>;
}

export interface WorkloadRow {
  key: string;
  name: string;
  backlog: number;
  incomingPerDay: number;
  overdue: number;
  staff: number;
  perStaff: number | null;
  /** Backlog at the end of each of the last days, oldest first. */
  backlogTrend: number[];
  /** The backlog grew every day of the last `growthDays` days. */
  staffingFlag: boolean;
}

export interface AnalyticsStoreOptions {
  /** Answer the counting measures from the rollups; false → raw SQL for everything. @defaultValue true */
  rollups?: boolean;
}

/** A rollup: its table, its change log (the same columns), and where each dimension lives in a row `r`. */
interface Rollup {
  table: SQL;
  log: SQL;
  columns: SQL;
  /** Rows carry the author: the measure counts distinct authors. */
  authors: boolean;
  dim(d: Dimension): SQL;
  /** The dimension needs `sources so` joined. */
  needsSource(d: Dimension): boolean;
}

const messageRollupDim = (d: Dimension): SQL =>
  d === 'channel' ? sql`so.channel_kind` : d === 'agency' ? sql`r.agency_id` : sql.raw(`r.${d}`);

const ROLLUPS: Partial<Record<Measure, Rollup>> = {
  messages: {
    table: sql`analytics_messages_daily`,
    log: sql`analytics_message_log`,
    columns: sql`day, source_id, sector, municipality, sentiment, agency_id, status, n`,
    authors: false,
    dim: messageRollupDim,
    needsSource: (d) => d === 'channel',
  },
  authors: {
    table: sql`analytics_authors_daily`,
    log: sql`analytics_message_log`,
    columns: sql`day, source_id, sector, municipality, sentiment, agency_id, status, author_id, n`,
    authors: true,
    dim: messageRollupDim,
    needsSource: (d) => d === 'channel',
  },
  incidents: {
    table: sql`analytics_incidents_daily`,
    log: sql`analytics_incident_log`,
    columns: sql`day, sector, municipality, agency_id, channel_kind, sentiment, status, n`,
    authors: false,
    dim: (d) =>
      d === 'channel' ? sql`r.channel_kind` : d === 'agency' ? sql`r.agency_id` : sql.raw(`r.${d}`),
    needsSource: () => false,
  },
};

/** A fold that moved this many log rows is a bulk load: vacuum and analyze the rollups after it. */
const BULK_FOLD = 100_000;
/** Vacuum the change logs (deleted rows) after this many rows were folded by this process. */
const VACUUM_LOGS_EVERY = 10_000;

const inList = (col: SQL, values: string[]) =>
  sql`${col} in (${sql.join(
    values.map((v) => sql`${v}`),
    sql`, `,
  )})`;

const aliases = (n: number) => Array.from({ length: n }, (_, i) => sql.raw(`k${i}`));
const ordinals = (n: number) =>
  sql.join(
    Array.from({ length: n }, (_, i) => sql.raw(String(i + 1))),
    sql`, `,
  );
/** `order by value desc nulls last, k0, k1…`: ties in a stable order, the same on both paths. */
const orderBy = (n: number) =>
  sql`order by value desc nulls last${n ? sql`, ${sql.join(aliases(n), sql`, `)}` : sql``}`;

/** The raw-SQL pieces of a slice: FROM, time column, dimension columns, time bucket, filter conditions. */
function rawParts(q: SliceQuery) {
  const onMessages = MESSAGE_MEASURES.includes(q.measure);
  const time = onMessages ? sql`m.received_at` : sql`i.created_at`;
  const filters: SQL[] = [];
  for (const [d, values] of Object.entries(q.filters) as [Dimension, string[]][])
    if (values?.length) filters.push(inList(column(d, onMessages), values));
  // Messages join their incident (and source) only when a dimension or filter needs it.
  const used = new Set<Dimension>([
    ...q.by,
    ...(Object.keys(q.filters) as Dimension[]).filter((d) => q.filters[d]?.length),
  ]);
  const needIncident = used.has('agency') || used.has('status');
  const needSource = used.has('channel');
  const from = onMessages
    ? sql`messages m${needSource ? sql` join sources so on so.id = m.source_id` : sql``}${needIncident ? sql` left join incidents i on i.id = m.incident_id` : sql``}`
    : q.measure === 'satisfaction'
      ? sql`incidents i join satisfaction sat on sat.incident_id = i.id`
      : sql`incidents i`;
  return {
    time,
    from,
    filters,
    dims: q.by.map((d) => column(d, onMessages)),
    bucket: q.period ? sql`date_trunc(${q.period}, ${time} at time zone 'Asia/Barnaul')` : undefined,
  };
}

const between = (time: SQL, from: Date, to: Date) =>
  sql`${time} >= ${from.toISOString()}::timestamptz and ${time} < ${to.toISOString()}::timestamptz`;

function shapeRows(q: SliceQuery, rows: Record<string, unknown>[]): SliceRow[] {
  const names: (Dimension | 'period')[] = [...q.by, ...(q.period ? (['period'] as const) : [])];
  return rows.map((r) => ({
    keys: Object.fromEntries(names.map((n, idx) => [n, (r[`k${idx}`] as string | null) ?? null])),
    value: r.value === null ? null : Number(r.value),
    n: Number(r.n),
  }));
}

export function createAnalyticsStore(database: Database, opts: AnalyticsStoreOptions = {}): AnalyticsStore {
  const useRollups = opts.rollups ?? true;
  let foldedSinceVacuum = 0;

  /** After a fold that moved rows: vacuums the logs now and then, and everything after a bulk load. */
  async function afterFold(moved: number) {
    if (moved <= 0) return;
    foldedSinceVacuum += moved;
    // Folded log rows are dead rows: without a vacuum the logs (read by every slice) only grow. The
    // server's autovacuum would do it too, if it runs; these statements are cheap on small tables.
    try {
      if (moved >= BULK_FOLD) {
        foldedSinceVacuum = 0;
        await database.query(
          'vacuum (analyze) analytics_message_log, analytics_incident_log, analytics_messages_daily, analytics_authors_daily, analytics_incidents_daily',
          [],
        );
      } else if (foldedSinceVacuum >= VACUUM_LOGS_EVERY) {
        foldedSinceVacuum = 0;
        await database.query('vacuum analytics_message_log, analytics_incident_log', []);
      }
    } catch {
      /* maintenance only: the answer does not depend on it */
    }
  }

  async function rawSlice(q: SliceQuery): Promise<SliceRow[]> {
    const p = rawParts(q);
    const keys = [...p.dims, ...(p.bucket ? [sql`to_char(${p.bucket}, 'YYYY-MM-DD')`] : [])];
    const select = keys.length
      ? sql.join(
          keys.map((k, idx) => sql`${k} as k${sql.raw(String(idx))}`),
          sql`, `,
        )
      : sql`null as k0`;
    const rows = await database.rows<Record<string, unknown>>(sql`
      select ${select}, ${measureExpr(q.measure)} as value, count(*)::int as n
      from ${p.from}
      where ${sql.join([between(p.time, q.from, q.to), ...p.filters], sql` and `)}
      ${keys.length ? sql`group by ${ordinals(keys.length)}` : sql``}
      ${orderBy(keys.length || 1)}
      limit ${SLICE_MAX_ROWS + 1}`);
    return shapeRows(q, rows);
  }

  async function rollupSlice(q: SliceQuery, spec: Rollup): Promise<SliceRow[]> {
    // Fold the logs, and find the whole Barnaul days [d1, d2) inside the window and where they begin and end.
    const [b] = await database.rows<{ moved: number; d1: string; d2: string; t1: number; t2: number }>(sql`
      select analytics_fold() as moved, to_char(d1, 'YYYY-MM-DD') as d1, to_char(d2, 'YYYY-MM-DD') as d2,
             (extract(epoch from d1::timestamp at time zone 'Asia/Barnaul') * 1000)::float8 as t1,
             (extract(epoch from d2::timestamp at time zone 'Asia/Barnaul') * 1000)::float8 as t2
      from (select case when lf = date_trunc('day', lf) then lf::date else lf::date + 1 end as d1,
                   (${q.to.toISOString()}::timestamptz at time zone 'Asia/Barnaul')::date as d2
            from (select ${q.from.toISOString()}::timestamptz at time zone 'Asia/Barnaul' as lf) a) x`);
    await afterFold(Number(b!.moved));
    if (b!.d1 >= b!.d2) return rawSlice(q); // not one whole day: the raw tables answer fast
    const t1 = new Date(Number(b!.t1));
    const t2 = new Date(Number(b!.t2));

    const p = rawParts(q);
    const nk = q.by.length + (q.period ? 1 : 0);
    const rollKeys = [
      ...q.by.map((d) => spec.dim(d)),
      ...(q.period ? [sql`date_trunc(${q.period}, r.day::timestamp)`] : []),
    ];
    const rawKeys = [...p.dims, ...(p.bucket ? [p.bucket] : [])];
    const filterDims = (Object.keys(q.filters) as Dimension[]).filter((d) => q.filters[d]?.length);
    const rollFilters = filterDims.map((d) => inList(spec.dim(d), q.filters[d]!));
    const needSource = [...q.by, ...filterDims].some((d) => spec.needsSource(d));
    const select = (ks: SQL[], author: SQL | undefined, n: SQL) =>
      sql.join(
        [
          ...ks.map((k, i) => sql`${k} as k${sql.raw(String(i))}`),
          ...(author ? [sql`${author} as a`] : []),
          n,
        ],
        sql`, `,
      );
    const groupCount = nk + (spec.authors ? 1 : 0);
    const group = groupCount ? sql`group by ${ordinals(groupCount)}` : sql``;
    const where = (conds: SQL[]) => (conds.length ? sql`where ${sql.join(conds, sql` and `)}` : sql``);

    const days = sql`day >= ${b!.d1}::date and day < ${b!.d2}::date`;
    const parts: SQL[] = [
      sql`select ${select(rollKeys, spec.authors ? sql`r.author_id` : undefined, sql`sum(r.n) as n`)}
          from (select ${spec.columns} from ${spec.table} where ${days}
                union all
                select ${spec.columns} from ${spec.log} where ${days}) r
          ${needSource ? sql`join sources so on so.id = r.source_id` : sql``}
          ${where(rollFilters)}
          ${group}`,
    ];
    const edges: SQL[] = [];
    if (q.from < t1) edges.push(sql`(${between(p.time, q.from, t1)})`);
    if (t2 < q.to) edges.push(sql`(${between(p.time, t2, q.to)})`);
    if (edges.length)
      parts.push(sql`select ${select(rawKeys, spec.authors ? sql`m.author_id` : undefined, sql`count(*) as n`)}
          from ${p.from}
          ${where([sql`(${sql.join(edges, sql` or `)})`, ...p.filters])}
          ${group}`);
    const u = sql.join(parts, sql` union all `);

    // The period bucket travels as a timestamp and is formatted last, on the few rows left.
    const outKeys = aliases(nk).map((k, i) =>
      q.period && i === nk - 1 ? sql`to_char(${k}, 'YYYY-MM-DD') as ${k}` : sql`${k}`,
    );
    const keyList = nk ? sql.join(outKeys, sql`, `) : sql`null as k0`;
    const keysOnly = nk ? sql`${sql.join(aliases(nk), sql`, `)}, ` : sql``;
    const groupKeys = nk ? sql`group by ${ordinals(nk)}` : sql``;
    // Rows of one group may cancel out (a message moved away, still in the log): only positive totals count.
    // Distinct authors: over rows that are all positive a plain count(distinct) is exact; only when the log
    // holds a negative row in the window are the rows summed per author first. The check is part of the
    // statement (the same snapshot), and only the branch it selects runs.
    const rows = spec.authors
      ? await database.rows<Record<string, unknown>>(sql`
          with neg as materialized (select exists (select 1 from ${spec.log} where ${days} and n < 0) as v)
          select ${keyList}, value, n from (
            select ${keysOnly}count(distinct a)::float8 as value, coalesce(sum(n), 0)::int as n
            from (${u}) x where not (select v from neg) ${groupKeys} having not (select v from neg)
            union all
            select ${keysOnly}count(a)::float8, coalesce(sum(n), 0)::int
            from (select ${keysOnly}a, sum(n) as n from (${u}) x where (select v from neg)
                  group by ${ordinals(nk + 1)} having sum(n) > 0) y
            ${groupKeys} having (select v from neg)) z
          ${orderBy(nk || 1)}
          limit ${SLICE_MAX_ROWS + 1}`)
      : await database.rows<Record<string, unknown>>(sql`
          select ${keyList}, coalesce(sum(n), 0)::float8 as value, coalesce(sum(n), 0)::int as n
          from (${u}) x
          ${nk ? sql`${groupKeys} having sum(n) > 0` : sql``}
          ${orderBy(nk || 1)}
          limit ${SLICE_MAX_ROWS + 1}`);
    return shapeRows(q, rows);
  }

  return {
    async refresh() {
      const [r] = await database.rows<{ moved: number }>(sql`select analytics_fold() as moved`);
      const moved = Number(r?.moved ?? 0);
      await afterFold(moved);
      return moved;
    },

    async slice(q) {
      const spec = useRollups ? ROLLUPS[q.measure] : undefined;
      return spec ? rollupSlice(q, spec) : rawSlice(q);
    },

    async ratings(from, to, w) {
      const rows = await database.rows<{
        agency_id: string;
        name: string;
        level: string;
        incidents: number;
        median_first: number | null;
        within: number | null;
        satisfaction: number | null;
        reopened: number | null;
        answered: number | null;
        with_result: number | null;
      }>(sql`
        with inc as materialized (
          select i.id, i.agency_id, i.created_at, i.first_responded_at, i.resolved_at, i.resolution_due, i.status,
                 (i.result is not null) as has_result
          from incidents i
          where i.created_at >= ${from.toISOString()}::timestamptz and i.created_at < ${to.toISOString()}::timestamptz
            and i.agency_id is not null and i.status <> 'spam'
        ), reopened as (
          select distinct e.incident_id from incident_events e join inc on inc.id = e.incident_id
          where e.type = 'status_changed' and e.to_status = 'reopened'
        ), sat as (
          select inc.agency_id, avg(s.score)::float8 as score from satisfaction s join inc on inc.id = s.incident_id group by 1
        )
        select a.id as agency_id, a.short_name as name, a.level,
               count(inc.id)::int as incidents,
               (percentile_cont(0.5) within group (order by extract(epoch from (inc.first_responded_at - inc.created_at)) / 3600))::float8 as median_first,
               avg(case when inc.status = 'rejected' then null
                        when inc.resolved_at is not null then (inc.resolved_at <= inc.resolution_due)::int
                        when inc.resolution_due < now() then 0 end)::float8 as within,
               max(sat.score) as satisfaction,
               avg((r.incident_id is not null)::int)::float8 as reopened,
               avg((inc.first_responded_at is not null)::int)::float8 as answered,
               avg(case when inc.status in ('resolved', 'closed') then inc.has_result::int end)::float8 as with_result
        from agencies a join inc on inc.agency_id = a.id
        left join reopened r on r.incident_id = inc.id
        left join sat on sat.agency_id = a.id
        group by a.id, a.short_name, a.level`);
      // Normalise each component to 0..1 over the agencies compared — those of the same level (regional
      // bodies and municipalities are ranked apart; min–max; lower is better for time).
      const norm = (vals: (number | null)[], higherBetter: boolean) =>
        vals.map((v, i) => {
          if (v === null) return 0;
          const xs = vals.filter((x, j): x is number => x !== null && rows[j]!.level === rows[i]!.level);
          const lo = Math.min(...xs);
          const hi = Math.max(...xs);
          if (hi === lo) return 1;
          const t = (v - lo) / (hi - lo);
          return higherBetter ? t : 1 - t;
        });
      const comps: Record<keyof RatingWeights, number[]> = {
        quantity: norm(
          rows.map((r) => r.incidents),
          true,
        ),
        speed_first_response: norm(
          rows.map((r) => r.median_first),
          false,
        ),
        speed_within_deadline: rows.map((r) => r.within ?? 0),
        quality_satisfaction: rows.map((r) => (r.satisfaction === null ? 0 : (r.satisfaction - 1) / 4)),
        quality_not_reopened: rows.map((r) => 1 - (r.reopened ?? 0)),
        completeness_answered: rows.map((r) => r.answered ?? 0),
        completeness_result: rows.map((r) => r.with_result ?? 0),
      };
      const total = Object.values(w).reduce((a, b) => a + b, 0) || 1;
      return rows.map((r, i) => {
        const breakdown = Object.fromEntries(
          (Object.keys(w) as (keyof RatingWeights)[]).map((k) => {
            const value = comps[k][i]!;
            return [
              k,
              {
                value: Math.round(value * 1000) / 1000,
                points: Math.round(((value * w[k]) / total) * 10000) / 100,
              },
            ];
          }),
        ) as RatingItem['breakdown'];
        const score = Math.round(Object.values(breakdown).reduce((a, b) => a + b.points, 0) * 100) / 100;
        return {
          agencyId: r.agency_id,
          name: r.name,
          level: r.level,
          incidents: r.incidents,
          medianFirstResponseHours: r.median_first,
          withinDeadlineShare: r.within,
          meanSatisfaction: r.satisfaction,
          reopenedShare: r.reopened,
          answeredShare: r.answered,
          resultShare: r.with_result,
          score,
          breakdown,
        };
      });
    },

    async workload(now, growthDays) {
      const days = Math.max(growthDays, 7);
      const at = (back: number) => new Date(now.getTime() - back * 86_400_000).toISOString();
      // One pass over the incidents: the backlog at the end of each of the last days is «created by then and
      // not resolved by then» — a filtered count per day, no join per day.
      const trendCols = sql.join(
        Array.from({ length: days + 1 }, (_, b) => {
          const t = at(days - b);
          return sql`count(*) filter (where i.created_at <= ${t}::timestamptz and (i.resolved_at is null or i.resolved_at > ${t}::timestamptz))::int as ${sql.raw(`b${b}`)}`;
        }),
        sql`, `,
      );
      const run = async (key: SQL, nameSql: SQL, staffSql: SQL) =>
        database.rows<Record<string, unknown>>(sql`
          with w as (
            select ${key} as key,
                   count(*) filter (where i.status in ('new','assigned','in_progress','answered','reopened'))::int as backlog,
                   count(*) filter (where i.created_at > ${at(7)}::timestamptz)::float8 / 7 as incoming,
                   count(*) filter (where i.status in ('new','assigned','in_progress','answered','reopened') and i.paused_at is null and i.resolution_due < ${now.toISOString()}::timestamptz)::int as overdue,
                   ${trendCols}
            from incidents i
            where i.status not in ('spam', 'rejected') and (i.resolved_at is null or i.resolved_at > ${at(days)}::timestamptz)
            group by 1
          )
          select w.*, ${nameSql} as name, ${staffSql} as staff from w where w.key is not null`);
      const shape = (r: Record<string, unknown>): WorkloadRow => {
        const trend = Array.from({ length: days + 1 }, (_, b) => Number(r[`b${b}`]));
        const last = trend.slice(-(growthDays + 1));
        const growing = last.length > growthDays && last.every((v, i) => i === 0 || v > last[i - 1]!);
        const backlog = Number(r.backlog);
        const staff = Number(r.staff);
        return {
          key: String(r.key),
          name: String(r.name ?? r.key),
          backlog,
          incomingPerDay: Math.round(Number(r.incoming) * 100) / 100,
          overdue: Number(r.overdue),
          staff,
          perStaff: staff ? Math.round((backlog / staff) * 100) / 100 : null,
          backlogTrend: trend,
          staffingFlag: growing,
        };
      };
      const sectors = await run(
        sql`i.sector`,
        sql`(select name from sector_blocks b where b.code = w.key)`,
        sql`(select count(distinct r.user_id)::int from staff_roles r join staff_users u on u.id = r.user_id and u.active
             where r.sector = w.key and r.role in ('sector_responsible', 'sector_head'))`,
      );
      const agencies = await run(
        sql`i.agency_id`,
        sql`(select short_name from agencies a where a.id = w.key)`,
        sql`(select count(distinct r.user_id)::int from staff_roles r join staff_users u on u.id = r.user_id and u.active
             where r.agency_id = w.key)`,
      );
      return { sectors: sectors.map(shape), agencies: agencies.map(shape) };
    },
  };
}
