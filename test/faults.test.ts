/**
 * Regressions of what `bench/faults.ts` (issue 9, «Faults») found, each reproduced cheaply:
 * - a database restart while a pooled client was checked out (a transaction) ended the process;
 * - the send queue livelocked behind a backlog: each delayed job held a limiter slot it never used;
 * - a reply was sent twice when the worker died, or the database went away, between the platform's answer
 *   and writing it down (Telegram has no idempotency key);
 * - a minute of 5xx failed replies for good (BullMQ's 6 attempts last ~30 s);
 * - VK events that came while the connectors' process was down were skipped on its next start.
 */
import { randomBytes } from 'node:crypto';
import { DelayedError, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SendError, type PlatformSender } from '../src/connectors/platform.ts';
import { createSendLimiter } from '../src/connectors/rate-limit.ts';
import { createVkConnector } from '../src/connectors/vk.connector.ts';
import { createCursorStore } from '../src/store/cursor.store.ts';
import { openDatabase, sql, type Database } from '../src/store/db.ts';
import { createOutboundStore, type OutboundStore } from '../src/store/outbound.store.ts';
import { createReferenceStore } from '../src/store/reference.store.ts';
import { seedReferenceData } from '../src/store/seed.ts';
import { sendProcessor } from '../src/workers/send.worker.ts';
import { startVkEmulator, type VkEmulator } from './emulators/vk.ts';
import { createTestDatabase, REDIS_URL, waitFor } from './helpers.ts';

const silent = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('faults: the database and the limiter', () => {
  let drop: () => Promise<void>;
  let url: string;
  let database: Database;
  const redis = new Redis(REDIS_URL);
  const prefix = `flt${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    ({ url, drop } = await createTestDatabase());
    database = await openDatabase({ url, poolSize: 2 });
  });
  afterAll(async () => {
    await database?.close();
    await drop?.();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  it('a connection cut in the middle of a transaction fails the transaction, not the process', async () => {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      const tx = database.db.transaction(async (t) => {
        const res = (await t.execute(sql`select pg_backend_pid() as pid`)) as unknown as {
          rows: { pid: number }[];
        };
        const [row] = res.rows;
        // The server ends this backend (as a restart does) while the client is checked out and idle.
        await admin.query('select pg_terminate_backend($1)', [row!.pid]);
        await sleep(300); // the 'error' event arrives now, with no statement in flight
        await t.execute(sql`select 1`);
      });
      await expect(tx).rejects.toThrow();
      // The pool goes on with a fresh connection.
      expect((await database.query<{ one: number }>('select 1 as one', []))[0]!.one).toBe(1);
    } finally {
      await admin.end();
    }
  });

  it('a long-poll position is kept as it was written', async () => {
    const cursors = createCursorStore(database);
    expect(await cursors.get('vk-longpoll:1')).toBeUndefined();
    await cursors.set('vk-longpoll:1', '279');
    await cursors.set('vk-longpoll:1', '280');
    expect(await cursors.get('vk-longpoll:1')).toBe('280');
  });

  it('a slot further than maxWaitMs is not taken, so callers that do not wait never push the others back', async () => {
    const limiter = createSendLimiter(redis, prefix);
    const limits = { perChatMs: 1000, globalMs: 34 };
    // 60 messages fill the next two seconds of the bot.
    for (let i = 0; i < 60; i++)
      expect(await limiter.reserve('telegram:9', `c${i}`, limits, 2000)).toBeLessThanOrEqual(2000);
    // 200 more callers find the slot too far: each is told the wait, and none of them takes a slot.
    for (let i = 0; i < 200; i++)
      expect(await limiter.reserve('telegram:9', `d${i}`, limits, 2000)).toBeGreaterThan(1900);
    const next = await limiter.reserve('telegram:9', 'e', limits);
    expect(next).toBeLessThan(60 * 34 + 100); // not 260 × 34 ms
  });
});

describe('faults: a send interrupted between the platform and the database', () => {
  let drop: () => Promise<void>;
  let database: Database;
  let outbound: OutboundStore;
  const redis = new Redis(REDIS_URL);
  const prefix = `fls${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    let url: string;
    ({ url, drop } = await createTestDatabase());
    database = await openDatabase({ url, poolSize: 2 });
    await seedReferenceData(database);
    const ref = createReferenceStore(database);
    await ref.upsertSource({ id: 'telegram:1', platform: 'telegram', channelKind: 'messenger', name: 'tg' });
    await ref.upsertSource({ id: 'vk:2', platform: 'vk', channelKind: 'messenger', name: 'vk' });
    outbound = createOutboundStore(database);
  });
  afterAll(async () => {
    await database?.close();
    await drop?.();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  /** A platform that counts what it took; `fail` makes the next calls throw. */
  function platform(source: string, fail: SendError[] = []) {
    const taken: string[] = [];
    const sender: PlatformSender = {
      source,
      limits: { perChatMs: 0, globalMs: 0 },
      async send(m) {
        const e = fail.shift();
        if (e) throw e;
        taken.push(m.text);
        return { externalId: `${m.chatId}:${taken.length}` };
      },
    };
    return { sender, taken };
  }
  const job = (outboundId: number) => {
    const moved: number[] = [];
    const j = { data: { outboundId }, moveToDelayed: async (at: number) => void moved.push(at) };
    return { job: j as unknown as Job, moved };
  };
  const processor = (sender: PlatformSender, store: OutboundStore = outbound) =>
    sendProcessor({
      outbound: store,
      sender: (s) => (s === sender.source ? sender : undefined),
      limiter: createSendLimiter(redis, prefix),
      alerts: { raise: async () => {}, clear: async () => {}, list: async () => ({}) },
      log: silent,
    });
  const row = async (key: string, sourceId: string) =>
    (await outbound.add({ idempotencyKey: key, sourceId, chatId: '42', text: key, purpose: 'reply' })).id;
  const status = async (id: number) => (await outbound.get(id))!.status;

  it('a Telegram message the platform took is recorded through a database hiccup, never sent again', async () => {
    const { sender, taken } = platform('telegram:1');
    let failures = 2;
    const flaky: OutboundStore = {
      ...outbound,
      markSent: async (id, ext) => {
        if (failures-- > 0) throw new Error('Connection terminated unexpectedly');
        return outbound.markSent(id, ext);
      },
    };
    const id = await row('k-hiccup', 'telegram:1');
    expect(await processor(sender, flaky)(job(id).job, 't')).toMatchObject({ result: 'sent' });
    expect(taken).toHaveLength(1);
    expect(await status(id)).toBe('sent');
  });

  it('a Telegram row left `sending` by a dead worker becomes uncertain; a VK one is sent again (VK drops the repeat)', async () => {
    const tg = platform('telegram:1');
    const tgId = await row('k-tg-dead', 'telegram:1');
    expect(await outbound.claim(tgId)).toBe(true); // the dead worker's claim
    expect(await processor(tg.sender)(job(tgId).job, 't')).toMatchObject({ result: 'uncertain' });
    expect(tg.taken).toHaveLength(0);
    expect(await status(tgId)).toBe('uncertain');

    const vk = platform('vk:2');
    const vkId = await row('k-vk-dead', 'vk:2');
    expect(await outbound.claim(vkId)).toBe(true);
    expect(await processor(vk.sender)(job(vkId).job, 't')).toMatchObject({ result: 'sent' });
    expect(vk.taken).toHaveLength(1);
    expect(await status(vkId)).toBe('sent');
  });

  it('a platform outage is waited out without using up the tries: the row goes back to pending and the job is delayed', async () => {
    const { sender, taken } = platform('telegram:1', [
      new SendError('temporary', 'Internal Server Error', { code: 500 }),
    ]);
    const id = await row('k-outage', 'telegram:1');
    const j = job(id);
    await expect(processor(sender)(j.job, 't')).rejects.toBeInstanceOf(DelayedError);
    expect(j.moved).toHaveLength(1);
    expect(await status(id)).toBe('pending');
    // An hour later it is given up and shown as failed.
    await database.query(
      `update outbound_messages set created_at = now() - interval '2 hours' where id = $1`,
      [id],
    );
    const { sender: down } = platform('telegram:1', [
      new SendError('temporary', 'Bad Gateway', { code: 502 }),
    ]);
    expect(await processor(down)(job(id).job, 't')).toMatchObject({ result: 'failed' });
    expect(await status(id)).toBe('failed');
    expect(taken).toHaveLength(0);
  });
});

describe('faults: VK events that came while the connectors were down', () => {
  let vk: VkEmulator;
  const GROUP = 779001;
  const TOKEN = 'vk1.a.faults-cursor-token';
  beforeAll(async () => {
    vk = await startVkEmulator();
    vk.addGroup(GROUP, TOKEN);
  });
  afterAll(() => vk?.close());

  it('are taken on the next start, from the stored long-poll position', async () => {
    let stored: string | undefined;
    const ingested: string[] = [];
    const connector = () =>
      createVkConnector({
        token: TOKEN,
        groupId: GROUP,
        apiBaseUrl: vk.apiBaseUrl,
        apiLimit: 20,
        pollWaitS: 1,
        cursor: { load: async () => stored, save: async (ts) => void (stored = ts) },
        dialog: { handle: async () => [] },
        ingest: async (m) => {
          ingested.push(m.text);
          return { id: ingested.length, created: true };
        },
        deliver: async () => {},
        sendDirect: async () => {},
        registerSources: async () => {},
        alerts: { raise: async () => {}, clear: async () => {}, list: async () => ({}) },
        log: silent,
      });
    const post = (text: string) =>
      vk.pushEvent(GROUP, vk.events.wallPostNew({ groupId: GROUP, fromId: 11, text }));
    const first = connector();
    await first.start();
    post('Первый пост: яма на дороге');
    await waitFor(async () => ingested.length === 1, { what: 'the first post' });
    await first.stop();
    post('Второй пост, пока процесс лежал');
    post('Третий пост, пока процесс лежал');
    const second = connector();
    await second.start();
    await waitFor(async () => ingested.length === 3, { what: 'the posts written while it was down' });
    await second.stop();
    expect(ingested).toEqual([
      'Первый пост: яма на дороге',
      'Второй пост, пока процесс лежал',
      'Третий пост, пока процесс лежал',
    ]);
  });
});
