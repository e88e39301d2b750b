/**
 * Redis without REDIS_URL: a private redis-server from PATH, on a unix socket under DATA_DIR, with its
 * append-only file there too — started on demand, reused when already running, stopped on close, and a
 * clear install hint when the binary is missing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openRedis, RedisUnavailableError, type RedisHandle } from '../src/workers/redis.ts';
import { alive, REDIS_URL, tempDir, waitFor } from './helpers.ts';

const dirs: string[] = [];
const handles: RedisHandle[] = [];
const pids: number[] = [];

function serverPid(dataDir: string): number {
  const pid = Number(fs.readFileSync(path.join(dataDir, 'redis', 'redis.pid'), 'utf8'));
  pids.push(pid);
  return pid;
}

/** Files under DATA_DIR/redis that hold appended commands (redis 7: appendonlydir/*.aof; older: *.aof). */
function aofFiles(dataDir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.includes('.aof')) out.push(p);
    }
  };
  walk(path.join(dataDir, 'redis'));
  return out;
}

afterAll(async () => {
  for (const h of handles) await h.close().catch(() => {});
  for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

async function open(dataDir: string, serverBin = 'redis-server'): Promise<RedisHandle> {
  const h = await openRedis({ dataDir, serverBin });
  handles.push(h);
  return h;
}

describe('the private redis-server (no REDIS_URL)', () => {
  it('starts on a unix socket under DATA_DIR, appends writes to a file there, is reused, and stops on close', async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const socket = path.join(dataDir, 'redis', 'redis.sock');

    const first = await open(dataDir);
    expect(first.describe).toBe(`unix:${socket}`);
    expect(first.options.path).toBe(socket);
    expect(fs.statSync(socket).isSocket()).toBe(true);
    const pid = serverPid(dataDir);
    expect(alive(pid)).toBe(true);

    const c1 = first.connect();
    try {
      // Only the socket: no TCP port to collide with another installation.
      const cfg = (await c1.config('GET', 'port')) as string[];
      expect(cfg[1]).toBe('0');
      const aof = (await c1.config('GET', 'appendonly')) as string[];
      expect(aof[1]).toBe('yes');
      expect(path.resolve(((await c1.config('GET', 'dir')) as string[])[1]!)).toBe(
        fs.realpathSync(path.join(dataDir, 'redis')),
      );

      await c1.set('otklik:test:key', 'survives');
      await c1.rpush('otklik:test:list', 'a', 'b', 'c');
      // appendfsync everysec: the write reaches the file within about a second.
      const files = await waitFor(
        async () => {
          const fs_ = aofFiles(dataDir);
          const withData = fs_.filter((f) => fs.readFileSync(f, 'latin1').includes('otklik:test:key'));
          return withData.length ? withData : null;
        },
        { timeoutMs: 5000, what: 'the write in an append-only file under DATA_DIR/redis' },
      );
      expect(files[0]!.startsWith(path.join(dataDir, 'redis'))).toBe(true);
    } finally {
      c1.disconnect();
    }

    // A second open (e.g. `otklik import` beside a running `otklik start`) reuses the running server.
    const second = await open(dataDir);
    expect(second.describe).toBe(`unix:${socket}`);
    expect(serverPid(dataDir)).toBe(pid);
    const c2 = second.connect();
    try {
      expect(await c2.get('otklik:test:key')).toBe('survives');
      expect(await c2.lrange('otklik:test:list', 0, -1)).toEqual(['a', 'b', 'c']);
    } finally {
      c2.disconnect();
    }
    // The one that only reused it does not stop it under the one that started it.
    await second.close();
    expect(alive(pid)).toBe(true);
    const c3 = first.connect();
    try {
      expect(await c3.ping()).toBe('PONG');
    } finally {
      c3.disconnect();
    }

    // The one that started it stops it.
    await first.close();
    await waitFor(async () => !alive(pid), { timeoutMs: 5000, what: 'redis-server to exit' });
    expect(alive(pid)).toBe(false);

    // The data is in DATA_DIR: a fresh server on the same directory replays the append-only file.
    const third = await open(dataDir);
    const pid3 = serverPid(dataDir);
    expect(pid3).not.toBe(pid);
    const c4 = third.connect();
    try {
      expect(await c4.get('otklik:test:key')).toBe('survives');
    } finally {
      c4.disconnect();
    }
    await third.close();
    await waitFor(async () => !alive(pid3), { timeoutMs: 5000, what: 'the second redis-server to exit' });
  });

  it('fails with the install command when the binary is missing', async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const missing = path.join(dataDir, 'no-such-redis-server');
    const err = await openRedis({ dataDir, serverBin: missing }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RedisUnavailableError);
    expect((err as RedisUnavailableError).code).toBe('REDIS_UNAVAILABLE');
    const msg = (err as Error).message;
    expect(msg).toContain('apt-get install redis-server');
    expect(msg).toContain(missing);
    expect(msg).toContain('REDIS_URL');
  });

  it('says why when the server starts but exits at once (its own words, from its log on stdout)', async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    // A redis-server that refuses to run, as a real one does on a bad option or an unreadable AOF.
    const bin = path.join(dataDir, 'broken-redis-server');
    fs.writeFileSync(
      bin,
      '#!/bin/sh\necho "1:M 01 Jan 2025 00:00:00.000 # Bad file format reading the append only file"\nexit 1\n',
      {
        mode: 0o755,
      },
    );
    const err = await openRedis({ dataDir, serverBin: bin }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RedisUnavailableError);
    expect((err as Error).message).toMatch(/did not start/);
    expect((err as Error).message).toContain('Bad file format reading the append only file');
  });

  it('refuses a DATA_DIR too deep for a unix socket, saying what to do, instead of a silent failure', async () => {
    const base = tempDir();
    dirs.push(base);
    const deep = path.join(base, 'd'.repeat(120 - base.length));
    const err = await openRedis({ dataDir: deep, serverBin: 'redis-server' }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RedisUnavailableError);
    expect((err as Error).message).toMatch(/too long for a unix socket/);
    expect((err as Error).message).toMatch(/shorter DATA_DIR or set REDIS_URL/);
  });
});

describe('REDIS_URL', () => {
  it('connects to the given server and starts nothing', async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const h = await open(dataDir);
    await h.close();
    const byUrl = await openRedis({ url: REDIS_URL, dataDir, serverBin: 'redis-server' });
    handles.push(byUrl);
    const u = new URL(REDIS_URL);
    expect(byUrl.describe).toBe(`redis://${u.hostname}:${u.port || 6379}/0`);
    const c = byUrl.connect();
    try {
      expect(await c.ping()).toBe('PONG');
    } finally {
      c.disconnect();
    }
    await byUrl.close();
    expect(fs.existsSync(path.join(dataDir, 'redis', 'redis.sock'))).toBe(false);
  });
});
