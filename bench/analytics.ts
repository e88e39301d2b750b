/**
 * Analytics on 1,000,000 generated messages and their incidents in a real PostgreSQL database: every slice
 * measure, with one and two dimensions and a time bucket, the agency rating and the workload, through the
 * HTTP API (fastify inject, so routing, validation and JSON are included). Prints p50/p95 per query. The data
 * goes in through the rollup triggers like any write; the change logs are folded into the rollups once, timed,
 * before the queries (a read would do it otherwise).
 *   npm run bench:analytics            (BENCH_DATABASE_URL for another server; BENCH_MESSAGES to change the size)
 */
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createAnalyticsStore, MEASURES } from '../src/store/analytics.store.ts';
import pg from 'pg';
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const N = Number(process.env.BENCH_MESSAGES ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 15);

const dbName = `otklik_bench_analytics_${Date.now()}`;
const admin = new pg.Client({ connectionString: ADMIN_URL });
await admin.connect();
await admin.query(`create database ${dbName}`);
const u = new URL(ADMIN_URL);
u.pathname = `/${dbName}`;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'otklik-bench-'));
const token = 'bench-api-token-0123456789abcdef';
const config = loadConfig({
  DATABASE_URL: u.toString(),
  REDIS_URL: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
  QUEUE_PREFIX: `bench${Date.now()}`,
  DATA_DIR: dataDir,
  API_TOKEN: token,
  INGEST_TOKEN: 'bench-ingest-token-0123456789',
  LOG_LEVEL: 'warn',
  LOG_FORMAT: 'json',
  DEMO: 'off',
});
const app = await createApp({ config, roles: ['api'], listen: false });
const db = app.database;

try {
  const t0 = Date.now();
  const incidents = Math.round(N / 5);
  console.log(
    `generating ${N.toLocaleString('en')} messages in ${incidents.toLocaleString('en')} incidents over 365 days…`,
  );
  await db.query(
    `insert into authors (platform, external_id, name, consent_personal_data)
     select 'api', 'a' || g, 'Автор ' || g, true from generate_series(1, $1::int) g`,
    [Math.round(N / 4)],
  );
  await db.query(
    `with sectors as (select array['housing','waste','energy','education','health','roads','transport','social','labour','amenities','other'] as a),
          munis as (select array_agg(code order by code) as a from municipalities),
          ags as (select array_agg(id order by id) as a from agencies),
          chans as (select array['messenger','social','feedback_platform','api'] as a),
          sts as (select array['new','assigned','in_progress','answered','resolved','closed','rejected','reopened'] as a)
     insert into incidents (status, sector, municipality, agency_id, summary, channel_kind, message_count, author_count, negative_count,
                            first_message_at, last_message_at, first_response_due, resolution_due, first_responded_at, resolved_at, result, created_at)
     select st, sec, mu, ag, 'Сгенерированный инцидент ' || g, ch, 5, 4, (g % 6),
            c, c, c + interval '24 hours', c + interval '10 days',
            case when g % 10 < 8 then c + make_interval(secs => (g % 72) * 3600 + 600) end,
            case when st in ('resolved','closed') then c + make_interval(secs => (g % 400) * 3600) end,
            case when st in ('resolved','closed') and g % 3 > 0 then 'Выполнено' end,
            c
     from (select g, now() - make_interval(secs => (g * 7919 % (365 * 86400))) as c,
                  (select a[1 + g % 11] from sectors) as sec, (select a[1 + (g * 31) % array_length(a, 1)] from munis) as mu,
                  (select a[1 + (g * 17) % array_length(a, 1)] from ags) as ag, (select a[1 + g % 4] from chans) as ch,
                  (select a[1 + (g * 13) % 8] from sts) as st
           from generate_series(1, $1::int) g) x`,
    [incidents],
  );
  const [range] = await db.query<{ lo: number; hi: number }>(
    `select min(id)::int as lo, max(id)::int as hi from incidents`,
    [],
  );
  await db.query(
    `with sent as (select array['negative','neutral','positive'] as a)
     insert into messages (source_id, external_id, author_id, text, posted_at, received_at, state, sector, sentiment, toxic, municipality, incident_id, analyzed_at, routed_at)
     select 'api', 'm' || g, (select min(id) from authors) + (g * 7) % $2::int, 'Сгенерированное сообщение ' || g, i.created_at, i.created_at + make_interval(secs => g % 3600),
            'routed', i.sector, (select a[1 + g % 3] from sent), false, i.municipality, i.id, i.created_at, i.created_at
     from generate_series(1, $1::int) g join incidents i on i.id = $3::int + (g % ($4::int - $3::int + 1))`,
    [N, Math.round(N / 4), range!.lo, range!.hi],
  );
  await db.query(
    `insert into satisfaction (incident_id, author_id, score)
     select i.id, (select min(id) from authors) + i.id % 1000, 1 + i.id % 5 from incidents i where i.status in ('resolved','closed')
     on conflict do nothing`,
    [],
  );
  console.log(`generated in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const t1 = Date.now();
  const folded = await createAnalyticsStore(db).refresh();
  console.log(
    `rollups: ${folded.toLocaleString('en')} change-log rows folded in ${((Date.now() - t1) / 1000).toFixed(1)} s`,
  );
  await db.query('analyze', []);

  const auth = { authorization: `Bearer ${token}` };
  const yearAgo = new Date(Date.now() - 365 * 86_400_000).toISOString();
  const queries: [string, string][] = [];
  for (const m of MEASURES) {
    queries.push([`${m} by sector (30 days)`, `/api/v1/analytics/slice?measure=${m}&by=sector`]);
    queries.push([
      `${m} by sector×municipality (30 days)`,
      `/api/v1/analytics/slice?measure=${m}&by=sector,municipality`,
    ]);
    queries.push([
      `${m} by agency × week (30 days)`,
      `/api/v1/analytics/slice?measure=${m}&by=agency&period=week`,
    ]);
  }
  queries.push([
    'messages by channel×sentiment (30 days)',
    '/api/v1/analytics/slice?measure=messages&by=channel,sentiment',
  ]);
  queries.push([
    'messages by month (365 days)',
    `/api/v1/analytics/slice?measure=messages&period=month&from=${yearAgo}`,
  ]);
  queries.push([
    'incidents by sector×month (365 days)',
    `/api/v1/analytics/slice?measure=incidents&by=sector&period=month&from=${yearAgo}`,
  ]);
  queries.push([
    'messages by sector×municipality (365 days)',
    `/api/v1/analytics/slice?measure=messages&by=sector,municipality&from=${yearAgo}`,
  ]);
  queries.push(['ratings (30 days, both levels)', '/api/v1/analytics/ratings']);
  queries.push(['workload', '/api/v1/analytics/workload']);

  const pct = (xs: number[], p: number) =>
    [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
  console.log(
    `\n${'query'.padEnd(52)} ${'rows'.padStart(6)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)}`,
  );
  const worst: number[] = [];
  for (const [name, url] of queries) {
    const times: number[] = [];
    let rows = 0;
    for (let i = 0; i < RUNS + 2; i++) {
      const s = performance.now();
      const r = await app.api!.inject({ method: 'GET', url, headers: auth });
      const ms = performance.now() - s;
      if (r.statusCode !== 200) throw new Error(`${url}: ${r.statusCode} ${r.body}`);
      if (i >= 2) times.push(ms); // two warm-up runs
      const b = r.json() as { rows?: unknown[]; levels?: { items: unknown[] }[]; agencies?: unknown[] };
      rows = b.rows?.length ?? b.levels?.reduce((a, l) => a + l.items.length, 0) ?? b.agencies?.length ?? 0;
    }
    worst.push(pct(times, 95));
    console.log(
      `${name.padEnd(52)} ${String(rows).padStart(6)} ${pct(times, 50).toFixed(0).padStart(8)} ${pct(times, 95).toFixed(0).padStart(8)}`,
    );
  }
  console.log(
    `\nworst p95: ${Math.max(...worst).toFixed(0)} ms over ${queries.length} queries (${RUNS} runs each), ${N.toLocaleString('en')} messages`,
  );
} finally {
  await app.close();
  await admin.query(`drop database if exists ${dbName} with (force)`);
  await admin.end();
  fs.rmSync(dataDir, { recursive: true, force: true });
}
