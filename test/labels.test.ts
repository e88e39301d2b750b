/**
 * Staff corrections (labels) end to end: a message ingested and routed through the real API, PostgreSQL,
 * Redis and workers is corrected through `POST /api/v1/messages/:id/labels`; the message and its incident
 * show the correction; `otklik labels export` (a real child process) writes the latest correction per
 * message and task; export-splits and prepare-training put it into the training rows only. The label
 * store itself runs on both engines (PostgreSQL and PGlite), including the all-or-nothing transaction.
 */
import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Analysis } from '../src/domain/types.ts';
import { openDatabase, type Database } from '../src/store/db.ts';
import { createLabelStore, type LabelStore } from '../src/store/label.store.ts';
import { createMessageStore, type MessageStore } from '../src/store/message.store.ts';
import { seedReferenceData } from '../src/store/seed.ts';
import {
  API_TOKEN,
  INGEST_TOKEN,
  ingestBody,
  message,
  runCli,
  runTsx,
  writeMiniDataset,
  STORE_ENGINES,
  startTestApp,
  tempDir,
  waitFor,
  type TestApp,
  fixtureAnalysis,
} from './helpers.ts';
import { ERASED_MARKER } from '../src/store/privacy.store.ts';

/** The training tools read a small dataset of the shared layout, not ../shared/data. */
const miniData = () => writeMiniDataset(tempDir('otklik-mini-data-'));

const ingestAuth = { authorization: `Bearer ${INGEST_TOKEN}` };
const apiAuth = { authorization: `Bearer ${API_TOKEN}` };

interface JsonlRow {
  task?: string;
  text: string;
  label: string;
  source?: string;
}
const readJsonl = (file: string): JsonlRow[] =>
  fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as JsonlRow);

describe('staff corrections through the API, the CLI export and the training splits', () => {
  let t: TestApp;
  let work: string;
  const api = () => t.app.api!;
  const getJson = async (url: string) => {
    const r = await api().inject({ method: 'GET', url, headers: apiAuth });
    return { status: r.statusCode, body: r.json() };
  };
  const correct = (id: number, payload: unknown, headers: Record<string, string> = apiAuth) =>
    api().inject({
      method: 'POST',
      url: `/api/v1/messages/${id}/labels`,
      headers,
      payload: payload as object,
    });
  const labelCount = async () =>
    (await t.app.database.rows<{ n: number }>(sql`select count(*)::int as n from labels`))[0]!.n;

  const text = 'Уже неделю не вывозят мусор в Бийске, ул. Мухачева, 210. Контейнеры переполнены.';
  let messageId: number;
  let incidentId: number;
  let modelSector: string;
  let firstLabel: string;
  let exported: string;

  beforeAll(async () => {
    t = await startTestApp({ roles: ['api', 'workers'] });
    work = tempDir('otklik-labels-');
  });
  afterAll(async () => {
    await t?.close();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('corrects the sector of a routed message: 201, the message shows it, the incident has the event', async () => {
    const r = await api().inject({
      method: 'POST',
      url: '/api/v1/messages',
      headers: ingestAuth,
      payload: ingestBody(text),
    });
    expect(r.statusCode).toBe(202);
    messageId = r.json<{ id: number }>().id;
    const routed = await waitFor(
      async () => {
        const m = await getJson(`/api/v1/messages/${messageId}`);
        return m.body.incidentId ? m.body : null;
      },
      { what: 'the message to be routed' },
    );
    incidentId = routed.incidentId;
    modelSector = routed.analysis.sector;
    expect(routed.analysis).toMatchObject({ corrected: [], corrections: 0 });
    firstLabel = modelSector === 'roads' ? 'housing' : 'roads';

    const c = await correct(messageId, { task: 'sector', label: firstLabel });
    expect(c.statusCode).toBe(201);
    const created = c.json<{
      id: number;
      messageId: number;
      task: string;
      label: string;
      previous: string;
    }>();
    expect(created).toEqual({
      id: expect.any(Number),
      messageId,
      task: 'sector',
      label: firstLabel,
      previous: modelSector,
    });

    const after = await getJson(`/api/v1/messages/${messageId}`);
    expect(after.body.analysis).toMatchObject({
      sector: firstLabel,
      sectorName: firstLabel === 'roads' ? 'Дороги' : 'ЖКХ',
      needsReview: false,
      corrected: ['sector'],
      corrections: 1,
    });

    const inc = await getJson(`/api/v1/incidents/${incidentId}`);
    const events = (
      inc.body.events as { type: string; actor: string; data: Record<string, unknown> }[]
    ).filter((e) => e.type === 'analysis_corrected');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      actor: 'token:API_TOKEN',
      data: { messageId, labelId: created.id, task: 'sector', from: modelSector, to: firstLabel },
    });
  });

  it('corrects the sentiment and keeps the incident negative count in step', async () => {
    const before = await getJson(`/api/v1/messages/${messageId}`);
    const from = before.body.analysis.sentiment as string;
    const to = from === 'negative' ? 'positive' : 'negative';
    const negBefore = (await getJson(`/api/v1/incidents/${incidentId}`)).body.negativeCount as number;
    const c = await correct(messageId, { task: 'sentiment', label: to });
    expect(c.statusCode).toBe(201);
    expect(c.json()).toMatchObject({ task: 'sentiment', label: to, previous: from });
    const after = await getJson(`/api/v1/messages/${messageId}`);
    expect(after.body.analysis).toMatchObject({
      sentiment: to,
      corrected: ['sector', 'sentiment'],
      corrections: 2,
    });
    const inc = await getJson(`/api/v1/incidents/${incidentId}`);
    expect(inc.body.negativeCount).toBe(negBefore + (to === 'negative' ? 1 : -1));
    expect(
      inc.body.events
        .filter((e: { type: string }) => e.type === 'analysis_corrected')
        .map((e: { data: unknown }) => e.data),
    ).toContainEqual(expect.objectContaining({ task: 'sentiment', from, to }));
  });

  it('refuses a bad task or label with 400 naming the field and the allowed values, writing nothing', async () => {
    const n = await labelCount();
    const badTask = await correct(messageId, { task: 'topic', label: 'roads' });
    expect(badTask.statusCode).toBe(400);
    expect(badTask.json()).toMatchObject({
      error: 'VALIDATION_FAILED',
      field: 'task',
      allowed: ['sector', 'sentiment'],
    });
    expect(badTask.json().reason).toContain('sector, sentiment');

    const badLabel = await correct(messageId, { task: 'sector', label: 'Дороги' });
    expect(badLabel.statusCode).toBe(400);
    expect(badLabel.json()).toMatchObject({ error: 'VALIDATION_FAILED', field: 'label' });
    expect(badLabel.json().allowed).toEqual(expect.arrayContaining(['roads', 'housing', 'other']));
    expect(badLabel.json().allowed).toHaveLength(11);

    const wrongKind = await correct(messageId, { task: 'sentiment', label: 'roads' });
    expect(wrongKind.statusCode).toBe(400);
    expect(wrongKind.json()).toMatchObject({
      field: 'label',
      allowed: ['negative', 'neutral', 'positive'],
    });

    const missing = await correct(messageId, { task: 'sentiment' });
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toMatchObject({ field: 'label' });
    expect(missing.json().reason).toContain('is required');

    const extra = await correct(messageId, { task: 'sector', label: 'roads', actor: 'someone' });
    expect(extra.statusCode).toBe(400);
    expect(await labelCount()).toBe(n);
  });

  it('answers 404 for an unknown message and 409 for one not analysed yet', async () => {
    const n = await labelCount();
    const unknown = await correct(987_654_321, { task: 'sector', label: 'roads' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ error: 'NOT_FOUND' });
    // Stored but never enqueued: it stays `received` (the sweeper waits a minute before re-enqueueing).
    const [fresh] = await t.app.messages.insertBatch([message('Нет воды в Рубцовске')], () => 'api');
    const early = await correct(fresh!.id, { task: 'sector', label: 'housing' });
    expect(early.statusCode).toBe(409);
    expect(early.json()).toMatchObject({ error: 'MESSAGE_NOT_ANALYZED' });
    expect(await labelCount()).toBe(n);
  });

  it('answers 401 without a token, 403 for a token without the labels scope, before looking at the body, and writes nothing', async () => {
    const n = await labelCount();
    const sectorBefore = (await getJson(`/api/v1/messages/${messageId}`)).body.analysis.sector;
    const none = await correct(messageId, { task: 'sector', label: 'other' }, {});
    expect(none.statusCode).toBe(401);
    expect(none.json()).toMatchObject({ error: 'AUTH_REQUIRED' });
    const ingestToken = await correct(messageId, { task: 'sector', label: 'other' }, ingestAuth);
    expect(ingestToken.statusCode).toBe(403);
    expect(ingestToken.json()).toMatchObject({ error: 'FORBIDDEN_ROLE' });
    const badBody = await correct(messageId, { task: 'nonsense' }, {});
    expect(badBody.statusCode).toBe(401);
    expect(await labelCount()).toBe(n);
    expect((await getJson(`/api/v1/messages/${messageId}`)).body.analysis.sector).toBe(sectorBefore);
  });

  const cliEnv = () => ({
    DATABASE_URL: t.config.DATABASE_URL,
    DATA_DIR: path.join(work, 'cli-data'),
    LOG_LEVEL: 'warn',
  });

  it('`otklik labels export` prints the latest correction per message and task as JSON Lines', async () => {
    const r = await runCli(['labels', 'export'], cliEnv());
    expect(r.stderr).toContain('Выгружено исправлений: 2 (sector: 1, sentiment: 1)');
    expect(r.code).toBe(0);
    const rows = r.stdout
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as JsonlRow);
    expect(rows).toContainEqual({ task: 'sector', text, label: firstLabel });
    expect(rows.map((x) => x.task).sort()).toEqual(['sector', 'sentiment']);
    for (const row of rows) expect(Object.keys(row)).toEqual(['task', 'text', 'label']);
  });

  it('a second correction of the same message replaces the first in the export (--out FILE)', async () => {
    const c = await correct(messageId, { task: 'sector', label: 'amenities' });
    expect(c.statusCode).toBe(201);
    expect(c.json()).toMatchObject({ previous: firstLabel, label: 'amenities' });
    exported = path.join(work, 'staff.jsonl');
    const r = await runCli(['labels', 'export', '--out', exported], cliEnv());
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`Выгружено исправлений: 2 (sector: 1, sentiment: 1) → ${exported}`);
    const sectorRows = readJsonl(exported).filter((x) => x.task === 'sector');
    expect(sectorRows).toEqual([{ task: 'sector', text, label: 'amenities' }]);
    const msg = await getJson(`/api/v1/messages/${messageId}`);
    expect(msg.body.analysis).toMatchObject({ sector: 'amenities', corrections: 3 });
  });

  it('`otklik labels` refuses an unknown subcommand with exit code 2', async () => {
    const r = await runCli(['labels', 'import'], cliEnv());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"export"');
  });

  it('export-splits --labels puts the correction into train and core with source "staff", never dev/validation', async () => {
    const out = path.join(work, 'splits');
    const r = await runTsx(
      ['src/nlp/export-splits.ts', '--data', miniData(), '--labels', exported, '--out', out],
      {},
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/sector: train \d+ \(staff 1\)/);
    const staffRows = (name: string) => readJsonl(path.join(out, name)).filter((x) => x.source === 'staff');
    expect(staffRows('sector.train.jsonl')).toEqual([{ text, label: 'amenities', source: 'staff' }]);
    expect(staffRows('sector.core.jsonl')).toEqual([{ text, label: 'amenities', source: 'staff' }]);
    expect(staffRows('sector.dev.jsonl')).toEqual([]);
    expect(staffRows('sector.validation.jsonl')).toEqual([]);
    expect(staffRows('sentiment.train.jsonl')).toHaveLength(1);
    expect(staffRows('sentiment.validation.jsonl')).toEqual([]);
    expect(staffRows('toxicity.train.jsonl')).toEqual([]);
  });

  it('prepare-training exports the corrections from DATABASE_URL and writes the splits with them', async () => {
    const out = path.join(work, 'prepared');
    const r = await runTsx(['src/nlp/prepare-training.ts', '--data', miniData(), '--out', out], cliEnv());
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('staff corrections: 2 (sector: 1, sentiment: 1)');
    expect(readJsonl(path.join(out, 'staff-labels.jsonl'))).toContainEqual({
      task: 'sector',
      text,
      label: 'amenities',
    });
    const staff = readJsonl(path.join(out, 'sector.train.jsonl')).filter((x) => x.source === 'staff');
    expect(staff).toEqual([{ text, label: 'amenities', source: 'staff' }]);
  });

  it('a correction of a message whose text was erased or expired is left out of the export', async () => {
    // What erasure on request and the retention job leave in place of the words (privacy.store.ts).
    const store = createLabelStore(t.app.database);
    const before = await store.exportLatest();
    expect(before.some((r) => r.text === text)).toBe(true);
    await t.app.database.query(`update messages set text = $1 where id = $2`, [ERASED_MARKER, messageId]);
    const after = await store.exportLatest();
    expect(after).toHaveLength(before.filter((r) => r.text !== text).length);
    expect(after.some((r) => r.text === ERASED_MARKER)).toBe(false);
    await t.app.database.query(`update messages set text = $1 where id = $2`, [text, messageId]);
  });

  it('prepare-training warns that corrections are skipped while a server holds the embedded database', async () => {
    const dataDir = path.join(work, 'locked');
    fs.mkdirSync(path.join(dataDir, 'pglite'), { recursive: true });
    // This (alive) test process plays the running server that owns the embedded database.
    fs.writeFileSync(path.join(dataDir, 'pglite.lock'), String(process.pid));
    const out = path.join(work, 'prepared-locked');
    const r = await runTsx(['src/nlp/prepare-training.ts', '--data', miniData(), '--out', out], {
      DATA_DIR: dataDir,
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('staff corrections are SKIPPED');
    expect(r.stderr).toContain(`is in use by process ${process.pid}`);
    expect(r.stdout).toMatch(/sector: train \d+ \(staff 0\)/);
    expect(fs.existsSync(path.join(out, 'staff-labels.jsonl'))).toBe(false);
  });
});

const analysis = (extra: Partial<Analysis> = {}) =>
  fixtureAnalysis({ sectorScore: 0.4, terms: ['ям'], ...extra });

describe.each(STORE_ENGINES)('label store on %s', (_name, open) => {
  let database: Database;
  let cleanup: () => Promise<void>;
  let messages: MessageStore;
  let labels: LabelStore;
  beforeAll(async () => {
    ({ db: database, cleanup } = await open());
    await seedReferenceData(database);
    messages = createMessageStore(database);
    labels = createLabelStore(database);
  });
  afterAll(() => cleanup?.());

  const analysed = async (text: string, extra: Partial<Analysis> = {}) => {
    const [r] = await messages.insertBatch([message(text)], () => 'api');
    await messages.saveAnalyses([{ id: r!.id, analysis: analysis(extra), needsReview: true }]);
    return r!.id;
  };

  it('applies a correction to the message and exports only the latest per message and task', async () => {
    const a = await analysed('Яма на дороге у дома');
    const b = await analysed('Спасибо за новый автобус', { sector: 'transport', sentiment: 'positive' });
    const first = await labels.correct({ messageId: a, task: 'sector', label: 'amenities', actor: 'x' });
    expect(first).toMatchObject({
      ok: true,
      incidentId: null,
      label: { messageId: a, task: 'sector', label: 'amenities', previous: 'roads', actor: 'x' },
    });
    await labels.correct({ messageId: a, task: 'sector', label: 'housing', actor: 'y' });
    await labels.correct({ messageId: a, task: 'sentiment', label: 'neutral', actor: 'y' });
    await labels.correct({ messageId: b, task: 'sentiment', label: 'neutral', actor: 'x' });
    const m = await messages.get(a);
    expect(m).toMatchObject({
      sector: 'housing',
      sentiment: 'neutral',
      needsReview: false,
      state: 'analyzed',
    });
    expect(await labels.correctionsOf(a)).toEqual({ sector: 2, sentiment: 1 });
    expect(await labels.correctionsOf(b)).toEqual({ sentiment: 1 });
    expect(await labels.exportLatest()).toEqual([
      { task: 'sector', text: 'Яма на дороге у дома', label: 'housing' },
      { task: 'sentiment', text: 'Яма на дороге у дома', label: 'neutral' },
      { task: 'sentiment', text: 'Спасибо за новый автобус', label: 'neutral' },
    ]);
  });

  it('reports an unknown or not yet analysed message without writing', async () => {
    expect(
      await labels.correct({ messageId: 99_999_999, task: 'sector', label: 'roads', actor: 'x' }),
    ).toEqual({
      ok: false,
      reason: 'not_found',
    });
    const [fresh] = await messages.insertBatch([message('Нет света')], () => 'api');
    expect(
      await labels.correct({ messageId: fresh!.id, task: 'sector', label: 'energy', actor: 'x' }),
    ).toEqual({ ok: false, reason: 'not_analyzed' });
    const rows = await database.rows<{ n: number }>(
      sql`select count(*)::int as n from labels where message_id = ${fresh!.id}`,
    );
    expect(rows[0]!.n).toBe(0);
  });

  it('writes nothing when a step of the transaction fails (the incident event here)', async () => {
    const id = await analysed('Провалился асфальт');
    // An incident that does not exist: the event insert violates its foreign key at the very end.
    await database.rows(sql`update messages set incident_id = 88888888 where id = ${id}`);
    await expect(
      labels.correct({ messageId: id, task: 'sector', label: 'housing', actor: 'x' }),
    ).rejects.toThrow();
    expect(await messages.get(id)).toMatchObject({ sector: 'roads', needsReview: true });
    const rows = await database.rows<{ n: number }>(
      sql`select count(*)::int as n from labels where message_id = ${id}`,
    );
    expect(rows[0]!.n).toBe(0);
  });
});

describe('the export on embedded PGlite (DATA_DIR, no DATABASE_URL)', () => {
  let dataDir: string;
  const text = 'Во дворе не горят фонари, ул. Попова, 105';
  beforeAll(async () => {
    dataDir = tempDir('otklik-labels-pglite-');
    const database = await openDatabase({ dataDir: path.join(dataDir, 'pglite') });
    try {
      await seedReferenceData(database);
      const messages = createMessageStore(database);
      const [r] = await messages.insertBatch([message(text)], () => 'api');
      await messages.saveAnalyses([{ id: r!.id, analysis: analysis(), needsReview: false }]);
      const labels = createLabelStore(database);
      await labels.correct({ messageId: r!.id, task: 'sector', label: 'energy', actor: 'x' });
      await labels.correct({ messageId: r!.id, task: 'sector', label: 'amenities', actor: 'x' });
    } finally {
      await database.close(); // releases the lock: the embedded database belongs to one process
    }
  });
  afterAll(() => dataDir && fs.rmSync(dataDir, { recursive: true, force: true }));

  it('`otklik labels export` reads the embedded database', async () => {
    const r = await runCli(['labels', 'export'], { DATA_DIR: dataDir, LOG_LEVEL: 'warn' });
    expect(r.stderr).toContain('Выгружено исправлений: 1 (sector: 1, sentiment: 0)');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ task: 'sector', text, label: 'amenities' });
  });

  it('prepare-training includes the corrections of the embedded database when no server holds it', async () => {
    const out = path.join(dataDir, 'nlp');
    const r = await runTsx(['src/nlp/prepare-training.ts', '--data', miniData(), '--out', out], {
      DATA_DIR: dataDir,
    });
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain('SKIPPED');
    const staff = readJsonl(path.join(out, 'sector.core.jsonl')).filter((x) => x.source === 'staff');
    expect(staff).toEqual([{ text, label: 'amenities', source: 'staff' }]);
  });
});
