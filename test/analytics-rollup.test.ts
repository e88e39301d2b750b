/**
 * The analytics rollups (migration 0006) against the raw SQL they stand in for: randomised messages and
 * incidents, changed after insert (sector, municipality, sentiment, author, time, incident; status, agency,
 * counters; deletes), every rollup measure × dimension pair × period × window, with filters, on both
 * engines; the rollup tables equal a rebuild from scratch; the change logs read while another session
 * holds the fold; a message ingested through the real pipeline counted at once.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAnalyticsStore,
  DIMENSIONS,
  MEASURES,
  type AnalyticsStore,
  type Dimension,
  type Measure,
  type Period,
  type SliceQuery,
} from '../src/store/analytics.store.ts';
import type { Database } from '../src/store/db.ts';
import { seedReferenceData } from '../src/store/seed.ts';
import { INCIDENT_STATUSES } from '../src/domain/incident-status.ts';
import {
  API_TOKEN,
  INGEST_TOKEN,
  ingestBody,
  startTestApp,
  STORE_ENGINES,
  waitFor,
  type TestApp,
} from './helpers.ts';

const DAY = 86_400_000;
const ROLLUP_MEASURES: Measure[] = ['messages', 'authors', 'incidents'];
const PERIODS: (Period | undefined)[] = [undefined, 'day', 'week', 'month'];
const BYS: Dimension[][] = [
  [],
  ...DIMENSIONS.map((d) => [d]),
  ...DIMENSIONS.flatMap((a, i) => DIMENSIONS.slice(i + 1).map((b) => [a, b])),
];

/** mulberry32: the same «random» data on every run. */
function prng(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Local midnight in Barnaul (UTC+7) `daysBack` days before today's. */
const barnaulMidnight = (now: number, daysBack: number) => {
  const local = now + 7 * 3_600_000;
  return new Date(local - (local % DAY) - 7 * 3_600_000 - daysBack * DAY);
};

describe.each(STORE_ENGINES)('analytics rollups on %s', (engine, open) => {
  let database: Database;
  let cleanup: () => Promise<void>;
  let rollup: AnalyticsStore;
  let raw: AnalyticsStore;
  const rnd = prng(20261127);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const maybe = <T>(p: number, v: () => T): T | null => (rnd() < p ? null : v());
  const now = Date.now();
  const q = <T = Record<string, unknown>>(text: string, params: unknown[] = []) =>
    database.query<T>(text, params);

  let agencies: string[] = [];
  let munis: string[] = [];
  const sectors = ['housing', 'waste', 'roads', 'health', 'transport'];
  const sources = ['api', 'pos', 'import', 'demo'];
  const sentiments = ['negative', 'neutral', 'positive'];
  let authors: number[] = [];
  const incidents: number[] = [];
  const messages: number[] = [];

  /** A time in the last 70 days; one in eight exactly at a Barnaul midnight (the edges of whole days). */
  const when = () =>
    rnd() < 0.125
      ? barnaulMidnight(now, Math.floor(rnd() * 70))
      : new Date(now - Math.floor(rnd() * 70 * DAY));

  async function addIncidents(count: number) {
    const rows = Array.from({ length: count }, () => {
      const total = 1 + Math.floor(rnd() * 6);
      return {
        status: pick(INCIDENT_STATUSES),
        sector: pick(sectors),
        municipality: maybe(0.15, () => pick(munis)),
        agency: maybe(0.2, () => pick(agencies)),
        channel: pick(['api', 'feedback_platform', 'social', 'messenger']),
        total,
        negative: Math.floor(rnd() * (total + 1)),
        at: when().toISOString(),
      };
    });
    const ids = await q<{ id: number }>(
      `insert into incidents (status, sector, municipality, agency_id, summary, channel_kind, message_count, negative_count,
                              first_message_at, last_message_at, first_response_due, resolution_due, created_at)
       select st, se, mu, ag, 'тест', ch, mc, nc, at, at, at + interval '1 day', at + interval '10 days', at
       from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::int[], $8::timestamptz[])
            as t(st, se, mu, ag, ch, mc, nc, at)
       returning id`,
      [
        rows.map((r) => r.status),
        rows.map((r) => r.sector),
        rows.map((r) => r.municipality),
        rows.map((r) => r.agency),
        rows.map((r) => r.channel),
        rows.map((r) => r.total),
        rows.map((r) => r.negative),
        rows.map((r) => r.at),
      ],
    );
    incidents.push(...ids.map((r) => Number(r.id)));
  }

  async function addMessages(count: number) {
    const rows = Array.from({ length: count }, () => {
      const at = when().toISOString();
      return {
        source: pick(sources),
        ext: `m-${rnd().toString(36).slice(2)}`,
        author: maybe(0.05, () => pick(authors)),
        at,
        sector: maybe(0.1, () => pick(sectors)),
        municipality: maybe(0.15, () => pick(munis)),
        sentiment: maybe(0.1, () => pick(sentiments)),
        incident: maybe(0.2, () => pick(incidents)),
      };
    });
    const ids = await q<{ id: number }>(
      `insert into messages (source_id, external_id, author_id, text, posted_at, received_at, sector, municipality, sentiment, incident_id, state)
       select so, ex, au, 'текст', at, at, se, mu, sn, inc, 'routed'
       from unnest($1::text[], $2::text[], $3::bigint[], $4::timestamptz[], $5::text[], $6::text[], $7::text[], $8::bigint[])
            as t(so, ex, au, at, se, mu, sn, inc)
       returning id`,
      [
        rows.map((r) => r.source),
        rows.map((r) => r.ext),
        rows.map((r) => r.author),
        rows.map((r) => r.at),
        rows.map((r) => r.sector),
        rows.map((r) => r.municipality),
        rows.map((r) => r.sentiment),
        rows.map((r) => r.incident),
      ],
    );
    messages.push(...ids.map((r) => Number(r.id)));
  }

  /** `update <table> set <column> = v.x from unnest(ids, values)` for a random sample, one statement. */
  async function updateSome<T>(
    table: 'messages' | 'incidents',
    column: string,
    type: string,
    share: number,
    value: () => T,
  ) {
    const ids = (table === 'messages' ? messages : incidents).filter(() => rnd() < share);
    await q(
      `update ${table} t set ${column} = v.x from unnest($1::bigint[], $2::${type}[]) as v(id, x) where t.id = v.id`,
      [ids, ids.map(() => value())],
    );
  }

  /** Values that exist for a dimension (the filters pick from these, plus one that matches nothing). */
  const filterValues = (d: Dimension, measure: Measure): string[] => {
    switch (d) {
      case 'sector':
        return sectors;
      case 'municipality':
        return munis;
      case 'agency':
        return agencies;
      case 'channel':
        return ['api', 'feedback_platform', 'social', 'messenger'];
      case 'sentiment':
        return measure === 'incidents' ? ['negative', 'not_negative'] : sentiments;
      case 'status':
        return [...INCIDENT_STATUSES];
    }
  };

  /** Every rollup measure × every `by` (none, one, two dimensions) × every period, windows and filters varied. */
  async function compareAll() {
    const windows: [string, Date, Date][] = [
      ['the last 30 days', new Date(now - 30 * DAY), new Date(now)],
      ['whole days', barnaulMidnight(now, 20), barnaulMidnight(now, 2)],
      ['less than a day', new Date(now - 20 * 3_600_000), new Date(now - 2 * 3_600_000)],
      ['everything', new Date(now - 80 * DAY), new Date(now + 2 * DAY)],
      ['a day and a bit', new Date(now - 40 * 3_600_000), new Date(now - 3 * 3_600_000)],
    ];
    let i = 0;
    let compared = 0;
    for (const measure of ROLLUP_MEASURES)
      for (const by of BYS)
        for (const period of PERIODS) {
          const [label, from, to] = windows[i % windows.length]!;
          const filters: SliceQuery['filters'] = {};
          if (i % 3 === 1) {
            const d = pick(DIMENSIONS);
            const vals = filterValues(d, measure);
            filters[d] = [pick(vals), pick(vals), 'nothing-matches'];
          }
          i++;
          const query: SliceQuery = { measure, by, period, from, to, filters };
          const [a, b] = [await rollup.slice(query), await raw.slice(query)];
          expect(
            a,
            `${measure} by ${by.join('×') || '—'} per ${period ?? '—'}, ${label}, ${JSON.stringify(filters)}`,
          ).toEqual(b);
          compared++;
        }
    // The other measures never read a rollup; the same answers either way.
    for (const measure of MEASURES.filter((m) => !ROLLUP_MEASURES.includes(m))) {
      const query: SliceQuery = {
        measure,
        by: ['agency'],
        from: new Date(now - 30 * DAY),
        to: new Date(now),
        filters: {},
      };
      expect(await rollup.slice(query)).toEqual(await raw.slice(query));
    }
    return compared;
  }

  /** The rollup tables' rows, in key order, for comparing with a rebuild from scratch. */
  const rollupTables = async () =>
    Promise.all(
      ['analytics_messages_daily', 'analytics_authors_daily', 'analytics_incidents_daily'].map((t) =>
        q(
          `select * from ${t} order by ${t === 'analytics_incidents_daily' ? '1, 2, 3, 4, 5, 6, 7' : '1, 2, 3, 4, 5, 6, 7, 8'}`,
        ),
      ),
    );

  beforeAll(async () => {
    ({ db: database, cleanup } = await open());
    await seedReferenceData(database);
    rollup = createAnalyticsStore(database);
    raw = createAnalyticsStore(database, { rollups: false });
    agencies = (await q<{ id: string }>('select id from agencies order by id limit 6')).map((r) => r.id);
    munis = (await q<{ code: string }>('select code from municipalities order by code limit 5')).map(
      (r) => r.code,
    );
    authors = (
      await q<{ id: number }>(
        `insert into authors (platform, external_id) select 'api', 'rollup-' || g from generate_series(1, 40) g returning id`,
      )
    ).map((r) => Number(r.id));
    for (let b = 0; b < 3; b++) await addIncidents(60);
    for (let b = 0; b < 8; b++) await addMessages(150);
  }, 120_000);
  afterAll(() => cleanup());

  it('answers as the raw SQL does after inserts: every measure × dimension pair × period', async () => {
    expect(await compareAll()).toBe(ROLLUP_MEASURES.length * BYS.length * PERIODS.length);
    // The whole-day part really came from the rollups.
    const [n] = await q<{ n: number }>('select sum(n)::int as n from analytics_messages_daily');
    expect(n!.n).toBe(messages.length);
  }, 120_000);

  it('follows updates after insert, in both tables, and deletes', async () => {
    await updateSome('messages', 'sector', 'text', 0.2, () => maybe(0.1, () => pick(sectors)));
    await updateSome('messages', 'municipality', 'text', 0.2, () => maybe(0.2, () => pick(munis)));
    await updateSome('messages', 'sentiment', 'text', 0.2, () => maybe(0.1, () => pick(sentiments)));
    await updateSome('messages', 'incident_id', 'bigint', 0.2, () => maybe(0.3, () => pick(incidents)));
    await updateSome('messages', 'author_id', 'bigint', 0.05, () => maybe(0.2, () => pick(authors)));
    await updateSome('messages', 'received_at', 'timestamptz', 0.05, () => when().toISOString());
    await updateSome('incidents', 'status', 'text', 0.3, () => pick(INCIDENT_STATUSES));
    await updateSome('incidents', 'agency_id', 'text', 0.2, () => maybe(0.2, () => pick(agencies)));
    await updateSome('incidents', 'sector', 'text', 0.1, () => pick(sectors));
    await updateSome('incidents', 'municipality', 'text', 0.1, () => maybe(0.2, () => pick(munis)));
    await updateSome('incidents', 'negative_count', 'int', 0.3, () => Math.floor(rnd() * 4));
    await updateSome('incidents', 'channel_kind', 'text', 0.05, () => pick(['api', 'social']));
    await updateSome('incidents', 'created_at', 'timestamptz', 0.05, () => when().toISOString());
    // One transaction touching both, as a staff correction does: the message first, then its incident.
    await database.db.transaction(async (tx) => {
      const id = messages[0]!;
      await tx.execute(`update messages set sentiment = 'negative', sector = 'roads' where id = ${id}`);
      await tx.execute(
        `update incidents set negative_count = negative_count + 1, status = 'reopened'
         where id = (select incident_id from messages where id = ${id})`,
      );
    });
    // Messages left pointing at a deleted incident lose its agency and status.
    const gone = incidents.splice(0, 10);
    await q('delete from incidents where id = any($1::bigint[])', [gone]);
    const dropped = messages.splice(0, 40);
    await q('delete from messages where id = any($1::bigint[])', [dropped]);
    await addIncidents(30);
    await addMessages(200);
    await compareAll();
  }, 180_000);

  it('keeps rollups equal to a rebuild from the raw tables', async () => {
    await rollup.refresh();
    const before = await rollupTables();
    await q('select analytics_rebuild()');
    expect(await rollupTables()).toEqual(before);
    // Rows that dropped to zero were removed.
    const [z] = await q<{ n: number }>(
      `select (select count(*) from analytics_messages_daily where n = 0) + (select count(*) from analytics_authors_daily where n = 0)
              + (select count(*) from analytics_incidents_daily where n = 0) as n`,
    );
    expect(Number(z!.n)).toBe(0);
  });

  it.runIf(engine === 'PostgreSQL')(
    'reads the change logs while another session holds the fold, and folds them afterwards',
    async () => {
      const url = (database.db as unknown as { $client: pg.Pool }).$client.options.connectionString!;
      const other = new pg.Client({ connectionString: url });
      await other.connect();
      try {
        await other.query('select pg_advisory_lock(1868, 6)');
        await updateSome('messages', 'sector', 'text', 0.2, () => pick(sectors));
        await updateSome('incidents', 'status', 'text', 0.2, () => pick(INCIDENT_STATUSES));
        await addMessages(100);
        expect(await rollup.refresh()).toBe(-1);
        // Pending deltas in both logs, negative ones among them (distinct authors must sum per author then).
        const [pending] = await q<{ messages: number; negative: number; incidents: number }>(
          `select (select count(*)::int from analytics_message_log) as messages,
                  (select count(*)::int from analytics_message_log where n < 0) as negative,
                  (select count(*)::int from analytics_incident_log) as incidents`,
        );
        expect(pending!.messages).toBeGreaterThan(0);
        expect(pending!.negative).toBeGreaterThan(0);
        expect(pending!.incidents).toBeGreaterThan(0);
        await compareAll();
      } finally {
        await other.query('select pg_advisory_unlock(1868, 6)');
        await other.end();
      }
      expect(await rollup.refresh()).toBeGreaterThan(0);
      const [left] = await q<{ n: number }>('select count(*)::int as n from analytics_message_log');
      expect(left!.n).toBe(0);
      await compareAll();
    },
    180_000,
  );
});

describe('analytics rollups through the real pipeline', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ roles: ['api', 'workers'] });
  }, 60_000);
  afterAll(() => t?.close());

  const slice = async (params: string) => {
    const r = await t.app.api!.inject({
      method: 'GET',
      url: `/api/v1/analytics/slice?${params}`,
      headers: { authorization: `Bearer ${API_TOKEN}` },
    });
    expect(r.statusCode).toBe(200);
    return (r.json() as { rows: { keys: Record<string, string | null>; value: number; n: number }[] }).rows;
  };

  it('counts an ingested message at once, and under its sector and agency once it is routed', async () => {
    // A window of whole days around today: today's counts come from the rollup and its log, not the edges.
    const window = `from=${new Date(Date.now() - 30 * DAY).toISOString()}&to=${new Date(Date.now() + 2 * DAY).toISOString()}`;
    const total = async (measure: string) => (await slice(`measure=${measure}&${window}`))[0]!.value;
    const [messagesBefore, authorsBefore] = [await total('messages'), await total('authors')];
    const r = await t.app.api!.inject({
      method: 'POST',
      url: '/api/v1/messages',
      headers: { authorization: `Bearer ${INGEST_TOKEN}` },
      payload: ingestBody('Уже неделю не вывозят мусор в Бийске, ул. Мухачева, 210. Контейнеры переполнены.'),
    });
    expect(r.statusCode).toBe(202);
    expect(await total('messages')).toBe(messagesBefore + 1);
    expect(await total('authors')).toBe(authorsBefore + 1);

    const { id } = r.json() as { id: number };
    const routed = await waitFor(
      async () => {
        const [m] = await t.app.database.query<{ incident_id: number | null; sector: string }>(
          'select incident_id, sector from messages where id = $1',
          [id],
        );
        return m?.incident_id ? m : null;
      },
      { what: 'the message to be routed' },
    );
    const [inc] = await t.app.database.query<{ agency_id: string }>(
      'select agency_id from incidents where id = $1',
      [routed.incident_id],
    );
    const bySectorAgency = await slice(`measure=messages&by=sector,agency&${window}`);
    expect(bySectorAgency).toContainEqual({
      keys: { sector: routed.sector, agency: inc!.agency_id },
      value: 1,
      n: 1,
    });
    const incidents = await slice(`measure=incidents&by=agency,status&${window}`);
    expect(incidents.find((x) => x.keys.agency === inc!.agency_id)?.value).toBe(1);
    // And the same as the raw SQL, for the measures and dimensions the pipeline filled in.
    const rollupStore = createAnalyticsStore(t.app.database);
    const rawStore = createAnalyticsStore(t.app.database, { rollups: false });
    const from = new Date(Date.now() - 30 * DAY);
    const to = new Date(Date.now() + 2 * DAY);
    for (const measure of ROLLUP_MEASURES)
      for (const by of [['sector', 'agency'], ['channel', 'sentiment'], ['status']] as Dimension[][]) {
        const query: SliceQuery = { measure, by, period: 'day', from, to, filters: {} };
        expect(await rollupStore.slice(query)).toEqual(await rawStore.slice(query));
      }
  }, 60_000);
});
