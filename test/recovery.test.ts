/**
 * Nothing is lost and nothing is done twice: a worker process killed with SIGKILL in the middle of its
 * jobs, and a Redis that loses all its data mid-stream.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.ts';
import { message, startTestApp, waitFor, type TestApp } from './helpers.ts';

const SAMPLES = [
  'Не вывозят мусор, контейнеры переполнены',
  'Нет горячей воды в доме',
  'Яма на дороге, асфальт разбит',
  'Автобус не ходит по расписанию',
  'В поликлинике невозможно записаться к врачу',
  'Во дворе не горят фонари',
  'Отключили свет, нет электричества',
  'Задерживают зарплату третий месяц',
];
const PLACES = ['в Барнауле', 'в Бийске', 'в Рубцовске', 'в Заринске', 'в Тальменке', ''];

function sample(i: number) {
  return `${SAMPLES[i % SAMPLES.length]} ${PLACES[i % PLACES.length]}, обращение ${i}`;
}

/** Every message routed exactly once, every incident counts exactly its messages, one card and draft each. */
async function assertExactlyOnce(app: App, n: number) {
  const q = <T>(s: ReturnType<typeof sql>) => app.database.rows<T>(s);
  const [states] = await q<{ routed: number; total: number }>(
    sql`select count(*) filter (where state = 'routed')::int as routed, count(*)::int as total from messages`,
  );
  expect(states).toEqual({ routed: n, total: n });
  const [sum] = await q<{ s: number }>(sql`select coalesce(sum(message_count), 0)::int as s from incidents`);
  expect(sum!.s).toBe(n);
  const [mismatch] = await q<{ n: number }>(sql`
    select count(*)::int as n from incidents i
    where i.message_count <> (select count(*) from messages m where m.incident_id = i.id)`);
  expect(mismatch!.n).toBe(0);
  const [joins] = await q<{ n: number }>(
    sql`select count(*)::int as n from incident_events where type in ('created', 'message_added')`,
  );
  expect(joins!.n).toBe(n);
  const [dupEvents] = await q<{ n: number }>(sql`
    select count(*)::int as n from (
      select data->>'messageId' from incident_events where type in ('created', 'message_added')
      group by 1 having count(*) > 1) d`);
  expect(dupEvents!.n).toBe(0);
  const [side] = await q<{ incidents: number; cards: number; drafts: number }>(sql`
    select (select count(*) from incidents)::int as incidents,
           (select count(*) from notifications where kind = 'incident_card')::int as cards,
           (select count(*) from reply_drafts)::int as drafts`);
  expect(side!.cards).toBe(side!.incidents);
  expect(side!.drafts).toBe(side!.incidents);
}

describe('a worker killed mid-job', () => {
  let t: TestApp;
  const children: ChildProcess[] = [];
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await t?.close();
  });

  function startWorker(): ChildProcess {
    const env = {
      ...process.env,
      DATABASE_URL: t.config.DATABASE_URL,
      REDIS_URL: t.config.REDIS_URL,
      QUEUE_PREFIX: t.config.QUEUE_PREFIX,
      DATA_DIR: t.config.dataDir,
      INGEST_TOKEN: t.config.INGEST_TOKEN,
      API_TOKEN: t.config.API_TOKEN,
      LOG_LEVEL: 'warn',
      LOG_FORMAT: 'json',
      WORKER_LOCK_MS: '3000',
      SWEEP_INTERVAL_MS: '1000',
      SWEEP_STUCK_AFTER_MS: '4000',
      ANALYZE_CONCURRENCY: '2',
    };
    const c = spawn(process.execPath, ['bin/otklik.js', 'worker'], {
      env,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(c);
    return c;
  }

  it('loses nothing and processes each message once after a restart', async () => {
    t = await startTestApp({ roles: ['api'], env: { INGEST_BATCH_MAX: '50' } });
    const n = 1500;
    await Promise.all(Array.from({ length: n }, (_, i) => t.app.ingestor.ingest(message(sample(i)))));
    const routed = async () =>
      (
        await t.app.database.rows<{ n: number }>(
          sql`select count(*)::int as n from messages where state = 'routed'`,
        )
      )[0]!.n;

    const first = startWorker();
    await waitFor(async () => (await routed()) >= 100, {
      timeoutMs: 60_000,
      intervalMs: 20,
      what: 'the first routed messages',
    });
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const atKill = await routed();
    expect(atKill).toBeLessThan(n); // it really died mid-stream

    startWorker();
    await waitFor(async () => (await routed()) === n, {
      timeoutMs: 120_000,
      intervalMs: 250,
      what: 'all messages routed',
    });
    // let any duplicate re-run (stalled job, sweeper) finish before counting
    await new Promise((r) => setTimeout(r, 5000));
    await assertExactlyOnce(t.app, n);
  });
});

describe('Redis flushed mid-stream', () => {
  let t: TestApp;
  afterAll(() => t?.close());

  it('the sweeper re-enqueues everything from PostgreSQL and nothing is duplicated', async () => {
    // A private redis-server (REDIS_URL unset), so flushing it touches nobody else's data.
    t = await startTestApp({
      roles: ['api', 'workers'],
      env: { REDIS_URL: '', SWEEP_INTERVAL_MS: '500', SWEEP_STUCK_AFTER_MS: '2000', INGEST_BATCH_MAX: '20' },
    });
    expect(t.app.redis.describe).toMatch(/^unix:/);
    const n = 600;
    const admin = t.app.redis.connect();
    const sent: Promise<unknown>[] = [];
    for (let i = 0; i < n; i++) {
      sent.push(t.app.ingestor.ingest(message(sample(i))));
      if (i % 50 === 0) await new Promise((r) => setTimeout(r, 20));
      if (i === n / 2) await admin.flushall(); // jobs waiting in Redis vanish
    }
    await Promise.all(sent);
    await admin.flushall(); // and once more, after the last enqueue
    admin.disconnect();
    await waitFor(
      async () =>
        (
          await t.app.database.rows<{ n: number }>(
            sql`select count(*)::int as n from messages where state = 'routed'`,
          )
        )[0]!.n === n,
      { timeoutMs: 90_000, intervalMs: 250, what: 'all messages routed after the flush' },
    );
    await waitFor(
      async () =>
        (
          await t.app.database.rows<{ n: number }>(
            sql`select count(*)::int as n from incidents where notified_at is null or drafted_at is null`,
          )
        )[0]!.n === 0,
      { timeoutMs: 30_000, what: 'cards and drafts of every incident' },
    );
    await assertExactlyOnce(t.app, n);
    expect(
      Number((await t.app.metrics.sweeperRequeued.get()).values.reduce((a, v) => a + v.value, 0)),
    ).toBeGreaterThan(0);
  });
});
