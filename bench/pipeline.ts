/**
 * bench/pipeline.ts — ingest rate and end-to-end latency (ingest → incident) on a real PostgreSQL.
 *
 *   npm run bench            (BENCH_DATABASE_URL, BENCH_REDIS_URL to point elsewhere)
 *
 * Three phases, each against real processes started like production (`otklik start` with ROLES=api and
 * `otklik worker`), driven over HTTP by autocannon from this process:
 *   1. ingest: as fast as the API accepts (no workers running) — accepted messages/s and latency;
 *   2. drain: one worker process empties the backlog of phase 1 — sustained pipeline throughput;
 *   3. steady: a fixed offered rate (BENCH_RATE, default 300/s) with the worker running — end-to-end
 *      latency from receipt to incident, taken from the database timestamps.
 * Prints figures; asserts nothing (targets: ingest ≥ 2,000/s; end to end ≥ 300/s with p95 ≤ 2 s).
 */
import { type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import {
  createBenchDatabase,
  freePort,
  machineLine,
  pct,
  sleep,
  spawnOtklik,
  stopChildren,
  textFor,
  waitForHealth,
} from './common.ts';

const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const INGEST_SECONDS = Number(process.env.BENCH_INGEST_SECONDS ?? 10);
const STEADY_SECONDS = Number(process.env.BENCH_STEADY_SECONDS ?? 30);
const RATE = Number(process.env.BENCH_RATE ?? 300);
const TOKEN = 'bench-token-0123456789abcdef';

async function main() {
  const bench = await createBenchDatabase();
  const dbUrl = bench.url;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'otklik-bench-'));
  const port = await freePort();
  const prefix = `bench${randomBytes(3).toString('hex')}`;
  const env = {
    ...process.env,
    DATABASE_URL: dbUrl,
    REDIS_URL,
    QUEUE_PREFIX: prefix,
    DATA_DIR: dataDir,
    INGEST_TOKEN: TOKEN,
    API_TOKEN: `${TOKEN}-api`, // a different token: the API token has every scope but ingest
    PORT: String(port),
    DEMO: 'off',
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
    SWEEP_STUCK_AFTER_MS: '600000',
  };
  const children: ChildProcess[] = [];
  const run = (args: string[], extra: Record<string, string> = {}) => {
    const c = spawnOtklik(args, { ...env, ...extra });
    children.push(c);
    return c;
  };
  const db = new pg.Client({ connectionString: dbUrl });
  const cleanup = async () => {
    await stopChildren(children, 1500);
    await db.end().catch(() => {});
    await bench.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };

  try {
    console.log(machineLine());
    run(['start'], { ROLES: 'api' });
    const base = `http://127.0.0.1:${port}`;
    await waitForHealth(base, 60_000);
    await db.connect();

    let n = 0;
    const body = () => {
      n++;
      return JSON.stringify({
        source: 'api',
        externalId: `b-${n}`,
        text: textFor(n),
        author: { id: `a-${n % 5000}` },
        postedAt: new Date().toISOString(),
      });
    };
    const load = (opts: Partial<autocannon.Options>) =>
      autocannon({
        url: `${base}/api/v1/messages`,
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        requests: [{ setupRequest: (req) => ({ ...req, body: body() }) }],
        ...opts,
      });

    // Phase 1: ingest only.
    const r1 = await load({
      connections: Number(process.env.BENCH_CONNECTIONS ?? 256),
      duration: INGEST_SECONDS,
    });
    const accepted = r1['2xx'];
    console.log('\n== 1. ingest (API only, no workers) ==');
    console.log(
      `accepted: ${accepted} in ${INGEST_SECONDS} s → ${(accepted / INGEST_SECONDS).toFixed(0)} messages/s (non-2xx: ${r1.non2xx}, errors: ${r1.errors})`,
    );
    console.log(
      `latency ms: p50 ${r1.latency.p50}, p97.5 ${r1.latency.p97_5}, p99 ${r1.latency.p99}, max ${r1.latency.max}`,
    );
    const stored = Number((await db.query('select count(*) from messages')).rows[0].count);
    console.log(
      `rows in messages: ${stored} (accepted + requests still in flight when the clock stopped; no duplicates by the unique key)`,
    );

    // Phase 2: drain the backlog with one worker process.
    const t0 = Date.now();
    run(['worker'], {
      ANALYZE_CONCURRENCY: process.env.BENCH_ANALYZE_CONCURRENCY ?? '2',
      ROUTE_CONCURRENCY: process.env.BENCH_ROUTE_CONCURRENCY ?? '4',
    });
    for (;;) {
      const left = Number(
        (await db.query(`select count(*) from messages where state <> 'routed'`)).rows[0].count,
      );
      if (left === 0) break;
      if (Date.now() - t0 > 600_000) throw new Error(`drain did not finish: ${left} left`);
      await sleep(250);
    }
    const drainS = (Date.now() - t0) / 1000;
    console.log('\n== 2. drain (one worker process, backlog of phase 1) ==');
    console.log(
      `${stored} messages analysed and grouped in ${drainS.toFixed(1)} s (incl. worker start-up) → ${(stored / drainS).toFixed(0)} messages/s`,
    );
    const incidents = Number((await db.query('select count(*) from incidents')).rows[0].count);
    console.log(`incidents: ${incidents}`);

    // Phase 3: steady offered rate with the worker running.
    const startId = Number((await db.query('select coalesce(max(id), 0) as m from messages')).rows[0].m);
    const r3 = await load({ connections: 32, duration: STEADY_SECONDS, overallRate: RATE });
    const sent = r3['2xx'];
    for (let i = 0; ; i++) {
      const left = Number(
        (await db.query(`select count(*) from messages where id > $1 and state <> 'routed'`, [startId]))
          .rows[0].count,
      );
      if (left === 0) break;
      if (i > 1200) throw new Error(`steady phase did not finish: ${left} left`);
      await sleep(250);
    }
    const rows = (
      await db.query(
        `select extract(epoch from (routed_at - received_at)) * 1000 as ms,
                extract(epoch from received_at) * 1000 as rx, extract(epoch from routed_at) * 1000 as done
         from messages where id > $1 order by 1`,
        [startId],
      )
    ).rows.map((r) => ({ ms: Number(r.ms), rx: Number(r.rx), done: Number(r.done) }));
    const lat = rows.map((r) => r.ms).sort((a, b) => a - b);
    const span = (Math.max(...rows.map((r) => r.done)) - Math.min(...rows.map((r) => r.rx))) / 1000;
    console.log(`\n== 3. steady (${RATE}/s offered for ${STEADY_SECONDS} s, worker running) ==`);
    console.log(
      `accepted: ${sent} (${(sent / STEADY_SECONDS).toFixed(0)}/s); routed: ${rows.length} in ${span.toFixed(1)} s → ${(rows.length / span).toFixed(0)} messages/s end to end`,
    );
    console.log(
      `ingest → incident latency ms: p50 ${pct(lat, 50).toFixed(0)}, p95 ${pct(lat, 95).toFixed(0)}, p99 ${pct(lat, 99).toFixed(0)}, max ${lat.at(-1)?.toFixed(0)}`,
    );
    console.log(`HTTP latency ms: p50 ${r3.latency.p50}, p99 ${r3.latency.p99}`);
  } finally {
    await cleanup();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
