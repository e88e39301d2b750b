/**
 * bench/broadcast.ts — one campaign to 100,000 subscribers against the Telegram Bot API emulator in
 * real-limits mode, on a real PostgreSQL and Redis, sent by a real `otklik worker` process.
 *
 *   npx tsx bench/broadcast.ts      (BENCH_DATABASE_URL, BENCH_REDIS_URL to point elsewhere)
 *
 * Telegram allows a bot about 30 messages/s (and 1/s per chat), so 100,000 messages through one bot take
 * 56 minutes. The bench spreads the subscribers over BENCH_BOTS bots (default 20; a region runs several bots,
 * and each subscriber is reached through the bot they subscribed in), each held to the real 30/s by the
 * emulator (GCRA meter, 100 ms tolerance) and by the worker's shared Redis slot limiter
 * (TELEGRAM_RATE_PER_SECOND=30). Allowed rate = bots × 30/s.
 *
 * Prints: achieved rate as % of the allowed rate (first to last message taken by the emulator), duplicates
 * (chats that got the campaign more than once), limit violations (sends the emulator answered 429), the
 * busiest 1-second window of any bot (strict sliding window), wall time, peak RSS of the worker and of this
 * process (the emulator). Asserts nothing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { startTelegramEmulator } from '../test/emulators/telegram.ts';

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const RECIPIENTS = Number(process.env.BENCH_RECIPIENTS ?? 100_000);
const BOTS = Number(process.env.BENCH_BOTS ?? 20);
const PER_BOT = Number(process.env.BENCH_RATE_PER_BOT ?? 30);

const rssOf = (pid: number | 'self') => {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmHWM:\s+(\d+) kB/.exec(s)?.[1] ?? 0) / 1024;
  } catch {
    return NaN;
  }
};

async function main() {
  const dbName = `otklik_bench_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`create database ${dbName}`);
  const dbUrl = Object.assign(new URL(ADMIN_URL), { pathname: `/${dbName}` }).toString();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'otklik-bench-'));
  const prefix = `bench${randomBytes(3).toString('hex')}`;
  const tokens = Array.from({ length: BOTS }, (_, i) => `${7_100_000 + i}:AAbench-broadcast-bot-${i}`);
  const tg = await startTelegramEmulator({ limits: { perSecond: 30, perChatPerSecond: 1 } });
  tokens.forEach((tk, i) => tg.addBot(tk, { username: `cur22_${i}_bot` }));
  let worker: ChildProcess | undefined;
  const db = new pg.Client({ connectionString: dbUrl });
  const cleanup = async () => {
    worker?.kill('SIGKILL');
    await db.end().catch(() => {});
    await admin.query(`drop database if exists ${dbName} with (force)`).catch(() => {});
    await admin.end();
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}:*`);
    for (let i = 0; i < keys.length; i += 1000) await redis.del(...keys.slice(i, i + 1000));
    redis.disconnect();
    await tg.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };

  try {
    console.log(
      `machine: ${os.cpus().length} × ${os.cpus()[0]?.model}, ${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    );
    // The schema: the migrations, run the way the app runs them.
    const { openDatabase } = await import('../src/store/db.ts');
    const database = await openDatabase({ url: dbUrl });
    await database.close();
    await db.connect();

    const t0 = Date.now();
    await db.query(
      `insert into authors (platform, external_id, name, consent_personal_data, consent_at, subscribed,
                            subscription_topics, municipality, language, subscription_source,
                            subscription_chat, subscribed_at)
       select 'telegram', (10000000 + g)::text, 'Подписчик ' || g, true, now(), true,
              jsonb_build_array((array['transport','roads','housing','health'])[1 + g % 4]),
              (array['barnaul','biysk','rubtsovsk','novoaltaysk','zarinsk'])[1 + g % 5], 'ru',
              'telegram:' || (7100000 + g % $2), (10000000 + g)::text, now()
       from generate_series(1, $1) g`,
      [RECIPIENTS, BOTS],
    );
    const seg = await db.query<{ id: number }>(
      `insert into segments (name, rules, created_by) values ('Все подписчики', '{}', 'bench') returning id`,
    );
    const camp = await db.query<{ id: number }>(
      `insert into campaigns (title, text, buttons, segment_id, channel, status, created_by, approved_by, approved_at)
       values ('Бенчмарк', $1, $2, $3, 'telegram', 'approved', 'bench', 'bench', now()) returning id`,
      [
        '<b>Новости края.</b> С 1 декабря автобусы ходят по зимнему расписанию. <a href="https://www.altairegion22.ru/">Подробнее</a>',
        JSON.stringify([{ text: 'Расписание', url: 'https://www.altairegion22.ru/news' }]),
        seg.rows[0]!.id,
      ],
    );
    const id = camp.rows[0]!.id;
    console.log(
      `${RECIPIENTS.toLocaleString('en')} subscribers over ${BOTS} bots written in ${((Date.now() - t0) / 1000).toFixed(1)} s; campaign ${id} approved`,
    );

    // The worker: its first sweep kicks the approved campaign.
    const started = Date.now();
    worker = spawn(process.execPath, ['bin/otklik.js', 'worker'], {
      env: {
        ...process.env,
        DATABASE_URL: dbUrl,
        REDIS_URL,
        QUEUE_PREFIX: prefix,
        DATA_DIR: dataDir,
        INGEST_TOKEN: 'bench-token-0123456789abcdef',
        API_TOKEN: 'bench-token-0123456789abcdef',
        TELEGRAM_BOT_TOKEN: tokens.join(','),
        TELEGRAM_API_ROOT: tg.url,
        TELEGRAM_RATE_PER_SECOND: String(PER_BOT),
        TELEGRAM_RATE_PER_CHAT_MS: '1000',
        PUBLIC_URL: 'https://otklik.example.ru',
        ANALYZER: 'classic',
        DEMO: 'off',
        LOG_LEVEL: 'warn',
        LOG_FORMAT: 'json',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const pid = worker.pid!;
    let workerRss = 0;
    let last = 0;
    for (;;) {
      await new Promise((r) => setTimeout(r, 2000));
      workerRss = Math.max(workerRss, rssOf(pid) || 0);
      const { rows } = await db.query<{ status: string; sent: number }>(
        `select c.status, (select count(*)::int from campaign_deliveries d where d.campaign_id = c.id and d.status = 'sent') as sent
         from campaigns c where c.id = $1`,
        [id],
      );
      const r = rows[0]!;
      const el = (Date.now() - started) / 1000;
      if (r.sent - last >= 10_000 || r.status === 'done') {
        console.log(`  ${el.toFixed(0)} s: ${r.sent.toLocaleString('en')} sent (${r.status})`);
        last = r.sent;
      }
      if (r.status === 'done') break;
      if (el > 900) throw new Error(`not done after ${el} s`);
    }
    workerRss = Math.max(workerRss, rssOf(pid) || 0);

    const { rows: times } = await db.query<{ started: Date; finished: Date; approved: Date }>(
      `select started_at as started, finished_at as finished, approved_at as approved from campaigns where id = $1`,
      [id],
    );
    const { rows: st } = await db.query<{ status: string; n: number }>(
      `select status, count(*)::int as n from campaign_deliveries where campaign_id = $1 group by status order by 1`,
      [id],
    );
    const msgs = tg.sent().filter((s) => s.method === 'sendMessage');
    const perChat = new Map<string, number>();
    for (const s of msgs) perChat.set(s.chat_id, (perChat.get(s.chat_id) ?? 0) + 1);
    const duplicates = [...perChat.values()].filter((n) => n > 1).length;
    const first = msgs.reduce((a, s) => Math.min(a, s.at), Infinity);
    const lastAt = msgs.reduce((a, s) => Math.max(a, s.at), 0);
    const spanS = (lastAt - first) / 1000;
    const allowed = BOTS * PER_BOT;
    const achieved = (msgs.length - 1) / spanS;
    const stats = tg.limitStats();
    const perBot = tokens.map((tk) => {
      const m = msgs.filter((s) => s.token === tk);
      const span =
        (m.reduce((a, s) => Math.max(a, s.at), 0) - m.reduce((a, s) => Math.min(a, s.at), Infinity)) / 1000;
      return { n: m.length, rate: (m.length - 1) / span, busiest: tg.limitStats(tk).busiestSecond };
    });
    const wall = (times[0]!.finished.getTime() - times[0]!.started.getTime()) / 1000;

    console.log('\n== broadcast: one campaign, real Telegram limits ==');
    console.log(`recipients: ${RECIPIENTS.toLocaleString('en')} through ${BOTS} bots × ${PER_BOT}/s`);
    console.log(`deliveries: ${st.map((r) => `${r.status} ${r.n.toLocaleString('en')}`).join(', ')}`);
    console.log(
      `messages taken by the emulator: ${msgs.length.toLocaleString('en')} to ${perChat.size.toLocaleString('en')} chats; duplicates: ${duplicates}`,
    );
    console.log(
      `achieved rate: ${achieved.toFixed(1)} messages/s of ${allowed} allowed = ${((100 * achieved) / allowed).toFixed(1)} % (first to last message, ${spanS.toFixed(1)} s)`,
    );
    console.log(
      `per bot: ${Math.min(...perBot.map((b) => b.rate)).toFixed(2)}–${Math.max(...perBot.map((b) => b.rate)).toFixed(2)} messages/s (limit ${PER_BOT})`,
    );
    console.log(
      `limit violations (answered 429): ${stats.violations}; busiest 1-s window of any bot: ${Math.max(...perBot.map((b) => b.busiest))} (limit ${PER_BOT}); closest two messages to one chat: ${stats.closestChatGapMs ?? '—'} ms`,
    );
    console.log(
      `wall time: worker start → done ${((Date.now() - started) / 1000).toFixed(1)} s; campaign started → done ${wall.toFixed(1)} s (expansion of the segment included)`,
    );
    console.log(
      `peak RSS: worker ${workerRss.toFixed(0)} MiB; this process (emulator with every message kept) ${rssOf('self').toFixed(0)} MiB`,
    );
    worker.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1500));
  } finally {
    await cleanup();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
