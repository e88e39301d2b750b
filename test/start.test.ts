/**
 * `npm start` on a bare machine: no DATABASE_URL, no REDIS_URL, no tokens. The process runs on embedded
 * PGlite and a private redis-server under DATA_DIR, the demo region fills it with incidents, SIGTERM stops
 * everything it started, and a second start on the same DATA_DIR finds the data of the first.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive, freePort, tempDir, waitFor } from './helpers.ts';

const ROOT = path.resolve(import.meta.dirname, '..');

interface Running {
  child: ChildProcess;
  port: number;
  base: string;
  out: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children: ChildProcess[] = [];
const redisPids = new Set<number>();
let dataDir: string;

async function start(): Promise<Running> {
  const port = await freePort();
  // Only what a user's shell would have: in particular no DATABASE_URL / REDIS_URL / tokens from our env.
  const child = spawn(process.execPath, ['bin/otklik.js', 'start'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      DATA_DIR: dataDir,
      PORT: String(port),
      DEMO_INTERVAL_MS: '300',
      LOG_FORMAT: 'json',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const base = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (child.exitCode !== null)
        throw new Error(`otklik start exited with ${child.exitCode}:\n${out.slice(-3000)}`);
      const r = await fetch(`${base}/health`);
      return r.status === 200;
    },
    { timeoutMs: 90_000, intervalMs: 250, what: `GET ${base}/health → 200` },
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n--- output ---\n${out.slice(-3000)}`);
  });
  return { child, port, base, out: () => out, exited };
}

/** The JSON log lines of a run. */
function logLines(out: string): Record<string, unknown>[] {
  return out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        return {};
      }
    });
}

function apiToken(): string {
  const secrets = JSON.parse(fs.readFileSync(path.join(dataDir, 'secrets.json'), 'utf8')) as Record<
    string,
    string
  >;
  expect(secrets.API_TOKEN).toMatch(/^[\w-]{16,}$/);
  expect(secrets.INGEST_TOKEN).toMatch(/^[\w-]{16,}$/);
  expect(secrets.API_TOKEN).not.toBe(secrets.INGEST_TOKEN);
  return secrets.API_TOKEN!;
}

function redisPid(): number {
  const pid = Number(fs.readFileSync(path.join(dataDir, 'redis', 'redis.pid'), 'utf8'));
  redisPids.add(pid);
  return pid;
}

async function stop(
  run: Running,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
  const t0 = Date.now();
  run.child.kill('SIGTERM');
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(
      () => reject(new Error(`no exit within 15 s of SIGTERM:\n${run.out().slice(-3000)}`)),
      15_000,
    ).unref(),
  );
  const r = await Promise.race([run.exited, timeout]);
  return { ...r, ms: Date.now() - t0 };
}

interface IncidentItem {
  id: number;
  number: string;
  sector: string;
  sectorName: string;
  municipality: string | null;
  municipalityName: string | null;
  messagesCount: number;
  createdAt: string;
}

beforeAll(() => {
  dataDir = tempDir('otklik-start-');
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const pid of redisPids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  await new Promise((r) => setTimeout(r, 200));
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('npm start on embedded defaults', () => {
  let firstIncidents: IncidentItem[] = [];
  let token: string;

  it('comes up on PGlite and a private redis-server, and the demo region produces routed incidents', async () => {
    const run = await start();
    const health = (await (await fetch(`${run.base}/health`)).json()) as {
      status: string;
      components: Record<string, Record<string, unknown>>;
    };
    expect(health.status).toBe('ok');
    expect(health.components.database).toMatchObject({ ok: true, kind: 'pglite' });
    expect(health.components.redis).toMatchObject({
      ok: true,
      at: `unix:${path.join(dataDir, 'redis', 'redis.sock')}`,
    });
    expect(health.components.queues).toMatchObject({ ok: true, workers: 'running' });
    expect(fs.existsSync(path.join(dataDir, 'pglite'))).toBe(true);
    const pid = redisPid();
    expect(alive(pid)).toBe(true);

    // Tokens were not given: generated into DATA_DIR/secrets.json, and the API wants one.
    token = apiToken();
    expect((await fetch(`${run.base}/api/v1/incidents`)).status).toBe(401);
    const auth = { authorization: `Bearer ${token}` };

    const list = await waitFor(
      async () => {
        const r = await fetch(`${run.base}/api/v1/incidents?limit=100`, { headers: auth });
        if (r.status !== 200) throw new Error(`GET /api/v1/incidents → ${r.status}`);
        const body = (await r.json()) as { total: number; items: IncidentItem[] };
        return body.items.filter((i) => i.sector && i.municipality).length >= 2 ? body : null;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'demo incidents with sectors and municipalities' },
    );
    const placed = list.items.filter((i) => i.sector && i.municipality);
    for (const i of placed) {
      expect(i.number).toBeTruthy();
      expect(i.sectorName).toBeTruthy();
      expect(i.municipalityName).toBeTruthy();
      expect(i.messagesCount).toBeGreaterThan(0);
    }
    firstIncidents = list.items;

    // The workspace opens on a fresh install: an administrator was created with a generated password.
    const secrets = JSON.parse(fs.readFileSync(path.join(dataDir, 'secrets.json'), 'utf8')) as Record<
      string,
      string
    >;
    expect(secrets.ADMIN_PASSWORD).toMatch(/^[\w-]{16}$/);
    const page = await fetch(`${run.base}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="app">');
    const login = await fetch(`${run.base}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ login: 'admin', password: secrets.ADMIN_PASSWORD }),
    });
    expect(login.status).toBe(200);
    expect(((await login.json()) as { user: { roles: string[] } }).user.roles).toContain('tech_admin');

    // The logs are JSON (LOG_FORMAT=json) and say what was started.
    const logs = logLines(run.out());
    expect(logs.some((l) => l.msg === 'started a private redis-server')).toBe(true);
    expect(logs.some((l) => l.msg === 'database ready' && l.db === 'pglite')).toBe(true);

    const stopped = await stop(run);
    expect(stopped).toMatchObject({ code: 0, signal: null });
    // Everything it started is gone: its redis-server and the embedded database's lock.
    await waitFor(async () => !alive(pid), { timeoutMs: 5000, what: `redis-server ${pid} to exit` });
    expect(alive(pid)).toBe(false);
    expect(fs.existsSync(path.join(dataDir, 'pglite.lock'))).toBe(false);
  });

  it('finds the first run’s incidents after a restart on the same DATA_DIR', async () => {
    expect(firstIncidents.length).toBeGreaterThan(0);
    const run = await start();
    // The same generated token: secrets.json is read, not regenerated.
    expect(apiToken()).toBe(token);
    const auth = { authorization: `Bearer ${token}` };
    for (const before of firstIncidents) {
      const r = await fetch(`${run.base}/api/v1/incidents/${before.id}`, { headers: auth });
      expect(r.status).toBe(200);
      const after = (await r.json()) as IncidentItem;
      // The same row, not a new incident that happens to get the same id: createdAt is from the first run.
      expect(after).toMatchObject({
        id: before.id,
        number: before.number,
        sector: before.sector,
        municipality: before.municipality,
        createdAt: before.createdAt,
      });
      expect(after.messagesCount).toBeGreaterThanOrEqual(before.messagesCount);
    }
    // A fresh private redis-server again (the first was stopped), not a stale one.
    const logs = logLines(run.out());
    expect(logs.some((l) => l.msg === 'started a private redis-server')).toBe(true);
    const pid = redisPid();

    // `otklik import` beside the running server cannot open its embedded database: it says so, plainly,
    // and the running server is unharmed.
    const file = path.join(dataDir, 'beside.csv');
    fs.writeFileSync(file, 'id,text\nb-1,Не вывозят мусор в Бийске\n');
    const imp = spawnSync(process.execPath, ['bin/otklik.js', 'import', file], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', DATA_DIR: dataDir },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(imp.status).toBe(1);
    expect(imp.stderr).toMatch(new RegExp(`in use by process ${run.child.pid}`));
    expect(imp.stderr).toMatch(/DATABASE_URL/);
    expect(imp.stderr).not.toMatch(/\n\s+at /);
    expect((await fetch(`${run.base}/health`)).status).toBe(200);
    expect(alive(pid)).toBe(true);

    const stopped = await stop(run);
    expect(stopped).toMatchObject({ code: 0, signal: null });
    await waitFor(async () => !alive(pid), { timeoutMs: 5000, what: `redis-server ${pid} to exit` });
  });
});
