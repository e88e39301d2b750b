/**
 * Test fixtures: a fresh PostgreSQL database per test file on the real server, a unique BullMQ prefix on
 * the real Redis, and the app built from the same config code as production.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createApp, type App, type Role } from '../src/app.ts';
import type { Analysis } from '../src/domain/types.ts';
import { loadConfig, type Config } from '../src/config.ts';
import { openDatabase, type Database } from '../src/store/db.ts';
import { SECTORS, type InboundMessage } from '../src/domain/types.ts';

export const PG_ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const INGEST_TOKEN = 'test-ingest-token-0123456789';
export const API_TOKEN = 'test-api-token-0123456789abcdef';

const uid = () => randomBytes(4).toString('hex');

/** Creates an empty database on the test server; returns its URL and a dropper. */
export async function createTestDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `otklik_test_${uid()}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

export function tempDir(prefix = 'otklik-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function testConfig(env: Record<string, string | undefined>): Config {
  return loadConfig({
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    LOG_FORMAT: 'json',
    INGEST_TOKEN,
    API_TOKEN,
    REDIS_URL,
    QUEUE_PREFIX: `t${uid()}`,
    DEMO: 'off',
    PORT: '0',
    ...env,
  });
}

export interface TestApp {
  app: App;
  config: Config;
  close(): Promise<void>;
}

/** The app on a fresh PostgreSQL database (or PGlite with `pglite: true`), real Redis, chosen roles. */
export async function startTestApp(
  opts: { roles?: Role[]; env?: Record<string, string>; pglite?: boolean; listen?: boolean } = {},
): Promise<TestApp> {
  const db = opts.pglite ? undefined : await createTestDatabase();
  const dataDir = tempDir();
  const config = testConfig({ DATA_DIR: dataDir, DATABASE_URL: db?.url, ...opts.env });
  const app = await createApp({
    config,
    roles: opts.roles ?? ['api', 'workers'],
    listen: opts.listen ?? false,
  });
  return {
    app,
    config,
    async close() {
      await app.close();
      if (config.REDIS_URL) {
        // shared Redis: remove this file's queues (a private redis-server went away with the app)
        const redis = app.redis.connect();
        const keys = await redis.keys(`${config.QUEUE_PREFIX}:*`);
        if (keys.length) await redis.del(...keys);
        redis.disconnect();
      }
      await db?.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function waitFor<T>(
  fn: () => Promise<T | undefined | null | false>,
  { timeoutMs = 20_000, intervalMs = 100, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

let seq = 0;
export function message(text: string, extra: Partial<InboundMessage> = {}): InboundMessage {
  seq++;
  return {
    source: 'api',
    externalId: `ext-${uid()}-${seq}`,
    text,
    author: { id: `author-${seq}` },
    postedAt: new Date(),
    ...extra,
  };
}

export function ingestBody(text: string, extra: Record<string, unknown> = {}) {
  const m = message(text);
  return {
    source: m.source,
    externalId: m.externalId,
    text,
    author: m.author,
    postedAt: m.postedAt.toISOString(),
    ...extra,
  };
}

export const ROOT = path.resolve(import.meta.dirname, '..');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node NODE_ARGS` in the project root with only PATH, HOME and `env`; fails the test on a hang. */
export function runNode(
  nodeArgs: string[],
  env: Record<string, string | undefined>,
  timeoutMs = 60_000,
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, nodeArgs, {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`node ${nodeArgs.join(' ')} did not exit in ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

/** `otklik ARGS` as a child process. */
export const runCli = (args: string[], env: Record<string, string | undefined>, timeoutMs = 60_000) =>
  runNode(['bin/otklik.js', ...args], env, timeoutMs);

/** A TypeScript script of the project, as `npx tsx` would run it. */
export const runTsx = (args: string[], env: Record<string, string | undefined>, timeoutMs = 60_000) =>
  runNode(['--import', 'tsx', ...args], env, timeoutMs);

/** Both engines the store runs on: a fresh database on the PostgreSQL server, and embedded PGlite. */
export const STORE_ENGINES: [string, () => Promise<{ db: Database; cleanup: () => Promise<void> }>][] = [
  [
    'PostgreSQL',
    async () => {
      const t = await createTestDatabase();
      const db = await openDatabase({ url: t.url });
      return { db, cleanup: async () => (await db.close(), await t.drop()) };
    },
  ],
  [
    'PGlite',
    async () => {
      const dir = tempDir();
      const db = await openDatabase({ dataDir: `${dir}/pglite` });
      return { db, cleanup: () => db.close() };
    },
  ],
];

/** Whether a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A small labelled dataset in the layout of ../shared/data (same files and columns the loaders read),
 * so tests of the training tools do not depend on where the shared data lives.
 */
export function writeMiniDataset(dir: string): string {
  const csv = (file: string, header: string, rows: string[][]) => {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    const q = (v: string) => `"${v.replaceAll('"', '""')}"`;
    fs.writeFileSync(
      path.join(dir, file),
      [header, ...rows.map((r) => r.map(q).join(','))].join('\n') + '\n',
    );
  };
  const sectors = SECTORS.map((x) => x.name);
  const rows = (prefix: string, n: number) =>
    sectors.flatMap((s) => Array.from({ length: n }, (_, i) => [`${prefix} обращение ${i} про ${s}`, s]));
  csv('topics/kursk_appeals.csv', 'text,sector', rows('курское', 4));
  csv('topics/spb_appeals.csv', 'text,sector', rows('петербургское', 6));
  csv('topics/kzgov_ru_synthetic.csv', 'text,sector', rows('синтетическое', 1));
  const sentiment = ['negative', 'neutral', 'positive', 'speech', 'skip'].flatMap((l) =>
    Array.from({ length: 5 }, (_, i) => [l, `пост ${i} с меткой ${l}`]),
  );
  csv('sentiment/rusentiment_preselected_posts.csv', 'label,text', sentiment);
  csv(
    'sentiment/rusentiment_random_posts.csv',
    'label,text',
    sentiment.map(([l, t]) => [l!, `${t} (random)`]),
  );
  csv(
    'toxicity/toxic_comments_ru.csv',
    'comment,toxic',
    Array.from({ length: 12 }, (_, i) => [`комментарий ${i}`, i % 2 ? '1.0' : '0.0']),
  );
  return dir;
}

/** A TCP port free on 127.0.0.1 right now (for a server whose URL must be known before it starts). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** A fixed analysis for tests that store messages without running a model (a negative road appeal). */
export function fixtureAnalysis(extra: Partial<Analysis> = {}): Analysis {
  return {
    sector: 'roads',
    sectorScore: 0.9,
    sentiment: 'negative',
    sentimentScore: 0.8,
    toxic: false,
    toxicScore: 0.01,
    municipality: 'barnaul',
    address: null,
    terms: [],
    model: 'test-fixture',
    ...extra,
  };
}
