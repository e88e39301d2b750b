/**
 * bench/faults.ts — faults while messages stream in: nothing lost, nothing done twice, nothing stuck.
 *
 *   npx tsx bench/faults.ts          (npm run bench:faults; FAULT_WINDOW_S=10 for a quick run)
 *
 * Everything is its own and on loopback: a PostgreSQL cluster made with initdb in a temp dir (as the
 * `postgres` user when run as root), a redis-server on a free port (append-only file, like the private one
 * of `npm start`), the Telegram Bot API and VK API emulators of test/emulators in this process behind a
 * small fault-injecting proxy, and the app as child processes started like production: `otklik start`
 * with ROLES=api,connectors (HTTP API, Telegram long polling, VK Bots Long Poll) and one `otklik worker`.
 * The machine's PostgreSQL (5432) and Redis (6379) are never touched.
 *
 * While the faults run, a steady stream flows: HTTP ingest (FAULT_HTTP_RATE/s, retried by the client until
 * accepted, as an integration would), citizens writing to the Telegram bot (FAULT_TG_RATE/s) and to the VK
 * community (FAULT_VK_RATE/s), each message with a unique marker; the reply drafts of new incidents are
 * approved through the API (so official replies go out to the citizens), incident cards go to the block
 * chats through the staff bot, and two campaigns (segment + approval through the API) broadcast during the
 * faults. Faults, in sequence, each followed by FAULT_GAP_S of observation:
 *
 *   1. `otklik worker` killed with SIGKILL, restarted after FAULT_DOWN_S;
 *   2. the API process (and its connectors) killed with SIGKILL, restarted after FAULT_DOWN_S;
 *   3. Redis stopped (SIGTERM, the append-only file is kept), started again after FAULT_DOWN_S;
 *   4. Redis killed and its files deleted: it comes back empty, as a Redis without persistence does — every
 *      queued, delayed and active job, the repeatable jobs, the send limiter's slots and the campaign
 *      leases are gone, and the sweeper must rebuild the work from PostgreSQL;
 *   5. PostgreSQL restarted with `pg_ctl stop -m fast` (connections cut), down FAULT_DOWN_S;
 *   6. PostgreSQL restarted with `pg_ctl stop -m immediate` (a crash: WAL recovery at start);
 *   7. Telegram answers 500/502 and VK error 10 / HTTP 500 to every API call for FAULT_WINDOW_S (default
 *      60 s), a second campaign starting at its beginning;
 *   8. then Telegram answers 429 with retry_after and VK errors 6 and 9 for FAULT_WINDOW_S.
 *
 * After the streams stop and the backlog drains (at most FAULT_DRAIN_S), it checks from PostgreSQL and the
 * emulators' records: each marker stored exactly once and routed; every incident counts exactly its
 * messages, has one card and one draft, and the messages of one problem (same text, sector and
 * municipality) are in one incident; no chat received the same message twice (replies, confirmations,
 * cards, campaign messages); every outbox row sent, every approved draft's reply queued, every campaign
 * delivery sent (`uncertain` ones — a Telegram send whose answer was lost in a crash, never resent — are
 * listed and looked up in the emulator); no job left in a queue. It prints the table of faults and what
 * was lost, duplicated or stuck, and exits 1 unless all of it is zero.
 *
 * Knobs: FAULT_WINDOW_S (60), FAULT_GAP_S (25), FAULT_DOWN_S (4), FAULT_HTTP_RATE (20), FAULT_TG_RATE (4),
 * FAULT_VK_RATE (2), FAULT_DRAIN_S (150), FAULT_CAMPAIGN_SCALE (1), FAULT_KEEP=1 keeps the temp dir (logs
 * of both processes, PostgreSQL and Redis) and prints where it is.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import pg from 'pg';
import { startTelegramEmulator, type TelegramEmulator } from '../test/emulators/telegram.ts';
import { startVkEmulator, type VkEmulator } from '../test/emulators/vk.ts';
import { MUNICIPALITIES } from '../src/domain/municipalities.ts';
import { QUEUE_NAMES } from '../src/workers/queues.ts';
import { envNumber, freePort, sleep } from './common.ts';

const num = envNumber;
const WINDOW_S = num('FAULT_WINDOW_S', 60);
const GAP_S = num('FAULT_GAP_S', 25);
const DOWN_S = num('FAULT_DOWN_S', 4);
const HTTP_RATE = num('FAULT_HTTP_RATE', 20);
const TG_RATE = num('FAULT_TG_RATE', 4);
const VK_RATE = num('FAULT_VK_RATE', 2);
const DRAIN_S = num('FAULT_DRAIN_S', 150);
const SCALE = num('FAULT_CAMPAIGN_SCALE', 1);
const KEEP = process.env.FAULT_KEEP === '1';
/** Drafts are approved once they are this old, so several citizens' messages get the reply. */
const APPROVE_AFTER_MS = 8000;
/** Telegram's retry_after during the 429 window, seconds. */
const RETRY_AFTER_S = 5;

const CITIZEN_BOT = '710000001:AAfaults-citizen-bot-token-012345';
const STAFF_BOT = '710000002:AAfaults-staff-bot-token-0123456';
const GROUP = 781000;
const VK_TOKEN = 'vk1.a.faults-community-token';
const INGEST_TOKEN = 'faults-ingest-token-0123456789';
const API_TOKEN = 'faults-api-token-0123456789abcdef';
const PREFIX = 'faults';

const TG_CITIZENS = Array.from({ length: 400 }, (_, i) => 5_000_001 + i);
const VK_CITIZENS = Array.from({ length: 300 }, (_, i) => 6_000_001 + i);

/** One problem = one template × one municipality: its messages must all land in one incident. */
const TEMPLATES = [
  'Уже неделю не вывозят мусор, {place}, ул. Садовая, 12. Контейнеры переполнены.',
  'Нет горячей воды третий день, {place}, ул. Попова, 31. Управляющая компания не отвечает.',
  'Огромная яма на дороге, {place}, пр. Ленина, 40, машины объезжают по встречке.',
  'Автобус не ходит по расписанию, {place}, остановка на ул. Мира, 7, ждали 50 минут.',
  'В поликлинике невозможно записаться к терапевту, {place}, ул. Гагарина, 15, талонов нет.',
  'Во дворе дома не горят фонари, {place}, ул. Малахова, 86, вечером темно.',
  'Отключили свет, {place}, ул. Вокзальная, 3, шесть часов без электричества.',
  'Третий месяц задерживают зарплату на предприятии, {place}, ул. Заводская, 9.',
];
/** A new problem every PROBLEM_EVERY_MS; each message picks one of the ACTIVE newest. */
const PROBLEM_EVERY_MS = 3000;
const ACTIVE = 4;
const problemText = (k: number) =>
  TEMPLATES[k % TEMPLATES.length]!.replace(
    '{place}',
    MUNICIPALITIES[Math.floor(k / TEMPLATES.length) % MUNICIPALITIES.length]!.name,
  );
const MARKER_RE = /метка ([HTV]\d{6})/;

let T0 = Date.now();
const rel = (ms: number) => (ms - T0) / 1000;
const log = (msg: string) => console.log(`[${rel(Date.now()).toFixed(1).padStart(6)} s] ${msg}`);

// ---------------------------------------------------------------------------------------------------------
// PostgreSQL of our own (initdb into the temp dir, a free port, loopback only)
// ---------------------------------------------------------------------------------------------------------

function pgBinDir(): string {
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim()) return path.dirname(fs.realpathSync(which.stdout.trim()));
  const base = '/usr/lib/postgresql';
  const versions = fs.existsSync(base) ? fs.readdirSync(base).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions)
    if (fs.existsSync(path.join(base, v, 'bin', 'initdb'))) return path.join(base, v, 'bin');
  throw new Error('initdb not found (install postgresql, or put its bin directory on PATH)');
}

class PgServer {
  readonly url: string;
  private readonly bin = pgBinDir();
  private readonly runDir: string;
  private readonly dataDir: string;
  /** initdb and postgres refuse to run as root: then they run as the `postgres` user. */
  private readonly asRoot = process.getuid?.() === 0;

  constructor(
    root: string,
    readonly port: number,
  ) {
    this.runDir = path.join(root, 'pg');
    this.dataDir = path.join(this.runDir, 'data');
    this.url = `postgres://postgres@127.0.0.1:${port}/otklik`;
  }

  private command(cmd: string, args: string[]): [string, string[]] {
    const exe = path.join(this.bin, cmd);
    return this.asRoot ? ['runuser', ['-u', 'postgres', '--', exe, ...args]] : [exe, args];
  }

  private runSync(cmd: string, args: string[]) {
    const [exe, argv] = this.command(cmd, args);
    const r = spawnSync(exe, argv, { encoding: 'utf8', timeout: 120_000 });
    if (r.status !== 0)
      throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout || r.error}`);
  }

  /** Asynchronous: the emulators live in this process, their event loop must not stop while pg_ctl waits. */
  private run(cmd: string, args: string[]) {
    const [exe, argv] = this.command(cmd, args);
    return new Promise<void>((resolve, reject) => {
      const c = spawn(exe, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      c.stdout.on('data', (d: Buffer) => (out += d.toString()));
      c.stderr.on('data', (d: Buffer) => (out += d.toString()));
      c.once('error', reject);
      c.once('exit', (code) =>
        code === 0
          ? resolve()
          : reject(new Error(`${cmd} ${args.join(' ')} failed (${code}): ${out.trim()}`)),
      );
    });
  }

  init() {
    fs.mkdirSync(this.runDir, { recursive: true });
    if (this.asRoot) {
      const id = (flag: string) =>
        Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
      fs.chownSync(this.runDir, id('-u'), id('-g'));
    }
    const locale = spawnSync('locale', ['-a'], { encoding: 'utf8' }).stdout.match(/^C\.utf-?8$/im)?.[0];
    this.runSync('initdb', [
      '-D',
      this.dataDir,
      '-U',
      'postgres',
      '-A',
      'trust',
      '-E',
      'UTF8',
      ...(locale ? [`--locale=${locale}`] : ['--no-locale']),
      '--no-sync',
    ]);
  }

  start() {
    const opts = [
      `-p ${this.port}`,
      '-c listen_addresses=127.0.0.1',
      `-k ${this.runDir}`,
      '-c max_connections=100',
      // The data directory is throw-away: no fsync (a crash of PostgreSQL itself, which is what
      // `stop -m immediate` is, loses nothing without it; only an OS crash would).
      '-c fsync=off',
      '-c full_page_writes=off',
    ].join(' ');
    return this.run('pg_ctl', [
      '-D',
      this.dataDir,
      '-l',
      path.join(this.runDir, 'log'),
      '-w',
      '-t',
      '60',
      '-o',
      opts,
      'start',
    ]);
  }

  stop(mode: 'fast' | 'immediate') {
    return this.run('pg_ctl', ['-D', this.dataDir, '-m', mode, '-w', '-t', '60', 'stop']);
  }

  stopQuietly() {
    try {
      this.runSync('pg_ctl', ['-D', this.dataDir, '-m', 'immediate', '-w', '-t', '60', 'stop']);
    } catch {
      /* not running */
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Redis of our own (a free port, append-only file in the temp dir)
// ---------------------------------------------------------------------------------------------------------

class RedisServer {
  private child?: ChildProcess;
  readonly url: string;
  private readonly dir: string;

  constructor(
    root: string,
    readonly port: number,
    private readonly bin = process.env.REDIS_SERVER_BIN ?? 'redis-server',
  ) {
    this.dir = path.join(root, 'redis');
    this.url = `redis://127.0.0.1:${port}`;
  }

  async start() {
    fs.mkdirSync(this.dir, { recursive: true });
    const out = fs.openSync(path.join(this.dir, '..', 'redis.log'), 'a');
    const c = spawn(
      this.bin,
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--dir',
        this.dir,
        '--appendonly',
        'yes',
        '--appendfsync',
        'everysec',
        '--save',
        '',
        '--daemonize',
        'no',
      ],
      { stdio: ['ignore', out, out] },
    );
    fs.closeSync(out);
    this.child = c;
    const until = Date.now() + 15_000;
    for (;;) {
      if (c.exitCode !== null) throw new Error(`redis-server exited with ${c.exitCode}`);
      if (await this.ping()) return;
      if (Date.now() > until) throw new Error('redis-server did not answer PING');
      await sleep(50);
    }
  }

  private ping() {
    return new Promise<boolean>((resolve) => {
      const s = net.connect(this.port, '127.0.0.1');
      s.setTimeout(500);
      s.once('connect', () => s.write('PING\r\n'));
      s.once('data', (d) => {
        s.destroy();
        resolve(d.toString().startsWith('+PONG'));
      });
      s.once('error', () => resolve(false));
      s.once('timeout', () => {
        s.destroy();
        resolve(false);
      });
    });
  }

  /** SIGTERM (Redis fsyncs its append-only file and exits) or SIGKILL. */
  async stop(signal: 'SIGTERM' | 'SIGKILL') {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise((r) => c.once('exit', r));
    c.kill(signal);
    await Promise.race([gone, sleep(10_000)]);
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }

  wipe() {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------
// A proxy in front of an emulator that answers every API call with an error while a fault is on
// ---------------------------------------------------------------------------------------------------------

type FaultMode = 'none' | '5xx' | '429';
interface FaultAnswer {
  status: number;
  type: string;
  body: string;
}
interface FaultProxy {
  url: string;
  mode: FaultMode;
  /** Calls answered with an injected error, per mode. */
  injected: Record<FaultMode, number>;
  close(): Promise<void>;
}

async function startFaultProxy(
  target: string,
  faulted: (urlPath: string) => boolean,
  answer: (mode: Exclude<FaultMode, 'none'>, urlPath: string, n: number) => FaultAnswer,
): Promise<FaultProxy> {
  const t = new URL(target);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  const proxy: FaultProxy = {
    url: '',
    mode: 'none',
    injected: { none: 0, '5xx': 0, '429': 0 },
    close: async () => {},
  };
  const server = http.createServer((req, res) => {
    const urlPath = req.url ?? '/';
    if (proxy.mode !== 'none' && faulted(urlPath)) {
      const n = proxy.injected[proxy.mode]++;
      const a = answer(proxy.mode, urlPath, n);
      req.resume();
      req.on('end', () => {
        res.writeHead(a.status, { 'content-type': a.type, 'content-length': Buffer.byteLength(a.body) });
        res.end(a.body);
      });
      return;
    }
    const up = http.request(
      { host: t.hostname, port: t.port, path: urlPath, method: req.method, headers: req.headers, agent },
      (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        ur.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    req.pipe(up);
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  proxy.url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  proxy.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
      agent.destroy();
    });
  return proxy;
}

const telegramFault = (mode: Exclude<FaultMode, 'none'>, _p: string, n: number): FaultAnswer => {
  if (mode === '429')
    return {
      status: 429,
      type: 'application/json',
      body: JSON.stringify({
        ok: false,
        error_code: 429,
        description: `Too Many Requests: retry after ${RETRY_AFTER_S}`,
        parameters: { retry_after: RETRY_AFTER_S },
      }),
    };
  const code = n % 2 ? 502 : 500;
  return {
    status: code,
    type: 'application/json',
    body: JSON.stringify({
      ok: false,
      error_code: code,
      description: code === 500 ? 'Internal Server Error' : 'Bad Gateway',
    }),
  };
};

const vkFault = (mode: Exclude<FaultMode, 'none'>, p: string, n: number): FaultAnswer => {
  const method = p.split('?')[0]!.replace(/^\/method\//, '');
  const vkError = (code: number, msg: string) => ({
    status: 200,
    type: 'application/json',
    body: JSON.stringify({
      error: {
        error_code: code,
        error_msg: msg,
        request_params: [
          { key: 'method', value: method },
          { key: 'oauth', value: '1' },
          { key: 'v', value: '5.199' },
        ],
      },
    }),
  });
  if (mode === '429') return n % 2 ? vkError(9, 'Flood control') : vkError(6, 'Too many requests per second');
  if (n % 2) return vkError(10, 'Internal server error');
  const title = '500 Internal Server Error';
  return {
    status: 500,
    type: 'text/html',
    body: `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`,
  };
};

// ---------------------------------------------------------------------------------------------------------
// The bench
// ---------------------------------------------------------------------------------------------------------

interface SentMarker {
  marker: string;
  channel: 'http' | 'telegram' | 'vk';
  problem: number;
  /** First attempt (HTTP) or the moment the platform got it (bots). */
  at: number;
  acceptedAt?: number;
  attempts: number;
  gaveUp?: string;
}

interface Fault {
  name: string;
  injectedAt: number;
  /** When the fault was lifted (process restarted, server back, window over). */
  liftedAt: number;
}

interface Failure {
  what: string;
  n: number;
  detail?: string;
}

async function main() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'otklik-faults-'));
  fs.chmodSync(root, 0o755); // the postgres user must reach its directory inside
  const children = new Set<ChildProcess>();
  const cleanups: (() => Promise<void> | void)[] = [];
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const f of cleanups.reverse()) {
      try {
        await f();
      } catch {
        /* best effort */
      }
    }
    if (KEEP) console.log(`temp dir kept: ${root}`);
    else fs.rmSync(root, { recursive: true, force: true });
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.once(sig, () => {
      console.error(`${sig}: cleaning up`);
      void cleanup().finally(() => process.exit(130));
    });
  // The whole bench is bounded: a hang anywhere ends it (with the clean-up) instead of running on.
  const budgetMs = (60 + 6 * (GAP_S + DOWN_S + 5) + 2 * WINDOW_S + 20 + DRAIN_S + 120) * 1000;
  const watchdog = setTimeout(() => {
    console.error(`the bench ran past its ${budgetMs / 1000} s budget: aborting`);
    void cleanup().finally(() => process.exit(2));
  }, budgetMs);
  watchdog.unref();

  try {
    return await run(root, children, cleanups);
  } finally {
    clearTimeout(watchdog);
    await cleanup();
  }
}

async function run(
  root: string,
  children: Set<ChildProcess>,
  cleanups: (() => Promise<void> | void)[],
): Promise<number> {
  console.log(
    `machine: ${os.cpus().length} × ${os.cpus()[0]?.model}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, load ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  console.log(
    `stream: HTTP ${HTTP_RATE}/s + Telegram ${TG_RATE}/s + VK ${VK_RATE}/s; fault windows ${WINDOW_S} s, gaps ${GAP_S} s, down ${DOWN_S} s`,
  );
  T0 = Date.now();

  // -- infrastructure -------------------------------------------------------------------------------------
  const pgServer = new PgServer(root, await freePort());
  pgServer.init();
  await pgServer.start();
  cleanups.push(() => pgServer.stopQuietly());
  {
    const c = new pg.Client({ connectionString: pgServer.url.replace(/\/otklik$/, '/postgres') });
    await c.connect();
    await c.query('create database otklik');
    await c.end();
  }
  const redis = new RedisServer(root, await freePort());
  await redis.start();
  cleanups.push(() => redis.stop('SIGKILL'));
  log(`PostgreSQL on 127.0.0.1:${pgServer.port}, Redis on 127.0.0.1:${redis.port}`);

  const tg: TelegramEmulator = await startTelegramEmulator({
    limits: { perSecond: 30, perChatPerSecond: 1 },
    sendLatencyMs: 50,
  });
  cleanups.push(() => tg.close());
  tg.addBot(CITIZEN_BOT, { username: 'cur22_faults_bot', first_name: 'ЦУР Алтайского края' });
  tg.addBot(STAFF_BOT, { username: 'cur22_staff_bot', first_name: 'ЦУР: сотрудники' });
  const vk: VkEmulator = await startVkEmulator({ limits: { perSecond: 20 }, sendLatencyMs: 50 });
  cleanups.push(() => vk.close());
  vk.addGroup(GROUP, VK_TOKEN);
  const tgProxy = await startFaultProxy(tg.url, (p) => p.startsWith('/bot'), telegramFault);
  cleanups.push(() => tgProxy.close());
  const vkProxy = await startFaultProxy(vk.url, (p) => p.startsWith('/method/'), vkFault);
  cleanups.push(() => vkProxy.close());

  // -- schema, reference data, staff, citizens, subscribers ----------------------------------------------
  const { openDatabase } = await import('../src/store/db.ts');
  const { seedReferenceData } = await import('../src/store/seed.ts');
  const { createStaffStore } = await import('../src/store/staff.store.ts');
  const database = await openDatabase({ url: pgServer.url });
  await seedReferenceData(database);
  const staff = createStaffStore(database);
  const tokens: Record<string, string> = {};
  for (const [login, role] of [
    ['smm', 'smm'],
    ['head', 'center_head'],
  ] as const) {
    const m = await staff.create({ login, name: login, grants: [{ role }] });
    tokens[login] = await staff.issueToken(m.id, 'faults bench');
  }
  // Cards go to a chat per sector block, through the staff bot.
  await database.query(
    `update sector_blocks b set telegram_chat_id = (-1002000000000 - x.n)::text
     from (select code, row_number() over (order by code) as n from sector_blocks) x where x.code = b.code`,
    [],
  );
  // Citizens who write have given consent in the bot before (the dialog itself is tested elsewhere).
  const citizenRows = [
    ...TG_CITIZENS.map((id) => ['telegram', String(id)]),
    ...VK_CITIZENS.map((id) => ['vk', String(id)]),
  ];
  await database.query(
    `insert into authors (platform, external_id, name, consent_personal_data, consent_at)
     select p, e, 'Житель ' || e, true, now() from unnest($1::text[], $2::text[]) as s(p, e)`,
    [citizenRows.map((r) => r[0]), citizenRows.map((r) => r[1])],
  );
  // Subscribers of two campaigns: Barnaul (A, during the process and server faults) and Biysk (B, during
  // the platform faults).
  const subs = (platform: string, from: number, n: number, municipality: string, source: string) =>
    Array.from({ length: Math.round(n * SCALE) }, (_, i) => ({
      platform,
      ext: String(from + i),
      municipality,
      source,
    }));
  const tgSource = `telegram:${CITIZEN_BOT.split(':')[0]}`;
  const vkSource = `vk:${GROUP}`;
  const subscribers = [
    ...subs('telegram', 7_000_001, 2400, 'barnaul', tgSource),
    ...subs('vk', 8_000_001, 900, 'barnaul', vkSource),
    ...subs('telegram', 7_500_001, 1500, 'biysk', tgSource),
    ...subs('vk', 8_500_001, 600, 'biysk', vkSource),
  ];
  await database.query(
    `insert into authors (platform, external_id, name, consent_personal_data, consent_at, subscribed,
                          subscription_topics, municipality, language, subscription_source, subscription_chat,
                          subscribed_at)
     select s.platform, s.ext, 'Подписчик ' || s.ext, true, now(), true, '["transport"]'::jsonb,
            s.municipality, 'ru', s.source, s.ext, now()
     from unnest($1::text[], $2::text[], $3::text[], $4::text[]) as s(platform, ext, municipality, source)`,
    [
      subscribers.map((s) => s.platform),
      subscribers.map((s) => s.ext),
      subscribers.map((s) => s.municipality),
      subscribers.map((s) => s.source),
    ],
  );
  await database.close();

  // -- the app ------------------------------------------------------------------------------------------
  const apiPort = await freePort();
  const base = `http://127.0.0.1:${apiPort}`;
  const dataDir = path.join(root, 'data');
  fs.mkdirSync(dataDir);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: pgServer.url,
    REDIS_URL: redis.url,
    QUEUE_PREFIX: PREFIX,
    DATA_DIR: dataDir,
    INGEST_TOKEN,
    API_TOKEN,
    TELEGRAM_WEBHOOK_SECRET: 'faults-webhook-secret-0123456789',
    PORT: String(apiPort),
    HOST: '127.0.0.1',
    PUBLIC_URL: base,
    DEMO: 'off',
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
    ANALYZER: 'classic',
    TELEGRAM_BOT_TOKEN: CITIZEN_BOT,
    STAFF_BOT_TOKEN: STAFF_BOT,
    TELEGRAM_API_ROOT: tgProxy.url,
    TELEGRAM_POLL_TIMEOUT_S: '1',
    VK_GROUP_TOKEN: VK_TOKEN,
    VK_GROUP_ID: String(GROUP),
    VK_API_BASE_URL: `${vkProxy.url}/method`,
    VK_POLL_WAIT_S: '1',
    VK_API_LIMIT: '20',
    // Recovery on the scale of a bench: the sweeper looks every 2 s for work not moving for 10 s, and a
    // killed worker's jobs are taken over after 5 s (production: 15 s, 60 s, 30 s).
    SWEEP_INTERVAL_MS: '2000',
    SWEEP_STUCK_AFTER_MS: '10000',
    WORKER_LOCK_MS: '5000',
  };
  const crashes: string[] = [];
  const procs: Record<'api' | 'worker', ChildProcess | undefined> = { api: undefined, worker: undefined };
  const expectedExit = new Set<ChildProcess>();
  const spawnApp = (kind: 'api' | 'worker') => {
    const out = fs.openSync(path.join(root, `${kind}.log`), 'a');
    const c = spawn(process.execPath, ['bin/otklik.js', kind === 'api' ? 'start' : 'worker'], {
      env: kind === 'api' ? { ...env, ROLES: 'api,connectors' } : env,
      stdio: ['ignore', out, out],
    });
    fs.closeSync(out);
    children.add(c);
    procs[kind] = c;
    c.once('exit', (code, signal) => {
      children.delete(c);
      if (expectedExit.has(c)) return;
      crashes.push(
        `${kind} exited by itself (code ${code}, signal ${signal}) at ${rel(Date.now()).toFixed(1)} s`,
      );
      log(`!! the ${kind} process exited by itself (code ${code}, signal ${signal}); starting it again`);
      if (!stopping) spawnApp(kind);
    });
    return c;
  };
  const kill9 = async (kind: 'api' | 'worker') => {
    const c = procs[kind]!;
    expectedExit.add(c);
    const gone = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await gone;
  };
  let stopping = false;
  cleanups.push(async () => {
    stopping = true;
    for (const c of [procs.api, procs.worker])
      if (c && c.exitCode === null && c.signalCode === null) {
        expectedExit.add(c);
        c.kill('SIGKILL');
      }
  });

  const waitHealthy = async (timeoutMs = 90_000) => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      try {
        if ((await fetch(`${base}/health`, { signal: AbortSignal.timeout(2000) })).status === 200) return;
      } catch {
        /* not up yet */
      }
      if (Date.now() > until) throw new Error('the API did not become healthy');
      await sleep(100);
    }
  };
  spawnApp('api');
  await waitHealthy();
  spawnApp('worker');
  log('app started: otklik start (ROLES=api,connectors) and otklik worker');

  const pool = new pg.Pool({ connectionString: pgServer.url, max: 4 });
  pool.on('error', () => {});
  cleanups.push(() => pool.end());
  const q = async <T extends pg.QueryResultRow>(text: string, params: unknown[] = []) =>
    (await pool.query<T>(text, params)).rows;

  const apiCall = async <T = Record<string, unknown>>(
    who: string,
    method: string,
    url: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${base}/api/v1${url}`, {
      method,
      headers: {
        authorization: `Bearer ${tokens[who]}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(15_000),
    });
    return { status: res.status, body: (await res.json().catch(() => ({}))) as T };
  };
  /** An API call that retries through outages (the API restarting, the database away). */
  const apiRetry = async <T = Record<string, unknown>>(
    who: string,
    method: string,
    url: string,
    body?: unknown,
  ) => {
    for (let i = 0; ; i++) {
      try {
        const r = await apiCall<T>(who, method, url, body);
        if (r.status < 500) return r;
      } catch {
        /* retried */
      }
      if (i > 120) throw new Error(`${method} ${url} kept failing`);
      await sleep(500);
    }
  };

  // -- the stream -----------------------------------------------------------------------------------------
  const sent = new Map<string, SentMarker>();
  const streamErrors: string[] = [];
  let streaming = true;
  const httpInFlight = new Set<Promise<void>>();
  const problemAt = (t: number, i: number) => Math.floor((t - T0) / PROBLEM_EVERY_MS) + (i % ACTIVE);
  const textOf = (problem: number, marker: string) => `${problemText(problem)} (метка ${marker})`;

  const postHttp = async (i: number) => {
    const marker = `H${String(i).padStart(6, '0')}`;
    const at = Date.now();
    const problem = problemAt(at, i);
    const s: SentMarker = { marker, channel: 'http', problem, at, attempts: 0 };
    sent.set(marker, s);
    const body = JSON.stringify({
      source: 'api',
      externalId: marker,
      text: textOf(problem, marker),
      author: { id: `citizen-${i % 300}` },
      postedAt: new Date(at).toISOString(),
    });
    for (let backoff = 100; ; backoff = Math.min(1000, backoff * 2)) {
      s.attempts++;
      try {
        const res = await fetch(`${base}/api/v1/messages`, {
          method: 'POST',
          headers: { authorization: `Bearer ${INGEST_TOKEN}`, 'content-type': 'application/json' },
          body,
          signal: AbortSignal.timeout(10_000),
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.status === 200 || res.status === 201 || res.status === 202) {
          s.acceptedAt = Date.now();
          return;
        }
        if (res.status < 500 && res.status !== 429) {
          s.gaveUp = `HTTP ${res.status}`;
          streamErrors.push(`${marker}: refused with HTTP ${res.status}`);
          return;
        }
      } catch {
        /* connection refused or reset while the API restarts: retried */
      }
      if (Date.now() - at > 180_000) {
        s.gaveUp = 'not accepted within 180 s';
        return;
      }
      await sleep(backoff);
    }
  };
  const pushTelegram = (i: number) => {
    const marker = `T${String(i).padStart(6, '0')}`;
    const at = Date.now();
    const problem = problemAt(at, i);
    const id = TG_CITIZENS[i % TG_CITIZENS.length]!;
    tg.pushUpdate(
      CITIZEN_BOT,
      tg.updates.privateText({ id, first_name: `Житель ${id}` }, textOf(problem, marker)),
    );
    sent.set(marker, { marker, channel: 'telegram', problem, at, attempts: 1 });
  };
  const pushVk = (i: number) => {
    const marker = `V${String(i).padStart(6, '0')}`;
    const at = Date.now();
    const problem = problemAt(at, i);
    const id = VK_CITIZENS[i % VK_CITIZENS.length]!;
    vk.pushEvent(GROUP, vk.events.messageNew({ fromId: id, text: textOf(problem, marker) }));
    sent.set(marker, { marker, channel: 'vk', problem, at, attempts: 1 });
  };
  /** Calls `fire(i)` at a fixed rate (drift-corrected) until the stream stops. */
  const ticker = async (rate: number, fire: (i: number) => void) => {
    if (rate <= 0) return;
    const start = Date.now();
    for (let i = 0; streaming; i++) {
      await sleep(start + (i * 1000) / rate - Date.now());
      if (!streaming) break;
      fire(i);
    }
  };
  const streams = Promise.all([
    ticker(HTTP_RATE, (i) => {
      const p: Promise<void> = postHttp(i).finally(() => httpInFlight.delete(p));
      httpInFlight.add(p);
    }),
    ticker(TG_RATE, pushTelegram),
    ticker(VK_RATE, pushVk),
  ]);

  // -- approvals: drafts approved through the API once they are APPROVE_AFTER_MS old ----------------------
  interface DraftItem {
    id: number;
    status: string;
    createdAt: string;
  }
  const approved = new Map<number, { recipients: number }>();
  /** Approvals whose answer never came (API killed, database away): checked at the end. */
  const inDoubt = new Set<number>();
  let approving = true;
  const approveLoop = (async () => {
    while (approving) {
      try {
        const r = await apiCall<{ items: DraftItem[] }>(
          'smm',
          'GET',
          '/drafts?status=pending,approved_once&limit=200',
        );
        for (const d of r.status === 200 ? r.body.items : []) {
          if (!approving) break;
          if (Date.now() - Date.parse(d.createdAt) < APPROVE_AFTER_MS) continue;
          const who = d.status === 'approved_once' ? 'head' : 'smm';
          try {
            let a = await apiCall<{ status: string; recipients: number }>(
              who,
              'POST',
              `/drafts/${d.id}/approve`,
              {
                acceptFailedChecks: true,
              },
            );
            // A sensitive incident's reply needs a second approval by a head.
            if (a.status === 200 && a.body.status === 'approved_once')
              a = await apiCall('head', 'POST', `/drafts/${d.id}/approve`, { acceptFailedChecks: true });
            if (a.status === 200 && a.body.status === 'sent') {
              approved.set(d.id, { recipients: a.body.recipients });
              inDoubt.delete(d.id);
            } else if (a.status >= 500) inDoubt.add(d.id);
          } catch {
            inDoubt.add(d.id);
          }
        }
      } catch {
        /* API away: next round */
      }
      await sleep(1000);
    }
  })();

  // -- campaigns: segment + campaign by SMM, approval by the head of the center, all through the API -------
  const campaigns: { id: number; name: string; text: string; startedAt: number }[] = [];
  const startCampaign = async (name: string, municipality: string, text: string) => {
    const seg = await apiRetry<{ id: number; count: { total: number } }>('smm', 'POST', '/segments', {
      name: `Подписчики: ${name}`,
      rules: { municipalities: [municipality] },
    });
    if (seg.status !== 201) throw new Error(`segment: HTTP ${seg.status} ${JSON.stringify(seg.body)}`);
    const c = await apiRetry<{ id: number }>('smm', 'POST', '/campaigns', {
      title: name,
      text,
      segmentId: seg.body.id,
      channel: 'all',
    });
    if (c.status !== 201) throw new Error(`campaign: HTTP ${c.status} ${JSON.stringify(c.body)}`);
    await apiRetry('smm', 'POST', `/campaigns/${c.body.id}/submit`);
    const a = await apiRetry<{ status: string }>('head', 'POST', `/campaigns/${c.body.id}/approve`);
    if (a.status !== 200) throw new Error(`approve campaign: HTTP ${a.status} ${JSON.stringify(a.body)}`);
    campaigns.push({ id: c.body.id, name, text, startedAt: Date.now() });
    log(`campaign «${name}» approved: ${seg.body.count.total} recipients`);
  };

  // -- the faults -----------------------------------------------------------------------------------------
  const faults: Fault[] = [];
  const fault = async (
    name: string,
    inject: () => Promise<void>,
    lift: () => Promise<void>,
    holdS: number,
  ) => {
    const injectedAt = Date.now();
    log(`fault: ${name}`);
    await inject();
    await sleep(holdS * 1000 - (Date.now() - injectedAt));
    await lift();
    const liftedAt = Date.now();
    faults.push({ name, injectedAt, liftedAt });
    log(`lifted after ${((liftedAt - injectedAt) / 1000).toFixed(1)} s`);
  };

  await sleep(3000);
  await startCampaign(
    'Отключение воды в Барнауле',
    'barnaul',
    'В Барнауле 5 декабря с 9:00 до 17:00 не будет холодной воды: ремонт водовода. Запаситесь водой заранее.',
  );
  await sleep(Math.max(0, 15_000 - (Date.now() - T0)));
  const baselineEnd = Date.now();

  await fault(
    'worker killed (SIGKILL), restarted',
    () => kill9('worker'),
    async () => void spawnApp('worker'),
    DOWN_S,
  );
  await sleep(GAP_S * 1000);
  await fault(
    'API + connectors killed (SIGKILL), restarted',
    () => kill9('api'),
    async () => {
      spawnApp('api');
      await waitHealthy();
    },
    DOWN_S,
  );
  await sleep(GAP_S * 1000);
  await fault(
    'Redis restarted, data kept (AOF)',
    () => redis.stop('SIGTERM'),
    () => redis.start(),
    DOWN_S,
  );
  await sleep(GAP_S * 1000);
  await fault(
    'Redis restarted empty (killed, files lost)',
    async () => {
      await redis.stop('SIGKILL');
      redis.wipe();
    },
    () => redis.start(),
    DOWN_S,
  );
  await sleep(GAP_S * 1000);
  await fault(
    'PostgreSQL restarted (stop -m fast)',
    () => pgServer.stop('fast'),
    () => pgServer.start(),
    DOWN_S,
  );
  await sleep(GAP_S * 1000);
  await fault(
    'PostgreSQL crashed (stop -m immediate), restarted',
    () => pgServer.stop('immediate'),
    () => pgServer.start(),
    DOWN_S,
  );
  await sleep(GAP_S * 1000);
  await startCampaign(
    'Автобус № 12 в Бийске',
    'biysk',
    'С 1 декабря автобус № 12 в Бийске ходит каждые 10 минут, с 6:00 до 23:00.',
  );
  await fault(
    `Telegram 500/502 + VK error 10 / HTTP 500, ${WINDOW_S} s`,
    async () => {
      tgProxy.mode = '5xx';
      vkProxy.mode = '5xx';
    },
    async () => {
      tgProxy.mode = 'none';
      vkProxy.mode = 'none';
    },
    WINDOW_S,
  );
  await fault(
    `Telegram 429 (retry_after ${RETRY_AFTER_S}) + VK error 6/9, ${WINDOW_S} s`,
    async () => {
      tgProxy.mode = '429';
      vkProxy.mode = '429';
    },
    async () => {
      tgProxy.mode = 'none';
      vkProxy.mode = 'none';
    },
    WINDOW_S,
  );
  await sleep(15_000);
  streaming = false;
  await streams;
  const streamEnd = Date.now();
  log(`stream stopped: ${sent.size} messages sent; waiting for the HTTP client's retries`);
  await Promise.all([...httpInFlight]);

  // -- drain ------------------------------------------------------------------------------------------------
  const queueConn = { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null };
  const queues = QUEUE_NAMES.map((name) => new Queue(name, { connection: queueConn, prefix: PREFIX }));
  for (const qu of queues) qu.on('error', () => {});
  const WORK_QUEUES = ['analyze', 'route', 'notify', 'draft', 'send', 'conflicts', 'broadcast'];
  const queueBacklog = async () => {
    const out: Record<string, Record<string, number>> = {};
    for (const qu of queues)
      out[qu.name] = await qu.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized', 'paused');
    return out;
  };
  const drainStart = Date.now();
  let drained = false;
  let lastState = '';
  let lastChange = Date.now();
  while (Date.now() - drainStart < DRAIN_S * 1000) {
    try {
      const [m] = await q<{ total: number; notrouted: number }>(
        `select count(*)::int as total, count(*) filter (where state <> 'routed')::int as notrouted from messages`,
      );
      const [o] = await q<{ n: number }>(
        `select count(*)::int as n from outbound_messages where status in ('pending', 'sending')`,
      );
      const [c] = await q<{ n: number }>(
        `select count(*)::int as n from campaigns where status not in ('done', 'cancelled')`,
      );
      const [d] = await q<{ n: number }>(
        `select count(*)::int as n from reply_drafts where status in ('pending', 'approved_once')`,
      );
      const backlog = await queueBacklog();
      const busy = WORK_QUEUES.reduce(
        (a, name) =>
          a +
          (backlog[name]!.waiting ?? 0) +
          (backlog[name]!.active ?? 0) +
          (backlog[name]!.prioritized ?? 0),
        0,
      );
      const expected = [...sent.values()].filter((s) => !s.gaveUp).length;
      const state = `messages ${m!.total}/${expected} (${m!.notrouted} not routed), outbox unsent ${o!.n}, campaigns running ${c!.n}, drafts to approve ${d!.n}, jobs busy ${busy}`;
      if (state !== lastState) {
        log(`drain: ${state}`);
        lastChange = Date.now();
      }
      lastState = state;
      const idle = m!.notrouted === 0 && o!.n === 0 && c!.n === 0 && d!.n === 0 && busy === 0;
      if (idle && m!.total >= expected) {
        drained = true;
        break;
      }
      // All work done but messages missing, and nothing moved for 30 s: they are lost (counted below).
      if (idle && Date.now() - lastChange > 30_000) {
        drained = true;
        log('drain: idle, but messages are missing');
        break;
      }
    } catch (err) {
      log(`drain: ${(err as Error).message}`);
    }
    await sleep(2000);
  }
  approving = false;
  await approveLoop;
  log(
    drained
      ? `drained in ${((Date.now() - drainStart) / 1000).toFixed(0)} s`
      : `NOT drained after ${DRAIN_S} s`,
  );
  // Let a late duplicate (a stalled job's second run, a sweeper pass) show itself before counting.
  await sleep(5000);

  // -- checks -----------------------------------------------------------------------------------------------
  const failures: Failure[] = [];
  const fail = (what: string, n: number, detail?: string) => {
    if (n > 0) failures.push({ what, n, ...(detail ? { detail } : {}) });
  };
  fail(
    'stream: HTTP messages refused or never accepted',
    [...sent.values()].filter((s) => s.gaveUp).length,
    streamErrors.slice(0, 3).join('; '),
  );
  fail('processes that exited by themselves', crashes.length, crashes.join('; '));

  // Messages, by marker.
  const rows = await q<{
    id: number;
    text: string;
    state: string;
    sector: string | null;
    municipality: string | null;
    incident_id: number | null;
    received_at: Date;
    routed_at: Date | null;
  }>(`select id, text, state, sector, municipality, incident_id, received_at, routed_at from messages`);
  const byMarker = new Map<string, typeof rows>();
  let unmarked = 0;
  for (const r of rows) {
    const m = MARKER_RE.exec(r.text)?.[1];
    if (!m) {
      unmarked++;
      continue;
    }
    byMarker.set(m, [...(byMarker.get(m) ?? []), r]);
  }
  fail('messages stored without a marker of this bench', unmarked);
  const unknown = [...byMarker.keys()].filter((m) => !sent.has(m)).length;
  fail('messages stored with a marker never sent', unknown);
  const sentList = [...sent.values()].filter((x) => !x.gaveUp);
  const lostMarkers = sentList.filter((x) => !byMarker.has(x.marker));
  fail(
    'messages lost (written to the platform, never stored)',
    lostMarkers.length,
    lostMarkers
      .slice(0, 10)
      .map((x) => x.marker)
      .join(' '),
  );
  fail('messages stored twice', sentList.filter((x) => (byMarker.get(x.marker)?.length ?? 0) > 1).length);
  fail(
    'messages stored but not routed',
    sentList.filter((x) => byMarker.get(x.marker)?.some((r) => r.state !== 'routed')).length,
  );

  // Incidents: the invariants of test/recovery.test.ts, on everything.
  const [inv] = await q<{
    routed: number;
    sum: number;
    mismatch: number;
    joins: number;
    dupjoins: number;
    incidents: number;
    cards: number;
    drafts: number;
    unnotified: number;
  }>(`select
      (select count(*) from messages where state = 'routed')::int as routed,
      (select coalesce(sum(message_count), 0) from incidents)::int as sum,
      (select count(*) from incidents i
        where i.message_count <> (select count(*) from messages m where m.incident_id = i.id))::int as mismatch,
      (select count(*) from incident_events where type in ('created', 'message_added'))::int as joins,
      (select count(*) from (select data->>'messageId' from incident_events where type in ('created', 'message_added')
        group by 1 having count(*) > 1) d)::int as dupjoins,
      (select count(*) from incidents)::int as incidents,
      (select count(*) from notifications where kind = 'incident_card')::int as cards,
      (select count(*) from reply_drafts where kind = 'acknowledgement')::int as drafts,
      (select count(*) from incidents where notified_at is null or drafted_at is null)::int as unnotified`);
  fail('incidents: message counts ≠ messages routed', Math.abs(inv!.sum - inv!.routed));
  fail('incidents whose message_count differs from their messages', inv!.mismatch);
  fail('incident events created/message_added ≠ messages routed', Math.abs(inv!.joins - inv!.routed));
  fail('messages that joined an incident twice', inv!.dupjoins);
  fail('incidents without exactly one card', Math.abs(inv!.cards - inv!.incidents));
  fail('incidents without exactly one acknowledgement draft', Math.abs(inv!.drafts - inv!.incidents));
  fail('incidents whose card or draft never happened', inv!.unnotified);
  // One problem (same text, sector, municipality) → one incident.
  const problemIncidents = new Map<string, Set<number>>();
  for (const [marker, rs] of byMarker) {
    const s = sent.get(marker);
    const r = rs[0]!;
    if (!s || r.incident_id === null) continue;
    const key = `${s.problem}|${r.sector}|${r.municipality}`;
    problemIncidents.set(key, (problemIncidents.get(key) ?? new Set()).add(r.incident_id));
  }
  const split = [...problemIncidents.values()].filter((s) => s.size > 1);
  fail(
    'problems split over several incidents (an incident opened twice)',
    split.length,
    split
      .slice(0, 5)
      .map((s) => [...s].join('+'))
      .join(', '),
  );

  // Messages out: the outbox, the approved drafts, the campaigns, and what the emulators took.
  const outbound = await q<{
    id: number;
    purpose: string;
    status: string;
    source_id: string;
    edit_external_id: string | null;
    created_at: Date;
    sent_at: Date | null;
    last_error: string | null;
    chat_id: string;
    text: string;
  }>(
    `select id, purpose, status, source_id, edit_external_id, created_at, sent_at, last_error, chat_id, text
     from outbound_messages`,
  );
  const drafts = await q<{ id: number; status: string; has_event: boolean }>(
    `select d.id, d.status, exists (select 1 from incident_events e where e.incident_id = d.incident_id
       and e.type = 'reply_approved' and (e.data->>'draftId')::bigint = d.id) as has_event
     from reply_drafts d`,
  );
  const lostReplies = drafts.filter((d) => d.status === 'sent' && !d.has_event);
  fail(
    'approved drafts whose reply was never queued',
    lostReplies.length,
    lostReplies.map((d) => d.id).join(', '),
  );
  fail(
    'drafts never decided',
    drafts.filter((d) => d.status === 'pending' || d.status === 'approved_once').length,
  );
  const deliveries = await q<{
    campaign_id: number;
    status: string;
    source_id: string;
    chat_id: string;
    updated_at: Date;
  }>(`select campaign_id, status, source_id, chat_id, updated_at from campaign_deliveries`);

  // Delivered twice: the same message (chat, text, quoted message) taken twice by a platform.
  const tgSends = tg
    .sent()
    .filter((s) => s.method.startsWith('send'))
    .map((s) => ({
      key: `${s.token}|${s.chat_id}|${s.method}|${s.text ?? s.caption ?? ''}|${s.reply_to_message_id ?? (s.params.reply_parameters as { message_id?: number } | undefined)?.message_id ?? ''}`,
      at: s.at,
      chat: s.chat_id,
      text: s.text ?? s.caption ?? '',
    }));
  const vkSends = vk
    .sent()
    .filter((s) => s.method !== 'messages.edit')
    .map((s) => ({
      key: `${s.method}|${s.peer_id ?? ''}|${s.owner_id ?? ''}_${s.post_id ?? ''}|${s.message}`,
      at: s.at,
      chat: String(s.peer_id),
      text: s.message,
    }));
  const dupSends: { at: number; platform: string; text: string }[] = [];
  for (const [platform, list] of [
    ['telegram', tgSends],
    ['vk', vkSends],
  ] as const) {
    const seen = new Map<string, number>();
    for (const s of list) {
      const n = (seen.get(s.key) ?? 0) + 1;
      seen.set(s.key, n);
      if (n > 1) dupSends.push({ at: s.at, platform, text: s.text.slice(0, 60) });
    }
  }
  fail(
    'messages delivered twice to the same chat',
    dupSends.length,
    dupSends
      .slice(0, 3)
      .map((d) => `${d.platform} at ${rel(d.at).toFixed(0)} s: «${d.text}…»`)
      .join('; '),
  );
  // Outbox rows: citizen-facing and card posts must be sent; a card edit that found nothing to change is fine.
  const outLost = outbound.filter(
    (o) => o.status === 'failed' && !(o.edit_external_id && /not modified/i.test(o.last_error ?? '')),
  );
  const outStuck = outbound.filter((o) => o.status === 'pending' || o.status === 'sending');
  const outUncertain = outbound.filter((o) => o.status === 'uncertain');
  fail(
    'outbox rows failed (reply, confirmation, card… never delivered)',
    outLost.length,
    [...new Set(outLost.map((o) => `${o.purpose}: ${(o.last_error ?? '').slice(0, 80)}`))]
      .slice(0, 3)
      .join('; '),
  );
  fail('outbox rows still pending', outStuck.length);
  // Campaigns.
  const campLost = deliveries.filter((d) => d.status === 'failed');
  const campStuck = deliveries.filter((d) => d.status === 'pending' || d.status === 'sending');
  fail('campaign deliveries failed', campLost.length);
  fail('campaign deliveries still pending', campStuck.length);
  const campaignTexts = campaigns.map((c) => c.text.slice(0, 30));
  const campaignCopies = new Map<string, number>();
  for (const s of [...tgSends, ...vkSends])
    if (campaignTexts.some((t) => s.text.startsWith(t)))
      campaignCopies.set(
        `${s.text.slice(0, 30)}|${s.chat}`,
        (campaignCopies.get(`${s.text.slice(0, 30)}|${s.chat}`) ?? 0) + 1,
      );
  const uncertainCamp = deliveries.filter((d) => d.status === 'uncertain');
  const uncertainDelivered = uncertainCamp.filter((d) => {
    const c = campaigns.find((x) => x.id === d.campaign_id);
    return c && campaignCopies.has(`${c.text.slice(0, 30)}|${d.chat_id}`);
  }).length;

  // Jobs: nothing waiting or running, and nothing delayed but the repeatable jobs (sla-watch, the conflict scan).
  const backlog = await queueBacklog();
  let stuckJobs = 0;
  const stuckDetail: string[] = [];
  for (const qu of queues) {
    if (!WORK_QUEUES.includes(qu.name)) continue;
    const c = backlog[qu.name]!;
    const delayed = (await qu.getDelayed()).filter(
      (j) => !j.repeatJobKey && !String(j.id).startsWith('repeat:'),
    );
    const n = (c.waiting ?? 0) + (c.active ?? 0) + (c.prioritized ?? 0) + delayed.length;
    if (n) stuckDetail.push(`${qu.name} ${n}`);
    stuckJobs += n;
  }
  fail('jobs left waiting, active or delayed', stuckJobs, stuckDetail.join(', '));
  for (const qu of queues) await qu.close();

  // -- the table --------------------------------------------------------------------------------------------
  interface Window {
    name: string;
    from: number;
    to: number;
    injectedAt?: number;
    liftedAt?: number;
  }
  const windows: Window[] = [{ name: 'none (baseline)', from: T0, to: baselineEnd }];
  faults.forEach((f, i) =>
    windows.push({
      name: f.name,
      from: f.injectedAt,
      to: faults[i + 1]?.injectedAt ?? streamEnd,
      injectedAt: f.injectedAt,
      liftedAt: f.liftedAt,
    }),
  );
  const inWin = (w: Window, t: number) => t >= w.from && t < w.to;
  const table = windows.map((w) => {
    const markers = [...sent.values()].filter((s) => inWin(w, s.at));
    const lost = markers.filter((s) => !byMarker.has(s.marker)).length;
    const dup = markers.filter((s) => (byMarker.get(s.marker)?.length ?? 0) > 1).length;
    const stuck = markers.filter((s) => byMarker.get(s.marker)?.some((r) => r.state !== 'routed')).length;
    const outs = outbound.filter((o) => inWin(w, o.created_at.getTime()));
    const outLostN = outs.filter((o) => outLost.includes(o)).length;
    const outStuckN = outs.filter((o) => outStuck.includes(o)).length;
    const outDup = dupSends.filter((d) => inWin(w, d.at)).length;
    // Recovery: from the fault's end until the last work that arrived during it was done.
    let recovery: number | undefined;
    if (w.injectedAt !== undefined && w.liftedAt !== undefined) {
      const done = [
        ...markers
          .filter((s) => s.at <= w.liftedAt!)
          .flatMap((s) => byMarker.get(s.marker) ?? [])
          .map((r) => r.routed_at?.getTime() ?? Infinity),
        ...outbound
          .filter((o) => o.created_at.getTime() >= w.injectedAt! && o.created_at.getTime() <= w.liftedAt!)
          .map((o) => o.sent_at?.getTime() ?? Infinity),
      ];
      recovery = Math.max(0, (Math.max(w.liftedAt, ...done) - w.liftedAt) / 1000);
    }
    return {
      fault: w.name,
      injected: w.injectedAt !== undefined ? rel(w.injectedAt).toFixed(0) : '—',
      held: w.injectedAt !== undefined ? ((w.liftedAt! - w.injectedAt) / 1000).toFixed(0) : '—',
      recovery: recovery === undefined ? '—' : Number.isFinite(recovery) ? recovery.toFixed(1) : 'never',
      msgsIn: markers.length,
      msgsOut: outs.length,
      lost: `${lost} / ${outLostN}`,
      dup: `${dup} / ${outDup}`,
      stuck: `${stuck} / ${outStuckN}`,
    };
  });
  const header = [
    'fault',
    'injected at s',
    'held s',
    'recovery s',
    'messages in',
    'messages out',
    'lost in / out',
    'duplicated in / out',
    'stuck in / out',
  ];
  const lines = table.map((r) => [
    r.fault,
    r.injected,
    r.held,
    r.recovery,
    String(r.msgsIn),
    String(r.msgsOut),
    r.lost,
    r.dup,
    r.stuck,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  console.log('\n== faults: what each one cost ==');
  console.log(fmt(header));
  console.log(`| ${widths.map((w, i) => (i === 0 ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`);
  for (const l of lines) console.log(fmt(l));
  console.log(
    '\nin = messages written to the platform during the fault and until the next one (by marker); out = outbox rows' +
      ' (confirmations, replies, cards) created in that time. recovery = from the fault’s end until the last message' +
      ' and outbox row that arrived during it was routed / sent.',
  );

  const byStatus = (list: { status: string }[]) =>
    Object.entries(
      list.reduce<Record<string, number>>((a, x) => ((a[x.status] = (a[x.status] ?? 0) + 1), a), {}),
    )
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
  const channels = (['http', 'telegram', 'vk'] as const)
    .map((c) => `${c} ${[...sent.values()].filter((s) => s.channel === c).length}`)
    .join(', ');
  console.log('\n== totals ==');
  console.log(
    `messages sent: ${sent.size} (${channels}); stored: ${rows.length}; incidents: ${inv!.incidents}`,
  );
  const retried = [...sent.values()].filter((s) => s.channel === 'http' && s.attempts > 1).length;
  console.log(`HTTP messages that needed retries by the client: ${retried}`);
  console.log(
    `outbox: ${byStatus(outbound)} (by purpose: ${Object.entries(
      outbound.reduce<Record<string, number>>((a, o) => ((a[o.purpose] = (a[o.purpose] ?? 0) + 1), a), {}),
    )
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')})`,
  );
  console.log(
    `drafts approved through the API: ${approved.size} (answers lost in a fault, checked: ${inDoubt.size})`,
  );
  for (const c of campaigns) {
    const ds = deliveries.filter((d) => d.campaign_id === c.id);
    console.log(`campaign «${c.name}» (from ${rel(c.startedAt).toFixed(0)} s): ${byStatus(ds)}`);
  }
  const sentTexts = new Set([...tgSends, ...vkSends].map((x) => `${x.chat}|${x.text}`));
  const outUncertainDelivered = outUncertain.filter((o) => sentTexts.has(`${o.chat_id}|${o.text}`)).length;
  console.log(
    `not confirmed by the platform (a Telegram send interrupted by a crash, never resent): campaign deliveries ${uncertainCamp.length} (${uncertainDelivered} of them did reach the chat), outbox rows ${outUncertain.length} (${outUncertainDelivered} did reach the chat)`,
  );
  const campDup = [...campaignCopies.values()].filter((n) => n > 1).length;
  console.log(`campaign messages to the same person twice: ${campDup}`);
  console.log(
    `faults injected by the proxies: Telegram 5xx ${tgProxy.injected['5xx']}, 429 ${tgProxy.injected['429']}; VK 5xx ${vkProxy.injected['5xx']}, 6/9 ${vkProxy.injected['429']}`,
  );
  console.log(
    `emulators: Telegram took ${tgSends.length} messages (${tg.violations()} sends over its limits answered 429), VK ${vkSends.length} (${vk.violations()} over its limits)`,
  );
  console.log(
    `queues at the end (failed jobs are kept records, their work was redone): ${Object.entries(backlog)
      .map(
        ([k, v]) =>
          `${k} ${
            Object.entries(v)
              .filter(([, n]) => n)
              .map(([s, n]) => `${s} ${n}`)
              .join('/') || '0'
          }`,
      )
      .join(', ')}`,
  );
  console.log(`wall time: ${rel(Date.now()).toFixed(0)} s`);

  if (!drained) failures.push({ what: 'the backlog did not drain', n: 1, detail: lastState });
  if (failures.length) {
    console.log('\n== FAILED ==');
    for (const f of failures) console.log(`- ${f.what}: ${f.n}${f.detail ? ` (${f.detail})` : ''}`);
    return 1;
  }
  console.log('\nOK: nothing lost, nothing duplicated, nothing stuck.');
  return 0;
}

main()
  .then((code) => process.exit(code))
  .catch((err: unknown) => {
    console.error(err);
    process.exit(2);
  });
