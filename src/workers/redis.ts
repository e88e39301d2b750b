/**
 * Redis for the queues: REDIS_URL, or a private redis-server started from PATH with its append-only file
 * under DATA_DIR, listening on a unix socket only (no port to collide with).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import { AppError } from '../domain/errors.ts';

export interface RedisHandle {
  /** Options to create connections (BullMQ creates its own from them). */
  options: RedisOptions;
  /** Where it points, with no secrets, for logs and /health. */
  describe: string;
  /** A fresh connection. */
  connect(extra?: RedisOptions): Redis;
  /** Stops the private server if we started it. */
  close(): Promise<void>;
}

export class RedisUnavailableError extends AppError {
  constructor(message: string, cause?: unknown) {
    super('REDIS_UNAVAILABLE', message, { cause });
  }
}

export interface RedisOpenOptions {
  url?: string;
  dataDir: string;
  serverBin: string;
  log?: { info(o: object, m: string): void; warn(o: object, m: string): void };
}

export async function openRedis(opts: RedisOpenOptions): Promise<RedisHandle> {
  if (opts.url) {
    const u = new URL(opts.url);
    const options: RedisOptions = {
      host: u.hostname,
      port: Number(u.port || 6379),
      username: u.username || undefined,
      password: u.password ? decodeURIComponent(u.password) : undefined,
      db: u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0,
      tls: u.protocol === 'rediss:' ? {} : undefined,
      maxRetriesPerRequest: null,
    };
    return handle(options, `${u.protocol}//${u.hostname}:${options.port}/${options.db}`, async () => {});
  }
  const dir = path.join(opts.dataDir, 'redis');
  fs.mkdirSync(dir, { recursive: true });
  const socket = path.join(dir, 'redis.sock');
  // sun_path holds 104 bytes on macOS, 108 on Linux (with the NUL); redis-server refuses a longer path.
  if (Buffer.byteLength(socket) > 103)
    throw new RedisUnavailableError(
      `REDIS_URL is not set and the private redis-server's socket path would be too long for a unix socket (${Buffer.byteLength(socket)} bytes, at most 103): ${socket}. Use a shorter DATA_DIR or set REDIS_URL=redis://host:6379.`,
    );
  const options: RedisOptions = { path: socket, maxRetriesPerRequest: null };
  // A server of ours may survive a kill -9 of the app: reuse it, it holds our queues.
  if (await reachable(options)) {
    opts.log?.info({ socket }, 'reusing the private redis-server already running');
    return handle(options, `unix:${socket}`, async () => {});
  }
  fs.rmSync(socket, { force: true });
  const child = spawn(
    opts.serverBin,
    [
      '--port',
      '0',
      '--unixsocket',
      socket,
      '--unixsocketperm',
      '700',
      '--dir',
      dir,
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--save',
      '',
      '--daemonize',
      'no',
      '--pidfile',
      path.join(dir, 'redis.pid'),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const spawnError = await new Promise<Error | null>((resolve) => {
    child.once('error', (err) => resolve(err));
    child.once('spawn', () => resolve(null));
  });
  if (spawnError) {
    const code = (spawnError as NodeJS.ErrnoException).code;
    throw new RedisUnavailableError(
      code === 'ENOENT'
        ? `REDIS_URL is not set and "${opts.serverBin}" was not found on PATH. Install it (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis) or set REDIS_URL=redis://host:6379.`
        : `could not start ${opts.serverBin}: ${spawnError.message}`,
      spawnError,
    );
  }
  // redis-server writes its log, startup errors included, to stdout. Both pipes are drained for the life of
  // the server (a full pipe would block it); the tail is kept to explain a failed start.
  let output = '';
  const collect = (d: Buffer) => {
    output = (output + d.toString()).slice(-4000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  // Replaying a large append-only file takes a while (PING answers LOADING meanwhile): wait while it runs.
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    if (await reachable(options)) {
      opts.log?.info({ socket, pid: child.pid }, 'started a private redis-server');
      return handle(options, `unix:${socket}`, () => stopChild(child));
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const running = child.exitCode === null && child.signalCode === null;
  child.kill('SIGKILL');
  const why = output.trim().split('\n').slice(-5).join('\n').trim();
  throw new RedisUnavailableError(
    `the private redis-server (${opts.serverBin}) did not start${running ? ` in ${START_TIMEOUT_MS / 1000} s` : ''}: ${why || 'no output'}`,
  );
}

/** How long a starting private redis-server may take to answer (it replays its append-only file first). */
const START_TIMEOUT_MS = 60_000;

function handle(options: RedisOptions, describe: string, close: () => Promise<void>): RedisHandle {
  return {
    options,
    describe,
    connect: (extra) => new Redis({ ...options, ...extra }),
    close,
  };
}

async function reachable(options: RedisOptions): Promise<boolean> {
  if (options.path && !fs.existsSync(options.path)) return false;
  const r = new Redis({ ...options, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => {});
  try {
    await r.connect();
    await r.ping();
    return true;
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
