/**
 * Secrets never appear in logs: the real app (PostgreSQL, Redis, the send worker) logs into a captured pino
 * stream at the most verbose level while it is given a failed login, requests with a bearer token, a session
 * cookie, a CSRF header, the Telegram webhook secret and an `?access_token=` in the URL, and a message to a
 * citizen whose Telegram call fails (the bot token is in the URL, so in the error's stack); with every request
 * and body logged as a careless debug hook would. None of the secrets is in the output; the events are.
 */
import fs from 'node:fs';
import net from 'node:net';
import { Writable } from 'node:stream';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../src/app.ts';
import { createLogger, scrubSecrets, scrubString } from '../src/logger.ts';
import { API_TOKEN, createTestDatabase, INGEST_TOKEN, tempDir, testConfig, waitFor } from './helpers.ts';

const BOT_ID = '987654321';
const BOT_TOKEN = `${BOT_ID}:AAH_redaction-test_TOKEN_0123456789abcdef`;
const PASSWORD = 'Very-Secret-Password-42';
const SESSION = 'sessionCookieSecretValue0123456789';
const CSRF = 'csrfHeaderSecretValue0123456789';
const TG_SECRET = 'telegramWebhookSecret_0123456789';
const VK_SECRET = 'vkCallbackSecret_0123456789';
const ACCESS_TOKEN = 'vk1.a.queryAccessTokenSecret0123456789';
const DB_PASSWORD = 'dbPasswordSecret0123';
const STAFF_TOKEN = 'stf_forgedStaffTokenSecret0123456789';

/** A port nothing listens on: the Telegram API «server» refusing connections. */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

describe('secrets in logs', () => {
  let app: App;
  let drop: () => Promise<void>;
  let dataDir: string;
  const lines: string[] = [];
  const out = () => lines.join('');

  beforeAll(async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    dataDir = tempDir();
    const config = testConfig({
      DATA_DIR: dataDir,
      DATABASE_URL: db.url,
      LOG_LEVEL: 'trace',
      TELEGRAM_BOT_TOKEN: BOT_TOKEN,
      TELEGRAM_API_ROOT: `http://127.0.0.1:${await closedPort()}`,
      TELEGRAM_WEBHOOK_SECRET: TG_SECRET,
    });
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const log = createLogger({ level: 'trace', format: 'json', destination });
    app = await createApp({ config, roles: ['api', 'workers'], log, listen: false });
    // What a careless debugging session would add: every request with its headers, every body.
    app.api!.addHook('onRequest', async (req) =>
      req.log.info({ req, headers: req.headers }, 'incoming request'),
    );
    app.api!.addHook('preHandler', async (req) =>
      req.log.debug({ body: req.body, query: req.query }, 'request body'),
    );
  });
  afterAll(async () => {
    await app?.close();
    await drop?.();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('a failed login, bearer tokens, cookies, CSRF and webhook secrets, a token in the query: none logged', async () => {
    const inject = (o: InjectOptions) => app.api!.inject(o);
    const bad = await inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { login: 'admin', password: PASSWORD },
    });
    expect(bad.statusCode).toBe(401);
    expect(
      (
        await inject({
          method: 'GET',
          url: '/api/v1/incidents',
          headers: { authorization: `Bearer ${API_TOKEN}` },
        })
      ).statusCode,
    ).toBe(200);
    expect(
      (
        await inject({
          method: 'GET',
          url: '/api/v1/incidents',
          headers: { authorization: `Bearer ${STAFF_TOKEN}` },
        })
      ).statusCode,
    ).toBe(401);
    await inject({
      method: 'POST',
      url: '/api/v1/messages',
      headers: { authorization: `Bearer ${INGEST_TOKEN}` },
      payload: {
        source: 'api',
        externalId: 'x1',
        text: 'Нет света',
        author: { id: 'a1' },
        postedAt: new Date().toISOString(),
      },
    });
    await inject({
      method: 'POST',
      url: '/api/v1/auth/logout',
      headers: { cookie: `otklik_session=${SESSION}`, 'x-csrf-token': CSRF },
    });
    await inject({
      method: 'POST',
      url: `/webhooks/telegram/${BOT_ID}`,
      headers: { 'x-telegram-bot-api-secret-token': TG_SECRET },
      payload: { update_id: 1 },
    });
    await inject({
      method: 'POST',
      url: '/webhooks/vk/1',
      payload: { type: 'message_new', group_id: 1, secret: VK_SECRET, object: {} },
    });
    await inject({ method: 'GET', url: `/api/v1/incidents?access_token=${ACCESS_TOKEN}&limit=1` });
    // Things code logs by itself: the configuration, a connection string, a token inside a message.
    app.log.info(
      { config: { ...app.config, DATABASE_URL: `postgres://otklik:${DB_PASSWORD}@db:5432/otklik` } },
      'config',
    );
    app.log.warn(`could not reach redis://:${DB_PASSWORD}@cache:6379 (will retry)`);
    app.log.error(new Error(`Telegram: 401 at https://api.telegram.org/bot${BOT_TOKEN}/getMe`));

    expect(out()).toContain('incoming request');
    expect(out()).toContain('[скрыто]');
    for (const secret of [
      PASSWORD,
      API_TOKEN,
      INGEST_TOKEN,
      STAFF_TOKEN,
      SESSION,
      CSRF,
      TG_SECRET,
      VK_SECRET,
      ACCESS_TOKEN,
      DB_PASSWORD,
      BOT_TOKEN,
      BOT_TOKEN.split(':')[1]!,
    ])
      expect(out(), secret).not.toContain(secret);
  });

  it('a Telegram call failing with the token in its URL: the send worker logs the error, not the token', async () => {
    await app.database.query(
      `insert into sources (id, platform, channel_kind, name) values ($1, 'telegram', 'messenger', 'Бот') on conflict do nothing`,
      [`telegram:${BOT_ID}`],
    );
    const { id } = await app.outbound.add({
      idempotencyKey: 'redaction-test',
      sourceId: `telegram:${BOT_ID}`,
      chatId: '4242',
      text: 'Ваше обращение принято',
      purpose: 'confirmation',
    });
    await app.queues.add('send', { outboundId: id });
    const failure = (l: string) => /ECONNREFUSED/.test(l) && /"err":/.test(l);
    await waitFor(async () => lines.some(failure), { what: 'the failed send in the log', timeoutMs: 30_000 });
    // The error reached the log whole: its type, its message and its stack with the cause's (node-fetch's,
    // whose message had the URL with the token until telegraf redacted it).
    const logged = JSON.parse(lines.find(failure)!) as { err: { type: string; stack: string } };
    expect(logged.err.type).toBe('SendError');
    expect(logged.err.stack).toContain('caused by: FetchError');
    expect(out()).not.toContain(BOT_TOKEN);
    expect(out()).not.toContain(BOT_TOKEN.split(':')[1]!);
    const [row] = await app.database.query<{ last_error: string }>(
      `select last_error from outbound_messages where id = $1`,
      [id],
    );
    expect(row!.last_error ?? '').not.toContain(BOT_TOKEN.split(':')[1]!);
  });

  it('scrubSecrets: keys, URLs, nested errors and causes', () => {
    const cause = new Error(`request to https://api.telegram.org/file/bot${BOT_TOKEN}/photo.jpg failed`);
    const err = new Error('wrapped', { cause });
    Object.assign(err, {
      response: { headers: { 'set-cookie': [`s=${SESSION}`] }, config: { password: PASSWORD } },
    });
    const text = JSON.stringify(
      scrubSecrets({
        err,
        headers: { Authorization: `Bearer ${API_TOKEN}`, 'X-CSRF-Token': CSRF },
        nested: [{ accessToken: ACCESS_TOKEN, csrfToken: CSRF, ingest_token: INGEST_TOKEN }],
        url: `https://api.vk.com/method/messages.send?access_token=${ACCESS_TOKEN}&v=5.199`,
      }),
    );
    for (const secret of [BOT_TOKEN, SESSION, PASSWORD, API_TOKEN, CSRF, ACCESS_TOKEN, INGEST_TOKEN])
      expect(text, secret).not.toContain(secret);
    expect(text).toContain('messages.send?access_token=[скрыто]&v=5.199');
    expect(scrubString(`postgres://u:${DB_PASSWORD}@h/db`)).toBe('postgres://u:[скрыто]@h/db');
  });
});
