/**
 * bench/soak.ts — load on the three doors (HTTP ingest, Telegram webhook, VK Callback API) and a soak at a
 * regional rate with the analysis on, on the real PostgreSQL and a private Redis.
 *
 *   npm run bench:soak  (npx tsx bench/soak.ts)    the full run: 4 × 10 s of load, then a 10-minute soak
 *   SOAK_MINUTES=1 npx tsx bench/soak.ts            a quick check (about 3 minutes in all)
 *
 * The app runs as in production, in child processes: `otklik start` with ROLES=api,connectors (the API and
 * the bots in webhook / Callback API mode, which need both roles in one process) and, for the soak, one
 * `otklik worker` (the shipped analyzer, ANALYZER=auto). The Telegram Bot API and VK API emulators of
 * test/emulators run in this process and answer the bots' calls (getMe, setWebhook, users.get, sendMessage,
 * messages.send). Each phase gets a fresh database and its own queue prefix.
 *
 * 1. Load: autocannon with LOAD_CONNECTIONS (default 40, Telegram's default webhook max_connections) for
 *    LOAD_SECONDS each against (a) POST /api/v1/messages, (b) /webhooks/telegram/<bot id> with the secret
 *    header and channel posts / group messages with unique update and message ids, (c) /webhooks/vk/<group>
 *    with the secret and message_new events of community chats with unique ids, once from LOAD_VK_AUTHORS
 *    (200) authors already seen and once with a new author in every event (the connector then waits for
 *    users.get, held by vk-io to VK_API_LIMIT requests/s). No worker runs (the API is measured alone).
 *    Prints requests/s, p50/p95/p99 latency, non-2xx, rows stored.
 * 2. Soak: SOAK_MINUTES (default 10) at SOAK_RATE messages/s (default 5) with a burst of SOAK_BURST_RATE
 *    (default 20/s) for SOAK_BURST_SECONDS (10) every SOAK_BURST_EVERY_S (60), open loop (requests are
 *    sent on schedule whatever the answers), mixed by SOAK_MIX (default ingest 40, telegram 35, vk 25); of
 *    the bot traffic SOAK_PRIVATE_SHARE (0.3) are appeals of consented citizens in private chats (stored,
 *    then confirmed through the outbox and the send queue), the rest public monitoring (channel posts, group
 *    messages, VK chat messages and wall comments). Every SOAK_SAMPLE_S (10) s: messages offered, accepted,
 *    stored and routed, RSS (/proc/<pid>/status) and V8 heap (a probe preloaded into the children with
 *    --import) of the API and the worker, Redis used_memory, PostgreSQL connections. At the end: a table per
 *    minute with the end-to-end latency (routed_at − received_at) p50/p95/p99, a memory verdict (least-squares
 *    slope over the second half of the soak, flat when |slope| < SOAK_GROWTH_LIMIT_MB_MIN, default 1 MB/min)
 *    and the loss check.
 *
 * Prints figures; the only assertion is that no accepted message was lost (exit code 1 otherwise).
 * Other knobs: SOAK_PHASES (load,soak), SOAK_CITIZENS (consented citizens per platform, 50),
 * SOAK_DRAIN_S (180), SOAK_JSON (write samples and results to this file), BENCH_DATABASE_URL,
 * BENCH_REDIS_URL (unset → a private redis-server from PATH, so Redis memory is the app's alone).
 */
import { type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import pg from 'pg';
import { startTelegramEmulator, type TelegramEmulator } from '../test/emulators/telegram.ts';
import { startVkEmulator, type VkEmulator } from '../test/emulators/vk.ts';
import { QUEUE_NAMES } from '../src/workers/queues.ts';
import {
  createBenchDatabase,
  envNumber,
  freePort,
  machineLine,
  pct,
  sleep,
  spawnOtklik,
  startPrivateRedis,
  stopChildren,
  textFor,
  waitForHealth,
  type BenchDatabase,
} from './common.ts';

const num = envNumber;
const PHASES = new Set((process.env.SOAK_PHASES ?? 'load,soak').split(',').map((s) => s.trim()));
const LOAD_SECONDS = num('LOAD_SECONDS', 10);
const LOAD_CONNECTIONS = num('LOAD_CONNECTIONS', 40);
const SOAK_MINUTES = num('SOAK_MINUTES', 10);
const RATE = num('SOAK_RATE', 5);
const BURST_RATE = num('SOAK_BURST_RATE', 20);
const BURST_SECONDS = num('SOAK_BURST_SECONDS', 10);
const BURST_EVERY_S = num('SOAK_BURST_EVERY_S', 60);
const SAMPLE_S = num('SOAK_SAMPLE_S', 10);
const PRIVATE_SHARE = num('SOAK_PRIVATE_SHARE', 0.3);
const CITIZENS = num('SOAK_CITIZENS', 50);
const VK_LOAD_AUTHORS = Math.max(1, num('LOAD_VK_AUTHORS', 200));
const DRAIN_S = num('SOAK_DRAIN_S', 180);
const GROWTH_LIMIT = num('SOAK_GROWTH_LIMIT_MB_MIN', 1);
const MIX = Object.fromEntries(
  (process.env.SOAK_MIX ?? 'ingest:40,telegram:35,vk:25').split(',').map((p) => {
    const [k, v] = p.split(/[:=]/);
    return [k!.trim(), Number(v)];
  }),
) as Record<string, number>;

const INGEST_TOKEN = 'soak-ingest-token-0123456789abcdef';
const API_TOKEN = 'soak-api-token-0123456789abcdef'; // must differ: the API token has every scope but ingest
const TG_BOT = '700100200:AAsoak-cur-bot-token-0123456789';
const TG_BOT_ID = '700100200';
const VK_GROUP = 777001;
const VK_TOKEN = 'vk1.a.soak-community-token-0001';
const VK_SECRET = 'soak-callback-secret-42';
const CHAT_PEER_BASE = 2_000_000_000;
/** The burst of each period starts this far into it (so a 1-minute check has one too). */
const BURST_OFFSET_S = Math.max(0, Math.min(25, BURST_EVERY_S - BURST_SECONDS));

/** Writes process.memoryUsage() of the process it is preloaded into to $SOAK_PROBE_FILE once a second. */
const PROBE_SOURCE = `import fs from 'node:fs';
const file = process.env.SOAK_PROBE_FILE;
if (file) {
  const write = () => {
    const m = process.memoryUsage();
    try {
      fs.writeFileSync(file + '.tmp', JSON.stringify({ at: Date.now(), rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external }));
      fs.renameSync(file + '.tmp', file);
    } catch {}
  };
  write();
  setInterval(write, 1000).unref();
}
`;

const MB = 2 ** 20;
const rssMbOf = (pid: number | undefined) => {
  if (!pid) return NaN;
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(s)?.[1] ?? NaN) / 1024;
  } catch {
    return NaN;
  }
};
const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '–');
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '–');
const f2 = (x: number) => (Number.isFinite(x) ? (x >= 0 ? '+' : '') + x.toFixed(2) : '–');

/** mulberry32: a small seeded generator, so two runs offer the same sequence. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Least-squares slope of y over x. */
function slope(points: { x: number; y: number }[]) {
  const pts = points.filter((p) => Number.isFinite(p.y));
  if (pts.length < 3) return NaN;
  const mx = pts.reduce((a, p) => a + p.x, 0) / pts.length;
  const my = pts.reduce((a, p) => a + p.y, 0) / pts.length;
  const sxx = pts.reduce((a, p) => a + (p.x - mx) ** 2, 0);
  return sxx ? pts.reduce((a, p) => a + (p.x - mx) * (p.y - my), 0) / sxx : NaN;
}

function table(head: string[], rows: (string | number)[][]) {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const w = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    '| ' + r.map((c, i) => (i ? c.padStart(w[i]!) : c.padEnd(w[i]!))).join(' | ') + ' |';
  console.log(line(head));
  console.log('|' + w.map((n, i) => (i ? '-'.repeat(n + 1) + ':' : '-'.repeat(n + 2))).join('|') + '|');
  for (const r of cells.slice(1)) console.log(line(r));
}

interface Mem {
  rss: number;
  heapUsed: number;
  heapTotal: number;
}

interface Stack {
  base: string;
  prefix: string;
  db: pg.Client;
  database: BenchDatabase;
  redis: Redis;
  api: ChildProcess;
  worker?: ChildProcess;
  tg: TelegramEmulator;
  vk: VkEmulator;
  tgSecret: string;
  probe(name: 'api' | 'worker'): Mem | undefined;
  stop(): Promise<void>;
}

async function startStack(redisUrl: string, withWorker: boolean): Promise<Stack> {
  const database = await createBenchDatabase();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'otklik-soak-'));
  const probeFile = path.join(dataDir, 'mem-probe.mjs');
  fs.writeFileSync(probeFile, PROBE_SOURCE);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const prefix = `soak${randomBytes(3).toString('hex')}`;
  const tg = await startTelegramEmulator();
  tg.addBot(TG_BOT, { username: 'cur22_bot', first_name: 'ЦУР Алтайского края' });
  const vk = await startVkEmulator();
  vk.addGroup(VK_GROUP, VK_TOKEN);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: database.url,
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    DATA_DIR: dataDir,
    INGEST_TOKEN,
    API_TOKEN,
    PORT: String(port),
    PUBLIC_URL: base,
    DEMO: 'off',
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
    TELEGRAM_BOT_TOKEN: TG_BOT,
    TELEGRAM_API_ROOT: tg.url,
    TELEGRAM_WEBHOOK_URL: base,
    TELEGRAM_WEBHOOK_SECRET: 'soak-installation-secret-0123456789',
    VK_GROUP_TOKEN: VK_TOKEN,
    VK_GROUP_ID: String(VK_GROUP),
    VK_API_BASE_URL: vk.apiBaseUrl,
    VK_CONFIRMATION: 'b3nch0k1',
    VK_CALLBACK_SECRET: VK_SECRET,
  };
  const children: ChildProcess[] = [];
  const nodeArgs = ['--import', pathToFileURL(probeFile).href];
  const probePath = (name: string) => path.join(dataDir, `mem-${name}.json`);
  const db = new pg.Client({ connectionString: database.url });
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  const stop = async () => {
    await stopChildren(children, 5000);
    await db.end().catch(() => {});
    await database.drop();
    let cursor = '0';
    do {
      const [next, keys] = await redis
        .scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000)
        .catch(() => ['0', []]);
      cursor = next as string;
      if ((keys as string[]).length) await redis.del(...(keys as string[])).catch(() => 0);
    } while (cursor !== '0');
    redis.disconnect();
    await tg.close();
    await vk.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await redis.connect();
    const api = spawnOtklik(
      ['start'],
      { ...env, ROLES: 'api,connectors', SOAK_PROBE_FILE: probePath('api') },
      nodeArgs,
    );
    children.push(api);
    await Promise.race([
      waitForHealth(base, 120_000),
      new Promise<never>((_, reject) =>
        api.once('exit', (code) =>
          reject(new Error(`otklik start exited (code ${code}) before it was healthy`)),
        ),
      ),
    ]);
    await db.connect();
    const hook = tg.webhook(TG_BOT);
    if (!hook?.secret_token || !hook.url.endsWith(`/webhooks/telegram/${TG_BOT_ID}`))
      throw new Error(`the Telegram bot did not set its webhook: ${JSON.stringify(hook)}`);
    let worker: ChildProcess | undefined;
    if (withWorker) {
      worker = spawnOtklik(['worker'], { ...env, SOAK_PROBE_FILE: probePath('worker') }, nodeArgs);
      children.push(worker);
    }
    return {
      base,
      prefix,
      db,
      database,
      redis,
      api,
      worker,
      tg,
      vk,
      tgSecret: hook.secret_token,
      probe(name) {
        try {
          const m = JSON.parse(fs.readFileSync(probePath(name), 'utf8')) as Mem & { at: number };
          return Date.now() - m.at < 5000 ? m : undefined; // a stale file: the process is stuck or gone
        } catch {
          return undefined;
        }
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

// ----- bodies ----------------------------------------------------------------------------------------------

const nowSec = () => Math.floor(Date.now() / 1000);
const CHANNELS = [
  { id: -1001000000101, type: 'channel', title: 'Барнаул 22 | Новости', username: 'barnaul22_news' },
  { id: -1001000000102, type: 'channel', title: 'Бийск онлайн', username: 'biysk_online' },
];
const GROUPS = [
  { id: -1001000000201, type: 'supergroup' as const, title: 'Рубцовск — чат жителей' },
  { id: -1001000000202, type: 'supergroup' as const, title: 'Новоалтайск: ЖКХ' },
];
const RU_NAMES = ['Ирина', 'Сергей', 'Ольга', 'Николай', 'Татьяна', 'Алексей', 'Марина', 'Дмитрий'];

/** Hand-built Telegram updates for the load phase (cheap: autocannon needs thousands a second). */
function tgPublicUpdate(n: number) {
  const date = nowSec();
  if (n % 2) {
    const chat = CHANNELS[n % CHANNELS.length]!;
    return { update_id: n, channel_post: { message_id: n, sender_chat: chat, chat, date, text: textFor(n) } };
  }
  const chat = GROUPS[n % GROUPS.length]!;
  const uid = 5_000_000 + (n % 5000);
  return {
    update_id: n,
    message: {
      message_id: n,
      from: { id: uid, is_bot: false, first_name: RU_NAMES[uid % RU_NAMES.length] },
      chat,
      date,
      text: textFor(n),
    },
  };
}

const vkEnvelope = (ev: { type: string; object: Record<string, unknown> }, n: number) => ({
  ...ev,
  group_id: VK_GROUP,
  event_id: `soak${n.toString(36)}${randomBytes(4).toString('hex')}`,
  v: '5.199',
  secret: VK_SECRET,
});

// ----- load ------------------------------------------------------------------------------------------------

interface LoadResult {
  endpoint: string;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  ok: number;
  non2xx: number;
  errors: number;
  stored: number;
}

function cannon(opts: autocannon.Options) {
  const times: number[] = [];
  return new Promise<{ result: autocannon.Result; times: number[] }>((resolve, reject) => {
    const inst = autocannon(opts, (err, result) => (err ? reject(err) : resolve({ result, times })));
    inst.on('response', (_client, _status, _bytes, ms) => times.push(ms));
  });
}

async function loadPhase(redisUrl: string): Promise<LoadResult[]> {
  console.log(
    `\n== 1. load: ${LOAD_CONNECTIONS} connections × ${LOAD_SECONDS} s per endpoint, API process only ==`,
  );
  const s = await startStack(redisUrl, false);
  const out: LoadResult[] = [];
  try {
    let n = 0;
    const vkChatEvent = (fromId: number, i: number) =>
      s.vk.events.messageNew({ fromId, peerId: CHAT_PEER_BASE + 1 + (i % 20), text: textFor(i) });
    const runs: { endpoint: string; source: string; warm?: () => Promise<void>; opts: autocannon.Options }[] =
      [
        {
          endpoint: 'POST /api/v1/messages',
          source: 'api',
          opts: {
            url: `${s.base}/api/v1/messages`,
            headers: { authorization: `Bearer ${INGEST_TOKEN}`, 'content-type': 'application/json' },
            requests: [
              {
                setupRequest: (req) => {
                  n++;
                  return {
                    ...req,
                    body: JSON.stringify({
                      source: 'api',
                      externalId: `load-${n}`,
                      text: textFor(n),
                      author: { id: `a-${n % 5000}` },
                      postedAt: new Date().toISOString(),
                    }),
                  };
                },
              },
            ],
          },
        },
        {
          endpoint: `POST /webhooks/telegram/${TG_BOT_ID}`,
          source: `telegram:${TG_BOT_ID}:public`,
          opts: {
            url: `${s.base}/webhooks/telegram/${TG_BOT_ID}`,
            headers: { 'x-telegram-bot-api-secret-token': s.tgSecret, 'content-type': 'application/json' },
            requests: [{ setupRequest: (req) => ({ ...req, body: JSON.stringify(tgPublicUpdate(++n)) }) }],
          },
        },
        {
          // Authors the connector has seen: their names are cached (the first message of an author costs a
          // users.get call, see the next run).
          endpoint: `POST /webhooks/vk/${VK_GROUP} (known authors)`,
          source: `vk:${VK_GROUP}:public`,
          warm: async () => {
            for (let i = 0; i < VK_LOAD_AUTHORS; i += 10)
              await Promise.all(
                Array.from({ length: Math.min(10, VK_LOAD_AUTHORS - i) }, (_, j) =>
                  fetch(`${s.base}/webhooks/vk/${VK_GROUP}`, {
                    method: 'POST',
                    headers: { 'content-type': 'application/json' },
                    body: JSON.stringify(vkEnvelope(vkChatEvent(100_000 + i + j, ++n), n)),
                  }).then((r) => r.arrayBuffer()),
                ),
              );
          },
          opts: {
            url: `${s.base}/webhooks/vk/${VK_GROUP}`,
            headers: { 'content-type': 'application/json' },
            requests: [
              {
                setupRequest: (req) => {
                  n++;
                  const ev = vkChatEvent(100_000 + (n % VK_LOAD_AUTHORS), n);
                  return { ...req, body: JSON.stringify(vkEnvelope(ev, n)) };
                },
              },
            ],
          },
        },
        {
          // Every event from an author never seen: the connector asks users.get for the name before storing,
          // through vk-io's queue held to VK_API_LIMIT (20) requests/s per community.
          endpoint: `POST /webhooks/vk/${VK_GROUP} (every author new)`,
          source: `vk:${VK_GROUP}:public`,
          opts: {
            url: `${s.base}/webhooks/vk/${VK_GROUP}`,
            headers: { 'content-type': 'application/json' },
            requests: [
              {
                setupRequest: (req) => {
                  n++;
                  return { ...req, body: JSON.stringify(vkEnvelope(vkChatEvent(10_000_000 + n, n), n)) };
                },
              },
            ],
          },
        },
      ];
    const countOf = async (source: string) =>
      Number(
        (await s.db.query(`select count(*) from messages where source_id = $1`, [source])).rows[0].count,
      );
    for (const r of runs) {
      await r.warm?.();
      const before = await countOf(r.source);
      const { result, times } = await cannon({
        method: 'POST',
        connections: LOAD_CONNECTIONS,
        duration: LOAD_SECONDS,
        ...r.opts,
      });
      await sleep(500); // requests in flight when the clock stopped
      const stored = (await countOf(r.source)) - before;
      times.sort((a, b) => a - b);
      const res: LoadResult = {
        endpoint: r.endpoint,
        rps: result['2xx'] / LOAD_SECONDS,
        p50: pct(times, 50),
        p95: pct(times, 95),
        p99: pct(times, 99),
        ok: result['2xx'],
        non2xx: result.non2xx,
        errors: result.errors + result.timeouts,
        stored,
      };
      out.push(res);
      console.log(
        `${r.endpoint}: ${f0(res.rps)} requests/s (2xx), latency p50 ${f0(res.p50)} ms, p95 ${f0(res.p95)} ms, p99 ${f0(res.p99)} ms, non-2xx ${res.non2xx}, errors ${res.errors}; rows stored ${stored} (2xx ${res.ok})`,
      );
    }
    console.log();
    table(
      ['endpoint', 'requests/s', 'p50 ms', 'p95 ms', 'p99 ms', 'non-2xx', 'errors', 'rows stored'],
      out.map((r) => [r.endpoint, f0(r.rps), f0(r.p50), f0(r.p95), f0(r.p99), r.non2xx, r.errors, r.stored]),
    );
  } finally {
    await s.stop();
  }
  return out;
}

// ----- soak ------------------------------------------------------------------------------------------------

type Kind = 'ingest' | 'tg_public' | 'tg_private' | 'vk_public' | 'vk_private';
const SOURCE_OF: Record<Kind, string> = {
  ingest: 'api',
  tg_public: `telegram:${TG_BOT_ID}:public`,
  tg_private: `telegram:${TG_BOT_ID}`,
  vk_public: `vk:${VK_GROUP}:public`,
  vk_private: `vk:${VK_GROUP}`,
};

interface Sample {
  t: number;
  offered: number;
  accepted: number;
  failedRequests: number;
  stored: number;
  routed: number;
  failed: number;
  apiRss: number;
  apiHeap: number;
  workerRss: number;
  workerHeap: number;
  redisMb: number;
  redisKeys: number;
  pgConns: number;
  benchRss: number;
}

interface Request {
  t: number;
  kind: Kind;
  status: number;
  ms: number;
}

async function soakPhase(redisUrl: string, privateRedis: boolean) {
  const total = SOAK_MINUTES * 60;
  const avg =
    BURST_EVERY_S > 0
      ? (RATE * (BURST_EVERY_S - BURST_SECONDS) + BURST_RATE * BURST_SECONDS) / BURST_EVERY_S
      : RATE;
  console.log(
    `\n== 2. soak: ${SOAK_MINUTES} min at ${RATE}/s, bursts of ${BURST_RATE}/s for ${BURST_SECONDS} s every ${BURST_EVERY_S} s (≈ ${avg.toFixed(1)}/s on average, ≈ ${Math.round(avg * total).toLocaleString('en')} messages), mix ${JSON.stringify(MIX)}, private share of bot traffic ${PRIVATE_SHARE} ==`,
  );
  const s = await startStack(redisUrl, true);
  let lost = 0;
  try {
    const post = async (url: string, body: unknown, headers: Record<string, string> = {}) => {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
      await res.arrayBuffer();
      return res.status;
    };
    const ingest = (body: unknown) =>
      post(`${s.base}/api/v1/messages`, body, { authorization: `Bearer ${INGEST_TOKEN}` });
    let updateId = 1;
    const tgPost = (update: Record<string, unknown>) =>
      post(
        `${s.base}/webhooks/telegram/${TG_BOT_ID}`,
        { ...update, update_id: updateId++ },
        { 'x-telegram-bot-api-secret-token': s.tgSecret },
      );
    let vkN = 0;
    const vkPost = (ev: { type: string; object: Record<string, unknown> }) =>
      post(`${s.base}/webhooks/vk/${VK_GROUP}`, vkEnvelope(ev, ++vkN));

    // Warm-up: the worker loads its models; the first message routed says the pipeline is up.
    const t0 = Date.now();
    const warm = await ingest({
      source: 'api',
      externalId: 'warm-up',
      text: textFor(1),
      author: { id: 'warm' },
      postedAt: new Date().toISOString(),
    });
    if (warm !== 202) throw new Error(`warm-up ingest answered ${warm}`);
    for (;;) {
      const r = await s.db.query(`select 1 from messages where state = 'routed'`);
      if (r.rowCount) break;
      if (Date.now() - t0 > 180_000) throw new Error('the worker routed nothing in 180 s');
      await sleep(250);
    }
    console.log(
      `worker up: first message routed ${((Date.now() - t0) / 1000).toFixed(1)} s after it started`,
    );

    // Citizens who gave consent in the bots (/start, then «Согласен»): their appeals are stored.
    const tgCitizens = Array.from({ length: CITIZENS }, (_, i) => ({
      id: 9_100_000 + i,
      first_name: RU_NAMES[i % RU_NAMES.length]!,
    }));
    const vkCitizens = Array.from({ length: CITIZENS }, (_, i) => 300_000 + i);
    for (const u of tgCitizens) {
      await tgPost(s.tg.updates.privateText(u, '/start'));
      // The greeting with the consent buttons was sent before the webhook answered: press its button.
      const greeting = s.tg
        .sent(TG_BOT)
        .filter((r) => r.chat_id === String(u.id))
        .at(-1);
      await tgPost(
        s.tg.updates.callback(u, 'consent:yes', { chat_id: u.id, message_id: greeting?.message_id ?? 1 }),
      );
    }
    for (const u of vkCitizens) {
      await vkPost(s.vk.events.messageNew({ fromId: u, text: 'Начать' }));
      await vkPost(s.vk.events.messageNew({ fromId: u, text: 'Согласен', payload: '{"d":"consent:yes"}' }));
    }
    const consented = Number(
      (await s.db.query(`select count(*) from authors where consent_personal_data`)).rows[0].count,
    );
    if (consented !== 2 * CITIZENS)
      throw new Error(`${consented} citizens consented, ${2 * CITIZENS} expected`);
    console.log(`${consented} citizens consented (${CITIZENS} in Telegram, ${CITIZENS} in VK)`);

    const startId = Number((await s.db.query('select coalesce(max(id), 0) as m from messages')).rows[0].m);
    const confirmedBefore = {
      tg: s.tg.sent(TG_BOT).filter((r) => /зарегистрировано/.test(r.text ?? '')).length,
      vk: s.vk.sent(VK_GROUP).filter((r) => /зарегистрировано/.test(r.message)).length,
    };

    // The driver: open loop, the schedule decides, not the answers.
    const rnd = prng(42);
    const weights = [
      ['ingest', MIX.ingest ?? 0],
      ['tg', MIX.telegram ?? 0],
      ['vk', MIX.vk ?? 0],
    ] as const;
    const wsum = weights.reduce((a, [, w]) => a + w, 0);
    const pickKind = (): Kind => {
      let x = rnd() * wsum;
      let door: 'ingest' | 'tg' | 'vk' = 'ingest';
      for (const [k, w] of weights) {
        if (x < w) {
          door = k;
          break;
        }
        x -= w;
      }
      if (door === 'ingest') return 'ingest';
      const priv = rnd() < PRIVATE_SHARE;
      return door === 'tg' ? (priv ? 'tg_private' : 'tg_public') : priv ? 'vk_private' : 'vk_public';
    };
    const requests: Request[] = [];
    const inFlight = new Set<Promise<void>>();
    const startedAt = Date.now();
    const soakStart = new Date(startedAt);
    let offered = 0;
    const fire = (n: number) => {
      const kind = pickKind();
      const t = (Date.now() - startedAt) / 1000;
      const text = textFor(n);
      const author = 6_000_000 + (n % 3000);
      const t1 = performance.now();
      let send: Promise<number>;
      switch (kind) {
        case 'ingest':
          send = ingest({
            source: 'api',
            externalId: `soak-${n}`,
            text,
            author: { id: `a-${author}` },
            postedAt: new Date().toISOString(),
          });
          break;
        case 'tg_public':
          send = tgPost(
            n % 2
              ? s.tg.updates.channelPost(CHANNELS[n % CHANNELS.length]!, text)
              : s.tg.updates.groupMessage(
                  GROUPS[n % GROUPS.length]!,
                  { id: author, first_name: RU_NAMES[n % RU_NAMES.length]! },
                  text,
                ),
          );
          break;
        case 'tg_private':
          send = tgPost(s.tg.updates.privateText(tgCitizens[n % tgCitizens.length]!, text));
          break;
        case 'vk_public':
          send = vkPost(
            n % 2
              ? s.vk.events.messageNew({ fromId: author, peerId: CHAT_PEER_BASE + 1 + (n % 5), text })
              : s.vk.events.wallReplyNew({ groupId: VK_GROUP, postId: 1 + (n % 40), fromId: author, text }),
          );
          break;
        case 'vk_private':
          send = vkPost(s.vk.events.messageNew({ fromId: vkCitizens[n % vkCitizens.length]!, text }));
          break;
      }
      const p = send
        .catch(() => 0)
        .then((status) => {
          requests.push({ t, kind, status, ms: performance.now() - t1 });
        });
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    };
    const rateAt = (t: number) => {
      if (BURST_EVERY_S <= 0 || BURST_SECONDS <= 0) return RATE;
      const inPeriod = t % BURST_EVERY_S;
      return inPeriod >= BURST_OFFSET_S && inPeriod < BURST_OFFSET_S + BURST_SECONDS ? BURST_RATE : RATE;
    };

    const samples: Sample[] = [];
    const sample = async (t: number): Promise<Sample> => {
      const [m, conns, info, keys] = await Promise.all([
        s.db.query(
          `select count(*) as stored, count(*) filter (where state = 'routed') as routed,
                  count(*) filter (where state = 'failed') as failed
           from messages where id > $1`,
          [startId],
        ),
        s.db.query(`select count(*) from pg_stat_activity where datname = current_database()`),
        s.redis.info('memory').catch(() => ''),
        privateRedis ? s.redis.dbsize().catch(() => NaN) : Promise.resolve(NaN),
      ]);
      const api = s.probe('api');
      const worker = s.probe('worker');
      const row = m.rows[0] as { stored: string; routed: string; failed: string };
      return {
        t,
        offered,
        accepted: requests.filter((r) => r.status >= 200 && r.status < 300).length,
        failedRequests: requests.filter((r) => r.status < 200 || r.status >= 300).length,
        stored: Number(row.stored),
        routed: Number(row.routed),
        failed: Number(row.failed),
        apiRss: rssMbOf(s.api.pid),
        apiHeap: api ? api.heapUsed / MB : NaN,
        workerRss: rssMbOf(s.worker?.pid),
        workerHeap: worker ? worker.heapUsed / MB : NaN,
        redisMb: Number(/used_memory:(\d+)/.exec(info)?.[1] ?? NaN) / MB,
        redisKeys: keys,
        pgConns: Number(conns.rows[0].count),
        benchRss: process.memoryUsage().rss / MB,
      };
    };
    const printSample = (x: Sample) =>
      console.log(
        `t=${String(x.t).padStart(4)} s  offered ${x.offered}, accepted ${x.accepted}, stored ${x.stored}, routed ${x.routed}` +
          `${x.failed ? `, failed ${x.failed}` : ''}${x.failedRequests ? `, non-2xx/errors ${x.failedRequests}` : ''} | RSS api ${f0(x.apiRss)} MB, worker ${f0(x.workerRss)} MB | heap api ${f0(x.apiHeap)} MB, worker ${f0(x.workerHeap)} MB | redis ${f1(x.redisMb)} MB | pg ${x.pgConns}`,
      );

    samples.push(await sample(0));
    printSample(samples[0]!);
    let due = 0;
    let last = 0;
    let nextSample = SAMPLE_S;
    let sampling: Promise<void> | undefined;
    for (;;) {
      const t = (Date.now() - startedAt) / 1000;
      if (t >= total) break;
      due += rateAt(t) * (t - last);
      last = t;
      while (offered < Math.floor(due)) fire(++offered);
      if (t >= nextSample && !sampling) {
        const at = nextSample;
        nextSample += SAMPLE_S;
        sampling = sample(at).then((x) => {
          samples.push(x);
          printSample(x);
          sampling = undefined;
        });
      }
      await sleep(10);
    }
    await sampling;
    await Promise.all([...inFlight]);
    const finalSample = await sample(total);
    samples.push(finalSample);
    printSample(finalSample);

    // Drain: everything accepted must reach an incident.
    const drainStart = Date.now();
    for (;;) {
      const r = (
        await s.db.query(
          `select count(*) filter (where state not in ('routed', 'failed')) as left from messages where id > $1`,
          [startId],
        )
      ).rows[0] as { left: string };
      if (Number(r.left) === 0 || Date.now() - drainStart > DRAIN_S * 1000) break;
      await sleep(500);
    }
    const drainS = (Date.now() - drainStart) / 1000;
    // Confirmations go out through the send queue; give the last ones a moment.
    const privates = requests.filter((r) => r.kind.endsWith('private') && r.status === 200);
    const confirmed = () => ({
      tg: s.tg.sent(TG_BOT).filter((r) => /зарегистрировано/.test(r.text ?? '')).length - confirmedBefore.tg,
      vk: s.vk.sent(VK_GROUP).filter((r) => /зарегистрировано/.test(r.message)).length - confirmedBefore.vk,
    });
    for (let i = 0; i < 40; i++) {
      const c = confirmed();
      if (c.tg + c.vk >= privates.length) break;
      await sleep(250);
    }

    // ---- results ----
    const ok = (r: Request) => r.status >= 200 && r.status < 300;
    const accepted = requests.filter(ok);
    console.log(
      `\nsoak: ${offered} requests offered in ${total} s (${(offered / total).toFixed(2)}/s), ${accepted.length} accepted, ${requests.length - accepted.length} non-2xx or failed; drain after the end ${drainS.toFixed(1)} s`,
    );

    // HTTP latency per door.
    const httpRows = (Object.keys(SOURCE_OF) as Kind[]).map((k) => {
      const rs = requests.filter((r) => r.kind === k);
      const ms = rs.map((r) => r.ms).sort((a, b) => a - b);
      return [k, rs.length, rs.filter(ok).length, f0(pct(ms, 50)), f0(pct(ms, 95)), f0(pct(ms, 99))];
    });
    const allMs = requests.map((r) => r.ms).sort((a, b) => a - b);
    httpRows.push([
      'all',
      requests.length,
      accepted.length,
      f0(pct(allMs, 50)),
      f0(pct(allMs, 95)),
      f0(pct(allMs, 99)),
    ]);
    console.log('\nHTTP answers during the soak:');
    table(['door', 'sent', '2xx', 'p50 ms', 'p95 ms', 'p99 ms'], httpRows);

    // End-to-end latency per minute (by the minute of receipt), from the database.
    const e2e = (
      await s.db.query(
        `select least(greatest(floor(extract(epoch from (received_at - $2::timestamptz)) / 60), 0), $3)::int as m,
                count(*) as n,
                percentile_cont(array[0.5, 0.95, 0.99]) within group
                  (order by extract(epoch from (routed_at - received_at)) * 1000) as p
         from messages where id > $1 and routed_at is not null group by 1 order by 1`,
        [startId, soakStart, Math.max(0, Math.ceil(total / 60) - 1)], // messages received after the end (requests in flight) count in the last minute
      )
    ).rows as { m: number; n: string; p: number[] }[];
    const e2eAll = (
      await s.db.query(
        `select percentile_cont(array[0.5, 0.95, 0.99]) within group
                  (order by extract(epoch from (routed_at - received_at)) * 1000) as p, max(extract(epoch from (routed_at - received_at)) * 1000) as max
         from messages where id > $1 and routed_at is not null`,
        [startId],
      )
    ).rows[0] as { p: number[] | null; max: number | null };

    const minutes = Math.ceil(total / 60);
    const perMinute = Array.from({ length: minutes }, (_, m) => {
      const rs = requests.filter((r) => r.t >= m * 60 && r.t < (m + 1) * 60);
      const ms = rs.map((r) => r.ms).sort((a, b) => a - b);
      const e = e2e.find((x) => Number(x.m) === m);
      const at = samples.filter((x) => x.t <= (m + 1) * 60).at(-1)!;
      const inMinute = samples.filter((x) => x.t > m * 60 && x.t <= (m + 1) * 60);
      return {
        minute: m + 1,
        offered: rs.length,
        accepted: rs.filter(ok).length,
        routed: e ? Number(e.n) : 0,
        httpP95: pct(ms, 95),
        e2eP50: e?.p[0] ?? NaN,
        e2eP95: e?.p[1] ?? NaN,
        e2eP99: e?.p[2] ?? NaN,
        apiRss: at.apiRss,
        apiHeap: at.apiHeap,
        workerRss: at.workerRss,
        workerHeap: at.workerHeap,
        redisMb: at.redisMb,
        pgConns: Math.max(...inMinute.map((x) => x.pgConns), at.pgConns),
      };
    });
    console.log(
      '\nPer minute (messages by the minute they were sent/received; memory at the end of the minute; PostgreSQL connections: the most seen):',
    );
    table(
      [
        'min',
        'offered',
        '2xx',
        'routed',
        'HTTP p95 ms',
        'e2e p50 ms',
        'e2e p95 ms',
        'e2e p99 ms',
        'API RSS MB',
        'API heap MB',
        'worker RSS MB',
        'worker heap MB',
        'Redis MB',
        'PG conns',
      ],
      perMinute.map((r) => [
        r.minute,
        r.offered,
        r.accepted,
        r.routed,
        f0(r.httpP95),
        f0(r.e2eP50),
        f0(r.e2eP95),
        f0(r.e2eP99),
        f0(r.apiRss),
        f0(r.apiHeap),
        f0(r.workerRss),
        f0(r.workerHeap),
        f1(r.redisMb),
        r.pgConns,
      ]),
    );
    const [p50, p95, p99] = e2eAll.p ?? [NaN, NaN, NaN];
    console.log(
      `end to end (ingest → incident) over the soak: p50 ${f0(p50!)} ms, p95 ${f0(p95!)} ms, p99 ${f0(p99!)} ms, max ${f0(Number(e2eAll.max))} ms`,
    );
    // Steady seconds against burst seconds, and the worst 10-s window (by the second of receipt).
    const each = (
      await s.db.query(
        `select extract(epoch from (received_at - $2::timestamptz)) as t,
                extract(epoch from (routed_at - received_at)) * 1000 as ms,
                extract(epoch from (analyzed_at - received_at)) * 1000 as analyze_ms
         from messages where id > $1 and routed_at is not null`,
        [startId, soakStart],
      )
    ).rows.map((r: { t: number; ms: number; analyze_ms: number }) => ({
      t: Number(r.t),
      ms: Number(r.ms),
      analyzeMs: Number(r.analyze_ms),
    }));
    const split = (burst: boolean) => {
      const xs = each.filter(
        (x) => (rateAt(Math.max(0, x.t)) === BURST_RATE && BURST_RATE !== RATE) === burst,
      );
      const sorted = (get: (x: (typeof xs)[number]) => number) => xs.map(get).sort((a, b) => a - b);
      return Object.assign(
        sorted((x) => x.ms),
        {
          analyze: sorted((x) => x.analyzeMs),
          route: sorted((x) => x.ms - x.analyzeMs),
        },
      );
    };
    const steadyMs = split(false);
    const burstMs = split(true);
    const windows = new Map<number, number[]>();
    for (const x of each) {
      const w = Math.floor(Math.max(0, x.t) / 10) * 10;
      windows.set(w, [...(windows.get(w) ?? []), x.ms]);
    }
    const windowP95 = [...windows.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([w, ms]) => ({
        t: w,
        n: ms.length,
        p95: pct(
          ms.sort((a, b) => a - b),
          95,
        ),
      }));
    const worst = windowP95.reduce((a, b) => (b.p95 > a.p95 ? b : a), windowP95[0]!);
    console.log(
      `  steady seconds (${RATE}/s): ${steadyMs.length} messages, p50 ${f0(pct(steadyMs, 50))} ms, p95 ${f0(pct(steadyMs, 95))} ms, p99 ${f0(pct(steadyMs, 99))} ms (p95 received → analysed ${f0(pct(steadyMs.analyze, 95))} ms, analysed → routed ${f0(pct(steadyMs.route, 95))} ms)` +
        `\n  burst seconds (${BURST_RATE}/s): ${burstMs.length} messages, p50 ${f0(pct(burstMs, 50))} ms, p95 ${f0(pct(burstMs, 95))} ms, p99 ${f0(pct(burstMs, 99))} ms (p95 received → analysed ${f0(pct(burstMs.analyze, 95))} ms, analysed → routed ${f0(pct(burstMs.route, 95))} ms)` +
        (worst
          ? `\n  worst 10-s window: t = ${worst.t}–${worst.t + 10} s, ${worst.n} messages, p95 ${f0(worst.p95)} ms`
          : ''),
    );
    console.log(`  p95 per 10-s window (ms): ${windowP95.map((w) => f0(w.p95)).join(' ')}`);

    // Memory: slope over the second half.
    const half = samples.filter((x) => x.t >= total / 2);
    const series: [string, (x: Sample) => number][] = [
      ['API RSS', (x) => x.apiRss],
      ['API heap used', (x) => x.apiHeap],
      ['worker RSS', (x) => x.workerRss],
      ['worker heap used', (x) => x.workerHeap],
      ['Redis used_memory', (x) => x.redisMb],
    ];
    console.log(
      `\nMemory over the second half of the soak (${half.length} samples, t ≥ ${total / 2} s; least-squares slope; flat when |slope| < ${GROWTH_LIMIT} MB/min):`,
    );
    const verdicts = series.map(([name, get]) => {
      const sl = slope(half.map((x) => ({ x: x.t / 60, y: get(x) })));
      const all = samples.map(get).filter(Number.isFinite);
      const verdict = !Number.isFinite(sl)
        ? 'too few samples'
        : Math.abs(sl) < GROWTH_LIMIT
          ? 'flat (within noise)'
          : sl > 0
            ? 'GROWS'
            : 'shrinks';
      return [
        name,
        f1(get(samples[0]!)),
        f1(get(half[0] ?? samples[0]!)),
        f1(get(samples.at(-1)!)),
        f1(Math.max(...all)),
        f2(sl),
        verdict,
      ];
    });
    table(['series', 'start MB', 'half-time MB', 'end MB', 'peak MB', 'slope MB/min', 'verdict'], verdicts);
    if (SOAK_MINUTES < 4)
      console.log(
        `(a ${SOAK_MINUTES}-minute run has too short a second half for a verdict on growth: take it as a smoke check)`,
      );
    const kept = await Promise.all(
      QUEUE_NAMES.map(
        async (q) => [q, await s.redis.zcard(`${s.prefix}:${q}:completed`).catch(() => 0)] as const,
      ),
    );
    console.log(
      `Redis keys at the end: ${finalSample.redisKeys}; completed jobs kept: ${kept
        .filter(([, n]) => n)
        .map(([q, n]) => `${q} ${n}`)
        .join(
          ', ',
        )} (BullMQ keeps a finished job 1 h, at most 5,000 per queue: Redis climbs until that cap by design)`,
    );
    console.log(`this process (emulators, driver) RSS ${f0(finalSample.benchRss)} MB`);

    // The one assertion: nothing accepted was lost.
    const rows = (
      await s.db.query(
        `select source_id, count(*) as stored, count(*) filter (where state = 'routed') as routed,
                count(*) filter (where state = 'failed') as failed
         from messages where id > $1 group by 1`,
        [startId],
      )
    ).rows as { source_id: string; stored: string; routed: string; failed: string }[];
    console.log(
      '\nNo message lost? (accepted = 2xx answers; every accepted message must be stored and routed)',
    );
    const lossRows = (Object.keys(SOURCE_OF) as Kind[]).map((k) => {
      const acc = requests.filter((r) => r.kind === k && ok(r)).length;
      const row = rows.find((r) => r.source_id === SOURCE_OF[k]);
      const stored = Number(row?.stored ?? 0);
      const routed = Number(row?.routed ?? 0);
      const missing = Math.max(0, acc - routed);
      lost += missing;
      return [k, SOURCE_OF[k], acc, stored, routed, Number(row?.failed ?? 0), missing];
    });
    table(['door', 'source', 'accepted', 'stored', 'routed', 'failed', 'lost'], lossRows);
    const c = confirmed();
    console.log(
      `confirmations delivered to citizens' private chats: Telegram ${c.tg}, VK ${c.vk} (of ${privates.length} private appeals accepted)`,
    );
    console.log(lost === 0 ? 'no message lost' : `LOST: ${lost} accepted message(s) not routed`);

    if (process.env.SOAK_JSON)
      fs.writeFileSync(
        process.env.SOAK_JSON,
        JSON.stringify(
          { samples, perMinute, e2e: { p50, p95, p99 }, windowP95, verdicts, lossRows },
          null,
          1,
        ),
      );
  } finally {
    await s.stop();
  }
  return lost;
}

async function main() {
  console.log(machineLine());
  let redisUrl = process.env.BENCH_REDIS_URL;
  const redis = redisUrl ? undefined : await startPrivateRedis();
  redisUrl ??= redis!.url;
  console.log(
    redis
      ? `private redis-server at ${redisUrl}`
      : `Redis at ${redisUrl} (shared: its memory figures include other users)`,
  );
  let lost = 0;
  try {
    if (PHASES.has('load') && LOAD_SECONDS > 0) await loadPhase(redisUrl);
    if (PHASES.has('soak') && SOAK_MINUTES > 0) lost = await soakPhase(redisUrl, !!redis);
  } finally {
    await redis?.stop();
  }
  process.exit(lost ? 1 : 0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
