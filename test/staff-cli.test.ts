/** `otklik staff add|token` as a child process on a real PostgreSQL database. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../src/store/db.ts';
import { createStaffStore } from '../src/store/staff.store.ts';
import { createAuthStore } from '../src/store/auth.store.ts';
import { ROOT, createTestDatabase, runCli, tempDir } from './helpers.ts';

describe('otklik staff', () => {
  let db: { url: string; drop: () => Promise<void> };
  let env: Record<string, string>;
  let database: Database;

  beforeAll(async () => {
    db = await createTestDatabase();
    env = { DATABASE_URL: db.url, DATA_DIR: tempDir(), LOG_LEVEL: 'silent' };
  });
  afterAll(async () => {
    await database?.close();
    await db?.drop();
  });

  it('adds a staff member with scoped roles and prints a token that authenticates them', async () => {
    const r = await runCli(
      [
        'staff',
        'add',
        '--login',
        'ivanova',
        '--name',
        'Мария Иванова',
        '--role',
        'smm',
        '--role',
        'sector_head:sector=roads',
        '--telegram',
        '424242',
      ],
      env,
    );
    expect(r.code).toBe(0);
    const token = r.stdout.trim();
    expect(token).toMatch(/^stf_[\w-]{30,}$/);
    expect(r.stderr).toContain('Мария Иванова');
    database = await openDatabase({ url: db.url });
    const m = await createStaffStore(database).byToken(token);
    expect(m?.login).toBe('ivanova');
    expect(m?.telegramUserId).toBe('424242');
    expect(m?.grants.map((g) => `${g.role}:${g.sector ?? ''}`).sort()).toEqual(['sector_head:roads', 'smm:']);
    // Only the hash is stored.
    const rows = await database.query<{ token_hash: string }>('select token_hash from staff_tokens', []);
    expect(rows.map((x) => x.token_hash)).not.toContain(token);
    const again = await runCli(['staff', 'token', '--login', 'ivanova'], env);
    expect(again.code).toBe(0);
    expect(again.stdout.trim()).not.toBe(token);
  });

  it('sets a web login password from stdin, and refuses a short one', async () => {
    const { spawnSync } = await import('node:child_process');
    const run = (input: string) =>
      spawnSync(process.execPath, ['bin/otklik.js', 'staff', 'password', '--login', 'ivanova'], {
        cwd: ROOT,
        input,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
        encoding: 'utf8',
        timeout: 60_000,
      });
    expect(run('short\n').status).toBe(2);
    const ok = run('a long enough password\n');
    expect(ok.status).toBe(0);
    database ??= await openDatabase({ url: db.url });
    const auth = createAuthStore(database, createStaffStore(database));
    const r = await auth.login('ivanova', 'a long enough password');
    expect(r.ok).toBe(true);
  });

  it('creates an integration token with scopes, and refuses an unknown scope', async () => {
    const r = await runCli(['token', 'create', '--name', 'crm', '--scope', 'read,labels'], env);
    expect(r.code).toBe(0);
    database ??= await openDatabase({ url: db.url });
    const auth = createAuthStore(database, createStaffStore(database));
    expect(await auth.apiToken(r.stdout.trim())).toEqual({ name: 'crm', scopes: ['read', 'labels'] });
    const bad = await runCli(['token', 'create', '--name', 'x', '--scope', 'root'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown scope root');
  });

  it('refuses unknown roles, unknown scopes and a second account with the same login, with exit code 2', async () => {
    const badRole = await runCli(['staff', 'add', '--login', 'x1', '--name', 'X', '--role', 'boss'], env);
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toContain('unknown role "boss"');
    const badScope = await runCli(
      ['staff', 'add', '--login', 'x2', '--name', 'X', '--role', 'smm:sector=space'],
      env,
    );
    expect(badScope.code).toBe(2);
    expect(badScope.stderr).toMatch(/unknown sector, agency or municipality/);
    const twice = await runCli(['staff', 'add', '--login', 'ivanova', '--name', 'X', '--role', 'smm'], env);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain('exists');
  });
});
