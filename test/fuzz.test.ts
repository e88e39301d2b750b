/**
 * Hostile input, property-based (fast-check, a fixed seed and a bounded number of runs): every parser of
 * outside data — the ingest API, the Telegram webhook, the VK Callback API, the CSV/JSONL import — gets
 * arbitrary JSON, wrong types, control characters, lone surrogates, invalid UTF-8, deep and enormous
 * bodies. The answer is always 2xx for a valid request or 4xx with `{error, message}` for an invalid one,
 * never 5xx; an invalid request stores nothing (messages and authors counted before and after), a valid
 * one stores exactly one message; the process still answers /health afterwards.
 *
 * `FUZZ_SEED` and `FUZZ_RUNS` (a multiplier) override the defaults when hunting for more.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_MAPPING,
  importFile,
  ImportFileError,
  parseDate,
  rowToMessage,
} from '../src/connectors/file-import.ts';
import { unstorable } from '../src/domain/storable.ts';
import type { InboundMessage } from '../src/domain/types.ts';
import { startTelegramEmulator, type TelegramEmulator } from './emulators/telegram.ts';
import { startVkEmulator, type VkEmulator } from './emulators/vk.ts';
import { freePort, INGEST_TOKEN, ingestBody, startTestApp, tempDir, type TestApp } from './helpers.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20261127);
const RUNS = Number(process.env.FUZZ_RUNS ?? 1);
const runs = (n: number) => ({ seed: SEED, numRuns: Math.max(1, Math.round(n * RUNS)), endOnFailure: true });

const BOT = '700100900:AAfuzz-bot-token-0123456789abcdef';
const BOT_ID = '700100900';
const GROUP = 777900;
const VK_TOKEN = 'vk1.a.fuzz-community-token-0001';
const VK_SECRET = 'fuzz-callback-secret-42';

// ---- arbitraries ------------------------------------------------------------------------------------

/** Pieces a hostile text is made of: control characters, lone surrogates, bidi marks, injections. */
const NASTY = [
  '\u0000',
  '\u0001',
  '\u0008',
  '\u000b',
  '\u001b[31m',
  '\u007f',
  '\u0085',
  '\u2028',
  '\u202e',
  '\ufeff',
  '\ufffd',
  '\ud800',
  '\udfff',
  '\udbff\udfff',
  '\r\n',
  '\t',
  "'; drop table messages; --",
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(1)>',
  '{{7*7}}${7*7}',
  '\\u0000',
  '%00',
  '../../etc/passwd',
  'яма на дороге',
  '😀👍🏽',
];
const hostileText = (maxLength = 60) =>
  fc
    .array(
      fc.oneof(
        { weight: 3, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
        { weight: 2, arbitrary: fc.constantFrom(...NASTY) },
        { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 10 }) },
        { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 10 }) },
      ),
      { maxLength },
    )
    .map((parts) => parts.join(''));

/** Any JSON-ish value, strings hostile. */
const anyValue: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(null, true, false, 0, -1, 1.5, 1e308, -0, Number.MAX_SAFE_INTEGER + 2),
    fc.integer(),
    hostileText(8),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom(...NASTY)), tie('v'), {
      maxKeys: 4,
    }),
  ),
})).v;

/** C0 controls but tab, newline and CR: what the ingest schema and the import refuse. */
// eslint-disable-next-line no-control-regex
const C0 = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g;

/** A text that PostgreSQL and the schema accept, of any script (no C0 controls, well-formed UTF-16). */
const cleanText = (maxLength: number) =>
  fc
    .string({ unit: 'grapheme', minLength: 1, maxLength })
    .map((s) => s.replace(C0, ' '))
    .filter((s) => s.trim().length > 0);

let seq = 0;
const uniq = (p: string) => `${p}-${Date.now().toString(36)}-${++seq}`;

// ---- the app ----------------------------------------------------------------------------------------

describe('hostile input (fast-check)', () => {
  let t: TestApp;
  let tg: TelegramEmulator;
  let vk: VkEmulator;
  let base: string;
  let tgSecret: string;

  beforeAll(async () => {
    tg = await startTelegramEmulator();
    tg.addBot(BOT, { username: 'fuzz_bot' });
    vk = await startVkEmulator();
    vk.addGroup(GROUP, VK_TOKEN);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    t = await startTestApp({
      roles: ['api', 'connectors'], // no workers: nothing but the parsers and the ingest path runs
      listen: true,
      env: {
        PORT: String(port),
        TELEGRAM_BOT_TOKEN: BOT,
        TELEGRAM_API_ROOT: tg.url,
        TELEGRAM_WEBHOOK_URL: base,
        TELEGRAM_WEBHOOK_SECRET: 'fuzz-installation-secret-0123456789',
        VK_GROUP_TOKEN: VK_TOKEN,
        VK_GROUP_ID: String(GROUP),
        VK_API_BASE_URL: vk.apiBaseUrl,
        VK_CONFIRMATION: 'fuzzconfirm',
        VK_CALLBACK_SECRET: VK_SECRET,
      },
    });
    const hook = tg.webhook(BOT);
    expect(hook?.url).toBe(`${base}/webhooks/telegram/${BOT_ID}`);
    tgSecret = hook!.secret_token!;
  });
  afterAll(async () => {
    await t?.close();
    await tg?.close();
    await vk?.close();
  });

  const counts = async () => {
    const [r] = await t.app.database.query<{ m: string; a: string }>(
      `select (select count(*) from messages) as m, (select count(*) from authors) as a`,
      [],
    );
    return { messages: Number(r!.m), authors: Number(r!.a) };
  };

  const ingest = (payload: string | Buffer, headers: Record<string, string> = {}) =>
    t.app.api!.inject({
      method: 'POST',
      url: '/api/v1/messages',
      headers: {
        authorization: `Bearer ${INGEST_TOKEN}`,
        'content-type': 'application/json',
        ...headers,
      },
      payload,
    });

  /** A 4xx must say what is wrong in the one error shape of the API. */
  const expectClientError = (status: number, body: string, context: string) => {
    expect(status, context).toBeGreaterThanOrEqual(400);
    expect(status, context).toBeLessThan(500);
    const json = JSON.parse(body) as { error?: unknown; message?: unknown };
    expect(typeof json.error, context).toBe('string');
    expect(typeof json.message, context).toBe('string');
  };

  const stillUp = async () => {
    const res = await fetch(`${base}/health`);
    expect([200, 503]).toContain(res.status);
    expect(((await res.json()) as { status: string }).status).toMatch(/ok|degraded/);
  };

  // ---- POST /api/v1/messages ------------------------------------------------------------------------

  it('ingest: any JSON body is 202 (one message) or a 4xx that stores nothing — never 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(anyValue, async (body) => {
        const before = await counts();
        const res = await ingest(JSON.stringify(body) ?? 'null');
        const after = await counts();
        const ctx = `${res.statusCode} ${res.body.slice(0, 300)}`;
        expect(res.statusCode, ctx).toBeLessThan(500);
        if (res.statusCode >= 400) {
          expectClientError(res.statusCode, res.body, ctx);
          expect(after, ctx).toEqual(before);
        }
      }),
      runs(250),
    );
  });

  it('ingest: a valid body with one field replaced by anything → 202 storing exactly one message, or 4xx storing nothing', async () => {
    const fields = [
      'source',
      'externalId',
      'text',
      'author',
      'author.id',
      'author.name',
      'postedAt',
      'url',
      'parentExternalId',
      'attachments',
      'attachments.0.caption',
      'attachments.0.url',
      'extra',
    ] as const;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...fields),
        fc.oneof(anyValue, hostileText(40)),
        async (field, value) => {
          const body = ingestBody('Во дворе яма', {
            externalId: uniq('fz'),
            author: { id: uniq('a'), name: 'Житель' },
            attachments: [{ type: 'photo', caption: 'фото', url: 'https://example.org/p.jpg' }],
          }) as Record<string, unknown>;
          const parts = field.split('.');
          let target = body as Record<string, unknown>;
          for (const p of parts.slice(0, -1)) target = target[p] as Record<string, unknown>;
          target[parts.at(-1)!] = value;
          const before = await counts();
          const res = await ingest(JSON.stringify(body));
          const after = await counts();
          const ctx = `${field}=${JSON.stringify(value)?.slice(0, 200)} → ${res.statusCode} ${res.body.slice(0, 300)}`;
          expect(res.statusCode, ctx).toBeLessThan(500);
          if (res.statusCode >= 400) {
            expectClientError(res.statusCode, res.body, ctx);
            expect(after, ctx).toEqual(before);
          } else {
            expect(res.statusCode, ctx).toBe(202);
            const r = res.json() as { id: number; created: boolean };
            // a new message once; an externalId coerced to one seen before ("false", "0") is a duplicate
            if (!r.created) expect(field, ctx).toBe('externalId');
            expect(after.messages, ctx).toBe(before.messages + (r.created ? 1 : 0));
            const [row] = await t.app.database.query<{ text: string; external_id: string }>(
              `select text, external_id from messages where id = $1`,
              [r.id],
            );
            // what was accepted is what is stored (ajv coerces a number or boolean to its string)
            const asText = (v: unknown) => (Array.isArray(v) && v.length === 1 ? String(v[0]) : String(v));
            expect(row, ctx).toEqual({ text: asText(body.text), external_id: asText(body.externalId) });
          }
        },
      ),
      runs(400),
    );
  });

  it('ingest: texts of any script within the limits are stored verbatim, exactly once', async () => {
    await fc.assert(
      fc.asyncProperty(cleanText(400), fc.option(cleanText(60), { nil: undefined }), async (text, name) => {
        const body = ingestBody(text, { externalId: uniq('ok'), author: { id: uniq('a'), name } });
        const before = await counts();
        const res = await ingest(JSON.stringify(body));
        expect(res.statusCode, res.body).toBe(202);
        const { id } = res.json() as { id: number };
        const again = await ingest(JSON.stringify(body)); // the same message twice: stored once
        expect(again.json()).toEqual({ id, created: false });
        expect((await counts()).messages).toBe(before.messages + 1);
        const [row] = await t.app.database.query<{ text: string }>(
          `select text from messages where id = $1`,
          [id],
        );
        expect(row!.text).toBe(text);
      }),
      runs(60),
    );
  });

  it('ingest: enormous texts beyond the limits → 400 or 413, nothing stored', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 20_001, max: 400_000 }),
        fc.constantFrom('я', 'a', '😀', '\u0000'),
        async (n, ch) => {
          const before = await counts();
          const res = await ingest(JSON.stringify(ingestBody(ch.repeat(n), { externalId: uniq('big') })));
          expect([400, 413], `${n}×${JSON.stringify(ch)}: ${res.statusCode}`).toContain(res.statusCode);
          expectClientError(res.statusCode, res.body, String(n));
          expect(await counts()).toEqual(before);
        },
      ),
      runs(12),
    );
  });

  // ---- raw HTTP: bytes that are not JSON ------------------------------------------------------------

  /** A POST with exactly these bytes, through a real socket. */
  const raw = (urlPath: string, bytes: Buffer, headers: Record<string, string>) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        `${base}${urlPath}`,
        { method: 'POST', headers: { 'content-length': String(bytes.length), ...headers } },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        },
      );
      req.on('error', reject);
      req.end(bytes);
    });

  it('raw HTTP: invalid UTF-8, deep JSON, oversized and malformed bodies → clear 4xx, nothing stored', async () => {
    const auth = { authorization: `Bearer ${INGEST_TOKEN}`, 'content-type': 'application/json' };
    const valid = (text: string) => JSON.stringify(ingestBody(text, { externalId: uniq('raw') }));
    /** A valid body whose text is this raw JSON string content (escapes as written). */
    const withRaw = (fragment: string) => valid('@@').replace('@@', fragment);
    const [pre, post] = valid('@@').split('@@') as [string, string];
    const deep = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
    const cases: [string, Buffer, Record<string, string>, number[]][] = [
      [
        'invalid UTF-8 in the text',
        Buffer.concat([Buffer.from(pre), Buffer.from([0xc3, 0x28, 0xff, 0xfe]), Buffer.from(post)]),
        auth,
        [400],
      ],
      [
        'an overlong encoding of "/"',
        Buffer.concat([Buffer.from(pre), Buffer.from([0xc0, 0xaf]), Buffer.from(post)]),
        auth,
        [400],
      ],
      [
        'a UTF-8 encoded surrogate',
        Buffer.concat([Buffer.from(pre), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from(post)]),
        auth,
        [400],
      ],
      [
        'a truncated multibyte character',
        Buffer.concat([Buffer.from(pre), Buffer.from([0xe2, 0x82]), Buffer.from(post)]),
        auth,
        [400],
      ],
      ['a 300-level deep object', Buffer.from(deep(300)), auth, [400]],
      [
        'a 300-level deep object inside a valid message',
        Buffer.from(valid('x').replace(/}$/, `,"deep":${deep(300)}}`)),
        auth,
        [400],
      ],
      ['a 100000-level deep array', Buffer.from('['.repeat(100_000) + ']'.repeat(100_000)), auth, [400, 413]],
      ['a body over the limit', Buffer.from(valid('я'.repeat(200_000))), auth, [413]],
      ['an escaped NUL', Buffer.from(withRaw('a\\u0000b')), auth, [400]],
      ['an escaped lone surrogate', Buffer.from(withRaw('a\\ud800b')), auth, [400]],
      ['a raw control character in a string', Buffer.from(withRaw('a\u0001b')), auth, [400]],
      ['truncated JSON', Buffer.from(valid('x').slice(0, 40)), auth, [400]],
      ['an empty JSON body', Buffer.alloc(0), auth, [400]],
      [
        'not JSON',
        Buffer.from('text=hello'),
        { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
        [415],
      ],
      [
        'JSON in another charset',
        Buffer.from(valid('x'), 'utf16le'),
        { ...auth, 'content-type': 'application/json; charset=utf-16' },
        [400, 415],
      ],
      ['__proto__ pollution', Buffer.from('{"__proto__":{"admin":true},"text":"x"}'), auth, [400]],
      [
        'a deep body to the Telegram webhook',
        Buffer.from(`{"update_id":1,"message":${deep(300)}}`),
        { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': 'set below' },
        [400],
      ],
      [
        'invalid UTF-8 to the VK Callback API',
        Buffer.concat([
          Buffer.from(
            `{"type":"wall_post_new","group_id":${GROUP},"secret":"${VK_SECRET}","object":{"text":"`,
          ),
          Buffer.from([0xff, 0xfe]),
          Buffer.from('"}}'),
        ]),
        { 'content-type': 'application/json' },
        [400],
      ],
    ];
    const before = await counts();
    const wrong: string[] = [];
    for (const [what, bytes, headers, expected] of cases) {
      const url =
        'x-telegram-bot-api-secret-token' in headers
          ? `/webhooks/telegram/${BOT_ID}`
          : what.includes('VK')
            ? `/webhooks/vk/${GROUP}`
            : '/api/v1/messages';
      const h =
        'x-telegram-bot-api-secret-token' in headers
          ? { ...headers, 'x-telegram-bot-api-secret-token': tgSecret }
          : headers;
      const res = await raw(url, bytes, h);
      if (!expected.includes(res.status))
        wrong.push(`${what}: expected ${expected.join('/')}, got ${res.status} ${res.body.slice(0, 200)}`);
      else expectClientError(res.status, res.body, what);
    }
    expect(wrong).toEqual([]);
    expect(await counts()).toEqual(before);
    await stillUp();
  });

  // ---- Telegram webhook -----------------------------------------------------------------------------

  const postTelegram = (update: unknown) =>
    t.app.api!.inject({
      method: 'POST',
      url: `/webhooks/telegram/${BOT_ID}`,
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': tgSecret },
      payload: JSON.stringify(update) ?? 'null',
    });

  /** Text a platform could send: mostly clean, sometimes hostile (a NUL or a lone surrogate is refused). */
  const platformText = fc.oneof(
    { weight: 4, arbitrary: cleanText(80) },
    { weight: 1, arbitrary: hostileText(30) },
  );
  const posId = fc.integer({ min: 1, max: 2 ** 40 });
  const unixTime = fc.integer({ min: 1_500_000_000, max: 2_000_000_000 });

  /** Every path to a value inside `v` (objects and arrays), for the «one field replaced» mutations. */
  const pathsOf = (v: unknown, at: (string | number)[] = []): (string | number)[][] => {
    if (!v || typeof v !== 'object') return [at];
    const keys = Array.isArray(v) ? v.map((_, i) => i) : Object.keys(v);
    return [at, ...keys.flatMap((k) => pathsOf((v as Record<string | number, unknown>)[k], [...at, k]))];
  };
  /** A valid value with one field replaced by anything, or removed; shallow fields as often as deep ones. */
  const mutated = <T>(valid: fc.Arbitrary<T>) =>
    fc.tuple(valid, fc.nat(), fc.nat(), anyValue, fc.boolean()).map(([v, d, k, x, remove]) => {
      const copy = structuredClone(v) as Record<string | number, unknown>;
      const paths = pathsOf(copy).filter((p) => p.length > 0);
      if (!paths.length) return copy;
      const depths = [...new Set(paths.map((p) => p.length))];
      const depth = depths[d % depths.length]!;
      const atDepth = paths.filter((p) => p.length === depth);
      const path = atDepth[k % atDepth.length]!;
      let target = copy;
      for (const p of path.slice(0, -1)) target = target[p] as Record<string | number, unknown>;
      if (remove) delete target[path.at(-1)!];
      else target[path.at(-1)!] = x;
      return copy;
    });

  const tgUser = fc.record(
    {
      id: posId,
      is_bot: fc.boolean(),
      first_name: platformText,
      last_name: platformText,
      username: fc.stringMatching(/^[a-z]\w{2,12}$/),
    },
    { requiredKeys: ['id', 'first_name'] },
  );
  const tgPublicChat = fc.record(
    {
      id: fc.integer({ min: -(10 ** 13), max: -1 }),
      type: fc.constantFrom('group', 'supergroup', 'channel'),
      title: platformText,
      username: fc.stringMatching(/^[a-z]\w{4,12}$/),
    },
    { requiredKeys: ['id', 'type'] },
  );
  const tgMessageFields = {
    message_id: fc.integer({ min: 1, max: 2 ** 31 }),
    date: unixTime,
    text: platformText,
    caption: platformText,
    entities: fc.array(
      fc.record({
        type: fc.constantFrom('bot_command', 'bold', 'url'),
        offset: fc.nat(40),
        length: fc.nat(40),
      }),
      { maxLength: 2 },
    ),
    photo: fc.array(
      fc.record({ file_id: fc.string({ minLength: 1, maxLength: 20 }), width: fc.nat(), height: fc.nat() }),
      { maxLength: 3 },
    ),
    location: fc.record({
      latitude: fc.double({ min: -90, max: 90, noNaN: true }),
      longitude: fc.double({ min: -180, max: 180, noNaN: true }),
    }),
    is_automatic_forward: fc.boolean(),
    forward_origin: fc.record({
      type: fc.constant('channel'),
      chat: fc.record({ id: fc.integer({ min: -(10 ** 13), max: -1 }) }),
      message_id: fc.integer({ min: 1, max: 2 ** 31 }),
    }),
  };
  /** A message in a group or channel (monitoring) or in a private chat (the citizen dialog). */
  const tgMessage = fc
    .tuple(
      fc.record(tgMessageFields, { requiredKeys: ['message_id', 'date'] }),
      fc.option(tgUser, { nil: undefined, freq: 4 }), // a channel post has no `from`; the schema allows none
      fc.oneof(tgPublicChat, fc.constant('private' as const)),
      fc.option(tgPublicChat, { nil: undefined, freq: 2 }), // freq n: absent one time in n
      fc.option(fc.record(tgMessageFields, { requiredKeys: ['message_id', 'date'] }), {
        nil: undefined,
        freq: 2,
      }),
    )
    .map(([m, from, chat, senderChat, reply]) => ({
      ...m,
      ...(from ? { from } : {}),
      chat: chat === 'private' ? { id: from?.id ?? 1, type: 'private', first_name: from?.first_name } : chat,
      ...(senderChat && chat !== 'private' ? { sender_chat: senderChat } : {}),
      ...(reply && chat !== 'private' ? { reply_to_message: { ...reply, chat } } : {}),
    }));
  const tgValid = fc.oneof(
    fc
      .tuple(
        fc.integer({ min: 1, max: 2 ** 31 }),
        fc.constantFrom('message', 'edited_message', 'channel_post', 'edited_channel_post'),
        tgMessage,
      )
      .map(([id, kind, m]) => ({ update_id: id, [kind]: m })),
    fc
      .tuple(
        fc.integer({ min: 1, max: 2 ** 31 }),
        fc.string({ minLength: 1, maxLength: 20 }),
        tgUser,
        fc.integer({ min: 1, max: 2 ** 31 }),
        fc.oneof(fc.constantFrom('consent:yes', 'consent:no', 'muni:biysk', 'muni:nowhere'), platformText),
      )
      .map(([id, qid, from, mid, data]) => ({
        update_id: id,
        callback_query: {
          id: qid,
          from,
          message: { message_id: mid, date: 1_700_000_000, chat: { id: from.id, type: 'private' } },
          data,
        },
      })),
    fc
      .tuple(
        fc.integer({ min: 1, max: 2 ** 31 }),
        fc.string({ minLength: 1, maxLength: 20 }),
        tgUser,
        fc.array(fc.nat(12), { maxLength: 3 }),
      )
      .map(([id, pollId, user, options]) => ({
        update_id: id,
        poll_answer: { poll_id: pollId, user, option_ids: options },
      })),
  );
  const tgUpdate = fc.oneof(
    { weight: 4, arbitrary: tgValid },
    { weight: 4, arbitrary: mutated(tgValid) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.oneof(fc.integer(), fc.double()),
          fc.dictionary(
            fc.constantFrom(
              'message',
              'channel_post',
              'callback_query',
              'poll_answer',
              'my_chat_member',
              'x',
            ),
            anyValue,
            { maxKeys: 3 },
          ),
        )
        .map(([id, rest]) => ({ ...rest, update_id: id })),
    },
    { weight: 1, arbitrary: anyValue },
  );

  /**
   * One webhook fuzz: every generated body is 200 or 4xx, never 5xx; a refused one stores nothing, an accepted
   * one at most one message; and not vacuous (a good share got through to the connector, some became messages).
   */
  async function fuzzWebhook<T>(
    body: fc.Arbitrary<T>,
    post: (b: T) => Promise<{ statusCode: number; body: string }>,
  ): Promise<void> {
    const seen = { accepted: 0, stored: 0 };
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        const before = await counts();
        const res = await post(b);
        const ctx = `${JSON.stringify(b)?.slice(0, 400)} → ${res.statusCode} ${res.body.slice(0, 300)}`;
        expect(res.statusCode, ctx).toBeLessThan(500);
        const after = await counts();
        if (res.statusCode >= 400) {
          expectClientError(res.statusCode, res.body, ctx);
          expect(after, ctx).toEqual(before);
        } else {
          expect(after.messages - before.messages, ctx).toBeLessThanOrEqual(1);
          seen.accepted++;
          seen.stored += after.messages - before.messages;
        }
      }),
      runs(300),
    );
    expect(seen.accepted).toBeGreaterThan(20);
    expect(seen.stored).toBeGreaterThan(5);
    await stillUp();
  }

  it('Telegram webhook: any update with the right secret is 200 or 4xx, never 5xx; a refused one stores nothing', async () => {
    await fuzzWebhook(tgUpdate, postTelegram);
  });

  // ---- VK Callback API ------------------------------------------------------------------------------

  const postVk = (event: unknown) =>
    t.app.api!.inject({
      method: 'POST',
      url: `/webhooks/vk/${GROUP}`,
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify(event) ?? 'null',
    });

  const vkAttachments = fc.array(
    fc.oneof(
      fc.record({
        type: fc.constant('photo'),
        photo: fc.record({
          sizes: fc.array(fc.record({ url: fc.webUrl(), width: fc.nat(2000) }), { maxLength: 3 }),
        }),
      }),
      fc.record({ type: fc.constant('doc'), doc: fc.record({ url: fc.webUrl() }) }),
      fc.record({ type: fc.constantFrom('video', 'link', 'sticker') }),
    ),
    { maxLength: 2 },
  );
  const vkId = fc.integer({ min: 1, max: 2 ** 31 });
  const vkMessage = fc.record(
    {
      id: vkId,
      date: unixTime,
      from_id: vkId,
      peer_id: fc.oneof(vkId, fc.integer({ min: 2_000_000_001, max: 2_000_001_000 })),
      text: platformText,
      conversation_message_id: vkId,
      payload: fc.oneof(
        fc.constantFrom('{"d":"consent:yes"}', '{"command":"start"}', '{"d":5}', '{'),
        platformText,
      ),
      attachments: vkAttachments,
      reply_message: fc.record({ conversation_message_id: vkId }),
    },
    { requiredKeys: ['id', 'date', 'from_id', 'peer_id'] },
  );
  const vkValid = fc
    .tuple(
      fc.oneof(
        fc.tuple(
          fc.constant('message_new'),
          vkMessage.map((message) => ({ message })),
        ),
        fc.tuple(fc.constant('message_new'), vkMessage), // old API versions: the message is the object
        fc.tuple(
          fc.constant('wall_post_new'),
          fc.record(
            {
              id: vkId,
              owner_id: fc.constant(-GROUP),
              from_id: fc.oneof(fc.constant(-GROUP), vkId),
              date: unixTime,
              text: platformText,
              attachments: vkAttachments,
            },
            { requiredKeys: ['id', 'owner_id', 'from_id', 'date'] },
          ),
        ),
        fc.tuple(
          fc.constant('wall_reply_new'),
          fc.record(
            {
              id: vkId,
              from_id: fc.oneof(vkId, fc.constant(-GROUP)),
              date: unixTime,
              post_id: vkId,
              owner_id: fc.constant(-GROUP),
              reply_to_comment: vkId,
              text: platformText,
              attachments: vkAttachments,
            },
            { requiredKeys: ['id', 'from_id', 'date', 'post_id'] },
          ),
        ),
        fc.tuple(fc.constantFrom('message_event', 'group_leave', 'x'), anyValue),
      ),
      fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
    )
    .map(([[type, object], eventId]) => ({
      type,
      object,
      group_id: GROUP,
      ...(eventId !== undefined ? { event_id: eventId } : {}),
      secret: VK_SECRET,
    }));
  const vkEvent = fc.oneof(
    { weight: 4, arbitrary: vkValid },
    {
      weight: 4,
      // one field replaced or removed — but the secret and community stay, or it is only a 401/400
      arbitrary: mutated(vkValid).map((e) => ({ ...e, group_id: GROUP, secret: VK_SECRET })),
    },
    {
      weight: 1,
      arbitrary: fc
        .dictionary(fc.constantFrom('type', 'object', 'event_id', 'v'), anyValue, { maxKeys: 4 })
        .map((rest) => ({ ...rest, group_id: GROUP, secret: VK_SECRET })),
    },
    { weight: 1, arbitrary: anyValue },
  );

  it('VK Callback API: any event with the right secret is 200 or 4xx, never 5xx; a refused one stores nothing', async () => {
    await fuzzWebhook(vkEvent, postVk);
  });

  // ---- import through the real ingest path ----------------------------------------------------------

  it('import: a hostile row is refused alone; every other row of its ingest batch is stored', async () => {
    const dir = tempDir('otklik-fuzz-import-');
    let n = 0;
    const row = fc.oneof(
      fc
        .record(
          {
            id: fc.oneof({ weight: 4, arbitrary: fc.constant('') }, hostileText(6), anyValue),
            text: fc.oneof({ weight: 3, arbitrary: cleanText(40) }, hostileText(30), anyValue),
            author_id: fc.oneof(hostileText(8), anyValue),
            author_name: fc.oneof(hostileText(12), anyValue),
            date: fc.oneof(
              fc.constantFrom('2025-03-01 10:00', '01.03.2025 10:00', '31.02.2025'),
              hostileText(8),
            ),
            url: fc.oneof(fc.constant('https://vk.com/wall-1_2'), hostileText(10)),
            parent_id: fc.oneof(hostileText(8), anyValue),
          },
          { requiredKeys: ['id', 'text'] },
        )
        .map((r) => JSON.stringify({ ...r, id: r.id === '' ? uniq('imp') : r.id })),
      anyValue.map((v) => JSON.stringify(v) ?? ''),
    );
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 25 }), async (lines) => {
          const file = path.join(dir, `f${++n}.jsonl`);
          fs.writeFileSync(file, lines.join('\n'));
          // The verdict of each line on its own: a JSON object that makes a message PostgreSQL can store.
          const now = new Date();
          const good = new Set<string>();
          for (const l of lines) {
            if (!l.trim()) continue;
            let v: unknown;
            try {
              v = JSON.parse(l);
            } catch {
              continue;
            }
            if (!v || typeof v !== 'object' || Array.isArray(v)) continue;
            const m = rowToMessage(v as Record<string, unknown>, DEFAULT_MAPPING, 'import', now);
            if (typeof m !== 'string' && !unstorable(m)) good.add(m.externalId);
          }
          const before = await counts();
          const report = await importFile({
            file,
            format: 'jsonl',
            source: 'import',
            now,
            ingest: (m) => t.app.ingestor.ingest(m),
          });
          const ctx = `${JSON.stringify(lines).slice(0, 600)} → ${JSON.stringify(report).slice(0, 600)}`;
          const stored = await t.app.database.query<{ external_id: string }>(
            `select external_id from messages where source_id = 'import' and external_id = any($1)`,
            [[...good]],
          );
          expect(stored.map((r) => r.external_id).sort(), ctx).toEqual([...good].sort());
          expect((await counts()).messages - before.messages, ctx).toBe(report.imported);
          expect(report.imported + report.duplicates, ctx).toBe(
            lines.filter((l) => {
              try {
                const v = JSON.parse(l) as Record<string, unknown>;
                const m =
                  v &&
                  typeof v === 'object' &&
                  !Array.isArray(v) &&
                  rowToMessage(v, DEFAULT_MAPPING, 'import', now);
                return m && typeof m !== 'string' && !unstorable(m);
              } catch {
                return false;
              }
            }).length,
          );
        }),
        runs(60),
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---- the import parser (the functions themselves) -----------------------------------------------------

describe('import parser (fast-check)', () => {
  const dir = tempDir('otklik-fuzz-');
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** What the ingest path would refuse: the rules of POST /api/v1/messages. */
  const checkMessage = (m: InboundMessage, ctx: string) => {
    const clean = (s: string | undefined) =>
      s === undefined || (!new RegExp(C0.source).test(s) && s === s.trim());
    expect(m.externalId.length, ctx).toBeGreaterThan(0);
    expect(m.externalId.length, ctx).toBeLessThanOrEqual(200);
    expect(m.text.length, ctx).toBeGreaterThan(0);
    expect(m.text.length, ctx).toBeLessThanOrEqual(20_000);
    expect(clean(m.text) && clean(m.externalId), ctx).toBe(true);
    expect(m.author.id.length, ctx).toBeLessThanOrEqual(200);
    expect((m.author.name ?? '').length, ctx).toBeLessThanOrEqual(300);
    expect(Number.isNaN(m.postedAt.getTime()), ctx).toBe(false);
  };

  it('parseDate: any string is a valid Date or undefined, never throws', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          hostileText(20),
          fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
          fc
            .tuple(
              fc.integer({ min: 0, max: 40 }),
              fc.integer({ min: 0, max: 14 }),
              fc.integer({ min: 0, max: 99999 }),
            )
            .map(([d, m, y]) => `${d}.${m}.${y} ${d}:${m}`),
          fc.stringMatching(/^\d{4}-\d{2}-\d{2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/),
        ),
        (s) => {
          const d = parseDate(s);
          if (d !== undefined) expect(Number.isNaN(d.getTime()), s).toBe(false);
        },
      ),
      runs(2000),
    );
  });

  it('rowToMessage: any record is a message within the ingest limits or a reason', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom(...Object.values(DEFAULT_MAPPING), 'other'), anyValue, { maxKeys: 8 }),
        (row) => {
          const r = rowToMessage(row, DEFAULT_MAPPING, 'import', new Date());
          if (typeof r === 'string') expect(r.length).toBeGreaterThan(0);
          else checkMessage(r, JSON.stringify(row));
        },
      ),
      runs(2000),
    );
  });

  /** A file of arbitrary lines; some look like records, some are garbage. */
  const csvField = fc.oneof(hostileText(15), fc.constantFrom('"', '""', ',', '\n', '\r\n', '"a,b"', ''));
  const csvFile = fc
    .tuple(
      fc.constantFrom(
        'id,text,author_id,author_name,date,url,parent_id',
        'id;text;date',
        'text,id',
        '\ufeffid,text',
      ),
      fc.array(
        fc.array(csvField, { maxLength: 8 }).map((f) => f.join(',')),
        { maxLength: 12 },
      ),
      fc.constantFrom('\n', '\r\n'),
    )
    .map(([header, lines, eol]) => [header, ...lines].join(eol));
  const jsonlFile = fc
    .array(
      fc.oneof(
        anyValue.map((v) => JSON.stringify(v) ?? ''),
        fc
          .record(
            {
              id: fc.oneof(hostileText(10), anyValue),
              text: fc.oneof(hostileText(40), anyValue),
              date: fc.oneof(hostileText(10), anyValue),
              author_name: anyValue,
            },
            { requiredKeys: [] },
          )
          .map((r) => JSON.stringify(r)),
        hostileText(30),
      ),
      { maxLength: 12 },
    )
    .map((lines) => lines.join('\n'));

  it('importFile: any CSV or JSONL file gives rows or per-line errors; only ImportFileError stops it', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          csvFile.map((content) => ({ format: 'csv' as const, content })),
          jsonlFile.map((content) => ({ format: 'jsonl' as const, content })),
        ),
        async ({ format, content }) => {
          const file = path.join(dir, `f${++n}.${format}`);
          fs.writeFileSync(file, content);
          const got: InboundMessage[] = [];
          const seen = new Set<string>();
          try {
            const report = await importFile({
              file,
              format,
              source: 'import',
              now: new Date('2025-03-01T00:00:00Z'),
              ingest: async (m) => {
                got.push(m);
                const created = !seen.has(m.externalId);
                seen.add(m.externalId);
                return { id: got.length, created };
              },
            });
            const lines = content.split(/\r\n|\r|\n/).length; // readline ends a line at CR too
            expect(report.rows).toBe(report.imported + report.duplicates + report.rejected.length);
            expect(got).toHaveLength(report.imported + report.duplicates);
            for (const r of report.rejected) {
              expect(r.line).toBeGreaterThanOrEqual(1);
              expect(r.line).toBeLessThanOrEqual(lines);
              expect(r.reason.length).toBeGreaterThan(0);
            }
            for (const m of got) checkMessage(m, JSON.stringify(content));
          } catch (err) {
            expect(err, `${format}: ${JSON.stringify(content)}: ${(err as Error).stack}`).toBeInstanceOf(
              ImportFileError,
            );
          } finally {
            fs.rmSync(file, { force: true });
          }
        },
      ),
      runs(250),
    );
  });
});
