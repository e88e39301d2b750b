/**
 * Opens the database: a PostgreSQL server when a URL is given, else embedded PGlite under DATA_DIR.
 * Both run the same Drizzle migrations and are used through the same `Db` type.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { sql, type SQL } from 'drizzle-orm';
import pg from 'pg';
import * as schema from './schema.ts';
import { AppError } from '../domain/errors.ts';

export type Schema = typeof schema;
export type Db = PgDatabase<PgQueryResultHKT, Schema>;

export interface Database {
  db: Db;
  kind: 'postgres' | 'pglite';
  /** Raw SQL returning rows (both drivers expose `.rows`). */
  rows<T = Record<string, unknown>>(query: SQL): Promise<T[]>;
  /** Plain parameterised SQL for hot paths (arrays bind as PostgreSQL arrays on both drivers). */
  query<T = Record<string, unknown>>(text: string, params: unknown[]): Promise<T[]>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** PostgreSQL connection string; unset → PGlite. */
  url?: string;
  /** PGlite data directory; `memory://` for an in-memory database (tests). */
  dataDir?: string;
  /** Pool size for PostgreSQL. @defaultValue 10 */
  poolSize?: number;
  /** Run migrations on open. @defaultValue true */
  migrate?: boolean;
}

export const MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

// int8 and numeric come back from `pg` as strings; counts and sums here fit in a double.
pg.types.setTypeParser(20, (v) => Number(v));
pg.types.setTypeParser(1700, (v) => Number(v));

export async function openDatabase(opts: OpenDatabaseOptions): Promise<Database> {
  const migrate = opts.migrate ?? true;
  if (opts.url) {
    const pool = new pg.Pool({ connectionString: opts.url, max: opts.poolSize ?? 10 });
    pool.on('error', () => {
      /* idle client errors (server restart) surface on the next query */
    });
    // A client checked out of the pool (a transaction between two statements) has no 'error' listener of the
    // pool's: when the server restarts then, pg emits 'error' on it and, unheard, that ends the process. With
    // this listener the error reaches the transaction's next statement instead, which fails and releases the
    // client (issue 9, «Faults»: a worker died on `pg_ctl stop -m immediate`).
    pool.on('connect', (client) => {
      client.on('error', () => {
        /* surfaces as the failure of the statement in flight or the next one */
      });
    });
    const db = drizzlePg(pool, { schema }) as unknown as Db;
    const database: Database = {
      db,
      kind: 'postgres',
      rows: async <T>(q: SQL) => ((await db.execute(q)) as unknown as { rows: T[] }).rows,
      query: async <T>(text: string, params: unknown[]) => (await pool.query(text, params)).rows as T[],
      ping: async () => {
        await pool.query('select 1');
      },
      close: () => pool.end(),
    };
    if (migrate) await migratePg(db as never, { migrationsFolder: MIGRATIONS_DIR });
    return database;
  }
  const dir = opts.dataDir ?? 'memory://';
  const unlock = dir.startsWith('memory://') ? () => {} : lockDataDir(dir);
  let client: PGlite;
  try {
    client = await PGlite.create(dir);
  } catch (err) {
    unlock();
    throw err;
  }
  const db = drizzlePglite(client, { schema }) as unknown as Db;
  const database: Database = {
    db,
    kind: 'pglite',
    rows: async <T>(q: SQL) => ((await db.execute(q)) as unknown as { rows: T[] }).rows,
    query: async <T>(text: string, params: unknown[]) => (await client.query<T>(text, params)).rows,
    ping: async () => {
      await client.query('select 1');
    },
    close: async () => {
      await client.close();
      unlock();
    },
  };
  if (migrate) await migratePglite(db as never, { migrationsFolder: MIGRATIONS_DIR });
  return database;
}

/**
 * Embedded PGlite is one process's database: a second process opening the same directory would corrupt
 * it. A lock file with our pid guards it; a lock left by a dead process is taken over.
 */
function lockDataDir(dir: string): () => void {
  fs.mkdirSync(dir, { recursive: true });
  const lock = `${dir.replace(/\/$/, '')}.lock`;
  try {
    const pid = Number(fs.readFileSync(lock, 'utf8'));
    if (pid && pid !== process.pid && alive(pid))
      throw new AppError(
        'DB_IN_USE',
        `the embedded database ${dir} is in use by process ${pid}. Stop it first, send data through the running server's API, or set DATABASE_URL to a PostgreSQL server.`,
      );
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  fs.writeFileSync(lock, String(process.pid));
  return () => {
    try {
      if (Number(fs.readFileSync(lock, 'utf8')) === process.pid) fs.rmSync(lock);
    } catch {
      /* already gone */
    }
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export { sql };

/** The PostgreSQL error code of a failed statement (`23503` foreign key, `23505` unique), wrapped or not. */
export function pgErrorCode(err: unknown): string | undefined {
  return (err as { code?: string }).code ?? (err as { cause?: { code?: string } }).cause?.code;
}
