/**
 * Configuration from the environment: defaults that let `npm start` run on a bare machine, one readable
 * message per wrong value (all of them at once), and `otklik start` refusing a bad environment with exit
 * code 2 and those messages — not a stack trace.
 */
import path from 'node:path';
import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { ENV_SPEC, envTable, loadConfig } from '../src/config.ts';
import { ConfigError } from '../src/domain/errors.ts';
import { runCli, tempDir } from './helpers.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** The ConfigError thrown by loadConfig(env); fails the test when nothing is thrown. */
function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig defaults', () => {
  it('runs with an empty environment on embedded defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      PORT: 3000,
      HOST: '127.0.0.1',
      DATA_DIR: './data',
      REDIS_SERVER_BIN: 'redis-server',
      QUEUE_PREFIX: 'otklik',
      ROLES: ['api', 'workers', 'connectors'],
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'auto',
      DEMO: 'auto',
      DEMO_INTERVAL_MS: 4000,
      GROUPING_WINDOW_HOURS: 72,
      GROUPING_THRESHOLD: 0.5,
      REVIEW_THRESHOLD: 0.45,
      PUBLIC_URL: 'http://127.0.0.1:3000',
    });
    // No server URLs and no tokens: PGlite, a private redis-server and generated tokens take their place.
    expect(c.DATABASE_URL).toBeUndefined();
    expect(c.REDIS_URL).toBeUndefined();
    expect(c.API_TOKEN).toBeUndefined();
    expect(c.INGEST_TOKEN).toBeUndefined();
    expect(c.dataDir).toBe(path.resolve('./data'));
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('treats an empty variable as unset', () => {
    const c = loadConfig({ PORT: '', DATABASE_URL: '', API_TOKEN: '' });
    expect(c.PORT).toBe(3000);
    expect(c.DATABASE_URL).toBeUndefined();
    expect(c.API_TOKEN).toBeUndefined();
  });

  it('parses given values into their types', () => {
    const dir = tempDir();
    dirs.push(dir);
    const c = loadConfig({
      PORT: '8080',
      DATA_DIR: dir,
      DATABASE_URL: 'postgres://u:p@db:5432/otklik',
      REDIS_URL: 'rediss://cache:6380/2',
      ROLES: 'api, workers ,demo',
      GROUPING_THRESHOLD: '0.35',
      DEMO_INTERVAL_MS: '300',
      API_TOKEN: 'x'.repeat(16),
      LOG_FORMAT: 'json',
    });
    expect(c.PORT).toBe(8080);
    expect(c.dataDir).toBe(dir);
    expect(c.DATABASE_URL).toBe('postgres://u:p@db:5432/otklik');
    expect(c.REDIS_URL).toBe('rediss://cache:6380/2');
    expect(c.ROLES).toEqual(['api', 'workers', 'demo']);
    expect(c.GROUPING_THRESHOLD).toBe(0.35);
    expect(c.DEMO_INTERVAL_MS).toBe(300);
    expect(c.API_TOKEN).toBe('x'.repeat(16));
    expect(c.LOG_FORMAT).toBe('json');
  });

  it('documents every variable in the README table', () => {
    const table = envTable();
    for (const name of Object.keys(ENV_SPEC)) expect(table).toContain(`| \`${name}\` |`);
  });
});

describe('loadConfig refuses wrong values', () => {
  it.each([
    ['PORT', 'abc', /whole number/],
    ['PORT', '3000.5', /whole number/],
    ['PORT', '70000', /between 0 and 65535/],
    ['PORT', '-1', /between 0 and 65535/],
    ['DEMO_INTERVAL_MS', '10', /between 50 and/],
    ['GROUPING_THRESHOLD', '7', /between 0\.05 and 1/],
    ['GROUPING_THRESHOLD', 'half', /must be a number/],
    ['GROUPING_WINDOW_HOURS', 'Infinity', /must be a number/],
    ['REVIEW_THRESHOLD', '-0.1', /between 0 and 1/],
    ['ANALYZE_CONCURRENCY', '0', /between 1 and 64/],
    ['DATABASE_URL', 'mysql://db/otklik', /postgres: or postgresql:/],
    ['DATABASE_URL', 'not a url', /must be a URL/],
    ['REDIS_URL', 'http://cache:6379', /redis: or rediss:/],
    ['PUBLIC_URL', 'ftp://example.org', /http: or https:/],
    ['LOG_LEVEL', 'verbose', /one of fatal, error, warn, info, debug, trace, silent/],
    ['LOG_FORMAT', 'xml', /one of auto, pretty, json/],
    ['DEMO', 'yes', /one of auto, on, off/],
    ['ROLES', 'api,bogus', /unknown role "bogus"/],
    ['API_TOKEN', 'short', /at least 16 characters/],
    ['INGEST_TOKEN', '123456789012345', /at least 16 characters/],
  ])('%s=%j → one message naming the variable', (name, value, reason) => {
    const err = configError({ [name]: value });
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]!.startsWith(`${name} `)).toBe(true);
    expect(err.problems[0]).toMatch(reason);
    expect(err.message).toContain(err.problems[0]);
    expect(err.code).toBe('CONFIG_INVALID');
  });

  it('lists every wrong value in one ConfigError, and none of the right ones', () => {
    const err = configError({
      PORT: 'abc',
      GROUPING_THRESHOLD: '7',
      LOG_LEVEL: 'loud',
      API_TOKEN: 'short',
      HOST: '0.0.0.0',
      DEMO: 'off',
    });
    expect(err.problems.map((p) => p.split(' ')[0]).sort()).toEqual(
      ['API_TOKEN', 'GROUPING_THRESHOLD', 'LOG_LEVEL', 'PORT'].sort(),
    );
    for (const p of err.problems) expect(err.message).toContain(p);
    expect(err.message).not.toMatch(/HOST|DEMO/);
  });

  it('never repeats a secret in its messages', () => {
    const err = configError({
      DATABASE_URL: 'mysql://admin:hunter2-db-secret@db/otklik',
      REDIS_URL: 'redis//:hunter2-redis-secret@cache',
      API_TOKEN: 'hunter2-short',
    });
    expect(err.problems).toHaveLength(3);
    expect(err.message).not.toContain('hunter2');
  });
});

describe('otklik start with a bad environment', () => {
  it('exits with code 2 and prints every problem, without a stack trace, before touching anything', async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const r = await runCli(['start'], {
      PORT: 'abc',
      GROUPING_THRESHOLD: '7',
      DATA_DIR: dataDir,
      // Would be reached if config were not checked first: an unreachable server must not matter.
      DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Invalid configuration');
    expect(r.stderr).toMatch(/PORT must be a whole number, got "abc"/);
    expect(r.stderr).toMatch(/GROUPING_THRESHOLD must be between 0\.05 and 1, got 7/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack frames
    expect(r.stderr).not.toMatch(/ConfigError|AppError/);
    expect(r.stdout).toBe('');
    // Refused before anything was created: no database, no redis-server, no generated secrets.
    expect(fs.readdirSync(dataDir)).toEqual([]);
  });

  it('gives the same treatment to `otklik import`', async () => {
    const r = await runCli(['import', 'whatever.csv'], { LOG_LEVEL: 'chatty' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/LOG_LEVEL must be one of/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
