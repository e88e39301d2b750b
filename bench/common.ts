/**
 * bench/common.ts — what the benches that run the real processes share: a fresh database on the PostgreSQL
 * server, `otklik` child processes started like production, waiting for `/health`, a private redis-server,
 * percentiles and the sample texts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import os from 'node:os';
import pg from 'pg';

export const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Appeals as citizens write them; `{n}` becomes a house, route or plot number. Each names a municipality. */
export const TEXTS = [
  'Уже неделю не вывозят мусор в Бийске, ул. Мухачева, {n}. Контейнеры переполнены.',
  'Нет горячей воды третий день, Барнаул, ул. Попова, {n}. УК не отвечает.',
  'Огромная яма на дороге в Рубцовске, пр. Ленина, {n}, машины объезжают по встречке.',
  'Автобус №{n} в Барнауле не ходит по расписанию, ждали 50 минут.',
  'В поликлинике в Заринске невозможно записаться к терапевту, талонов нет, участок {n}.',
  'Во дворе дома ул. Малахова, {n} (Барнаул) не горят фонари, вечером темно.',
  'Отключили свет в Тальменке на ул. Вокзальной, {n}, шесть часов без электричества.',
  'На предприятии в Новоалтайске третий месяц задерживают зарплату, цех {n}.',
];

/** The n-th sample text. */
export const textFor = (n: number) => TEXTS[n % TEXTS.length]!.replace('{n}', String(n % 97));

export const machineLine = () =>
  `machine: ${os.cpus().length} × ${os.cpus()[0]?.model}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, load average ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });

/** A non-negative numeric knob from the environment, with its default. */
export const envNumber = (name: string, dflt: number) => {
  const v = Number(process.env[name] ?? dflt);
  if (!Number.isFinite(v) || v < 0) throw new Error(`${name} must be a non-negative number`);
  return v;
};

/** The p-th percentile (nearest rank from below) of an ascending array; NaN when empty. */
export function pct(sorted: number[], p: number) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export interface BenchDatabase {
  name: string;
  url: string;
  /** Drops the database (connections are cut) and closes the admin connection. */
  drop(): Promise<void>;
}

/** A new empty database `otklik_bench_<random>` on the server of `adminUrl`; the app migrates it at start. */
export async function createBenchDatabase(adminUrl = ADMIN_URL): Promise<BenchDatabase> {
  const name = `otklik_bench_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  return {
    name,
    url: Object.assign(new URL(adminUrl), { pathname: `/${name}` }).toString(),
    async drop() {
      await admin.query(`drop database if exists ${name} with (force)`).catch(() => {});
      await admin.end();
    },
  };
}

/** `node [nodeArgs] bin/otklik.js <args>` with `env`; stdout dropped, stderr shown (LOG_LEVEL=warn keeps it quiet). */
export function spawnOtklik(args: string[], env: NodeJS.ProcessEnv, nodeArgs: string[] = []): ChildProcess {
  return spawn(process.execPath, [...nodeArgs, 'bin/otklik.js', ...args], {
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/** Polls `${base}/health` until it answers 200 (the API is listening and its start-up is done). */
export async function waitForHealth(base: string, timeoutMs = 60_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(`${base}/health`)).status === 200) return;
    } catch {
      /* not up yet */
    }
    if (Date.now() > until) throw new Error(`${base} did not become healthy in ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** SIGTERM to every child, up to `graceMs` to exit, then SIGKILL to those still running. */
export async function stopChildren(children: ChildProcess[], graceMs = 1500) {
  const running = children.filter((c) => c.exitCode === null && c.signalCode === null);
  for (const c of running) c.kill('SIGTERM');
  await Promise.race([
    Promise.all(running.map((c) => new Promise((r) => c.once('exit', r)))),
    sleep(graceMs),
  ]);
  for (const c of running) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

/** A private redis-server on a free local port (no persistence): its memory figures are the bench's alone. */
export async function startPrivateRedis(bin = process.env.REDIS_SERVER_BIN ?? 'redis-server') {
  const port = await freePort();
  const child = spawn(
    bin,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  const failed = new Promise<never>((_, reject) => child.once('error', reject));
  failed.catch(() => {}); // seen by the race below; no unhandled rejection after it
  const url = `redis://127.0.0.1:${port}`;
  const until = Date.now() + 10_000;
  for (;;) {
    const up = await Promise.race([
      new Promise<boolean>((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => {
          s.end();
          resolve(true);
        });
        s.once('error', () => resolve(false));
      }),
      failed,
    ]);
    if (up) break;
    if (Date.now() > until) throw new Error(`${bin} did not listen on ${port}`);
    await sleep(50);
  }
  return { url, child, stop: () => stopChildren([child]) };
}
