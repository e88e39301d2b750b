/**
 * The store against both engines it supports: a real PostgreSQL server and embedded PGlite.
 * Same migrations, same seed, same repository code; the results must be identical (types included).
 */
import fs from 'node:fs';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Analysis, SectorCode } from '../src/domain/types.ts';
import { openDatabase, type Database } from '../src/store/db.ts';
import { createIncidentStore, type RouteContext } from '../src/store/incident.store.ts';
import { createMessageStore } from '../src/store/message.store.ts';
import { calendarFromReference, createReferenceStore } from '../src/store/reference.store.ts';
import { seedReferenceData } from '../src/store/seed.ts';
import { fixtureAnalysis, message, STORE_ENGINES, tempDir } from './helpers.ts';

const analysis = (
  sector: SectorCode,
  municipality: string | null,
  terms: string[],
  extra: Partial<Analysis> = {},
): Analysis => fixtureAnalysis({ sector, municipality, terms, ...extra });

describe.each(STORE_ENGINES)('store on %s', (_name, open) => {
  let database: Database;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ db: database, cleanup } = await open());
    await seedReferenceData(database);
    await seedReferenceData(database); // idempotent
  });
  afterAll(() => cleanup());

  const stores = () => ({
    messages: createMessageStore(database),
    incidents: createIncidentStore(database),
    reference: createReferenceStore(database),
  });
  const ctx = async (): Promise<RouteContext> => {
    const ref = await stores().reference.get();
    return {
      ref,
      calendar: calendarFromReference(ref),
      grouping: { windowHours: 72, duplicateThreshold: 0.5 },
    };
  };
  const platformOf = () => 'api';

  it('ships the reference data of Altai Krai', async () => {
    const ref = await stores().reference.get();
    expect(ref.municipalities.size).toBeGreaterThanOrEqual(69);
    expect(ref.municipalities.get('barnaul')?.shortName).toBe('Барнаул');
    expect(ref.municipalities.get('biysky-district')?.shortName).toBe('Бийский район');
    expect([...ref.sectorBlocks.values()].map((b) => b.name)).toEqual([
      'ЖКХ',
      'ТКО',
      'Энергетика',
      'Образование',
      'Здравоохранение',
      'Дороги',
      'Транспорт',
      'Социальная защита',
      'Труд и занятость',
      'Благоустройство',
      'Другое',
    ]);
    // one responsible regional body per sector
    for (const code of ref.sectorBlocks.keys())
      expect(ref.routingRules.some((r) => r.sector === code && r.municipality === null)).toBe(true);
    expect(ref.slaPolicies.get('social')?.firstResponse).toEqual({ amount: 24, unit: 'calendar_hours' });
    expect(ref.calendarDays.some((d) => d.day === '2026-01-09' && d.kind === 'holiday')).toBe(true);
  });

  it('returns counts as numbers on both drivers', async () => {
    const [row] = await database.rows<{ n: unknown }>(sql`select count(*) as n from municipalities`);
    expect(typeof row!.n).toBe('number');
    expect(await stores().messages.countByState()).toBeTypeOf('object');
  });

  it('stores a message once per source + external id', async () => {
    const { messages } = stores();
    const m = message('Нет горячей воды');
    const [a] = await messages.insertBatch([m], platformOf);
    const [b, c] = await messages.insertBatch([m, { ...m, text: 'другой текст' }], platformOf);
    expect(a!.created).toBe(true);
    expect(b).toEqual({ id: a!.id, created: false });
    expect(c).toEqual({ id: a!.id, created: false });
    const [n] = await database.rows<{ n: number }>(
      sql`select count(*) as n from messages where external_id = ${m.externalId}`,
    );
    expect(n!.n).toBe(1);
    expect((await messages.get(a!.id))?.text).toBe('Нет горячей воды');
  });

  it('groups near-duplicates of one sector and place, keeps other places apart, follows threads', async () => {
    const { messages, incidents } = stores();
    const at = new Date();
    const base = { postedAt: at };
    const m1 = message('Не вывозят мусор на ул. Попова, контейнеры переполнены', base);
    const m2 = message('Мусор не вывозят, контейнеры переполнены, ул. Попова', base);
    const m3 = message('Не вывозят мусор, контейнеры переполнены', base);
    const m4 = message('Согласен, безобразие', { ...base, parentExternalId: m1.externalId });
    const ids = (await messages.insertBatch([m1, m2, m3, m4], platformOf)).map((r) => r.id);
    const terms = ['вывоз', 'мусор', 'контейнер', 'переполн'];
    await messages.saveAnalyses([
      { id: ids[0]!, analysis: analysis('waste', 'biysk', terms), needsReview: false },
      { id: ids[1]!, analysis: analysis('waste', 'biysk', terms), needsReview: false },
      { id: ids[2]!, analysis: analysis('waste', 'rubtsovsk', terms), needsReview: false },
      { id: ids[3]!, analysis: analysis('other', null, ['соглас', 'безобраз']), needsReview: true },
    ]);
    const out = await incidents.routeMessages(ids, await ctx());
    expect(out).toHaveLength(4);
    const inc = (id: number) => out.find((o) => o.messageId === id)!.incidentId;
    expect(inc(ids[1]!)).toBe(inc(ids[0]!));
    expect(inc(ids[2]!)).not.toBe(inc(ids[0]!));
    expect(inc(ids[3]!)).toBe(inc(ids[0]!));
    const first = (await incidents.get(inc(ids[0]!)))!;
    expect(first.messageCount).toBe(3);
    expect(first.authorCount).toBe(3);
    expect(first.status).toBe('assigned');
    expect(first.agencyId).toBe('minprirody');
    // routing again changes nothing: the processor is idempotent
    expect(await incidents.routeMessages(ids, await ctx())).toEqual([]);
    expect((await incidents.get(first.id))!.messageCount).toBe(3);
    const events = await incidents.events(first.id);
    expect(events.map((e) => e.type)).toEqual([
      'created',
      'status_changed',
      'message_added',
      'message_added',
    ]);
  });

  it('routes city streets to the municipality and keeps the SLA on the regional calendar', async () => {
    const { messages, incidents } = stores();
    const friday = new Date('2026-05-08T10:00:00+07:00'); // before the May 9–11 holidays
    const m = message('Яма на дороге по ул. Малахова', { postedAt: friday });
    const [r] = await messages.insertBatch([m], platformOf);
    await database.db.execute(
      sql`update messages set received_at = ${friday.toISOString()}::timestamptz where id = ${r!.id}`,
    );
    await messages.saveAnalyses([
      { id: r!.id, analysis: analysis('roads', 'barnaul', ['ям', 'дорог']), needsReview: false },
    ]);
    const [o] = await incidents.routeMessages([r!.id], await ctx());
    const inc = (await incidents.get(o!.incidentId))!;
    expect(inc.agencyId).toBe('adm-barnaul');
    expect(inc.firstResponseDue.toISOString()).toBe(new Date('2026-05-09T10:00:00+07:00').toISOString());
    // 8 working days after Fri May 8, skipping May 9–11: May 12,13,14,15,18,19,20,21 → end of May 21
    expect(inc.resolutionDue.toISOString()).toBe(new Date('2026-05-21T18:00:00+07:00').toISOString());
  });

  it('does not guess an agency for a message marked for review', async () => {
    const { messages, incidents } = stores();
    const [r] = await messages.insertBatch([message('Непонятное сообщение про что-то')], platformOf);
    await messages.saveAnalyses([
      {
        id: r!.id,
        analysis: analysis('education', 'zarinsk', ['непонятн'], { sectorScore: 0.21 }),
        needsReview: true,
      },
    ]);
    const [o] = await incidents.routeMessages([r!.id], await ctx());
    const inc = (await incidents.get(o!.incidentId))!;
    expect(inc.status).toBe('new');
    expect(inc.agencyId).toBeNull();
    const ev = (await incidents.events(inc.id)).find((e) => e.type === 'routed_to_sector_block');
    expect(String(ev?.data.reason)).toMatch(/низкая уверенность классификации \(21 %\)/);
  });

  it('refuses illegal status transitions and records legal ones with actor and time', async () => {
    const { incidents } = stores();
    const { items } = await incidents.list({ sector: ['roads'] }, { limit: 1, offset: 0 });
    const id = items[0]!.id;
    const bad = await incidents.changeStatus(id, 'closed', 'tester');
    expect(bad.ok).toBe(false);
    const good = await incidents.changeStatus(id, 'in_progress', 'tester');
    expect(good.ok).toBe(true);
    const last = (await incidents.events(id)).at(-1)!;
    expect(last).toMatchObject({
      type: 'status_changed',
      fromStatus: 'assigned',
      toStatus: 'in_progress',
      actor: 'tester',
    });
    expect(Date.now() - last.at.getTime()).toBeLessThan(60_000);
  });

  it('filters incidents by status, sector, municipality and agency', async () => {
    const { incidents } = stores();
    const all = await incidents.list({}, { limit: 100, offset: 0 });
    expect(all.total).toBe(all.items.length);
    const waste = await incidents.list(
      { sector: ['waste'], municipality: ['biysk'] },
      { limit: 100, offset: 0 },
    );
    expect(waste.total).toBe(1);
    expect(waste.items[0]!.sector).toBe('waste');
    const byAgency = await incidents.list({ agency: ['adm-barnaul'] }, { limit: 100, offset: 0 });
    expect(byAgency.items.every((i) => i.agencyId === 'adm-barnaul')).toBe(true);
    const inProgress = await incidents.list({ status: ['in_progress'] }, { limit: 100, offset: 0 });
    expect(inProgress.total).toBe(1);
  });
});

describe('embedded PGlite', () => {
  it('keeps its data across restarts and refuses a second process', async () => {
    const dir = `${tempDir()}/pglite`;
    const a = await openDatabase({ dataDir: dir });
    await seedReferenceData(a);
    await createMessageStore(a).insertBatch([message('Проверка сохранности')], () => 'api');
    await a.close();
    const t0 = Date.now();
    const b = await openDatabase({ dataDir: dir });
    const reopenMs = Date.now() - t0;
    const [n] = await b.rows<{ n: number }>(sql`select count(*) as n from messages`);
    expect(n!.n).toBe(1);
    expect(reopenMs).toBeLessThan(10_000); // generous; the bench quotes the real figure
    await b.close();
    // another live process holding the directory: opening it must be refused, not corrupt it
    fs.writeFileSync(`${dir}.lock`, String(process.ppid));
    await expect(openDatabase({ dataDir: dir })).rejects.toThrow(/in use by process/);
  });
});
