/**
 * The problem map and the top recurring problems on a small data set with known answers, in real
 * PostgreSQL: values per 10,000 residents and overdue shares to the digit, filters, the legend's range,
 * validation; grouping by object (normalised address, across blocks) and by subject (block, municipality,
 * similar terms), the previous period and its trend, the weekly series, the limit, the filters.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MUNICIPALITIES } from '../src/domain/municipalities.ts';
import { MUNICIPALITY_GEO, schematicLayout } from '../src/domain/municipality-geo.ts';
import { topProblems } from '../src/store/problems.store.ts';
import { API_TOKEN, startTestApp, type TestApp } from './helpers.ts';

// The map's month and the top problems' four weeks (Monday to Monday, Barnaul time) never overlap.
const MAP_FROM = '2025-03-01T00:00:00+07:00';
const MAP_TO = '2025-04-01T00:00:00+07:00';
const TOP_FROM = '2025-06-02T00:00:00+07:00';
const TOP_TO = '2025-06-30T00:00:00+07:00';
const at = (iso: string) => new Date(iso).toISOString();

interface Inc {
  created: string;
  municipality: string | null;
  sector?: string;
  status?: string;
  /** Resolution deadline; default a day after creation. */
  due?: string;
  resolved?: string;
  agency?: string;
  channel?: string;
  address?: string;
  summary?: string;
  terms?: string[];
  messages?: number;
}

describe('problem map and top problems', () => {
  let t: TestApp;
  const auth = { authorization: `Bearer ${API_TOKEN}` };
  const get = async (url: string) => {
    const r = await t.app.api!.inject({ method: 'GET', url, headers: auth });
    return { status: r.statusCode, body: r.json() as Record<string, unknown> };
  };
  const ids: Record<string, number> = {};

  async function insert(name: string, o: Inc) {
    const created = new Date(o.created);
    const due = o.due ? new Date(o.due) : new Date(created.getTime() + 86_400_000);
    const [row] = await t.app.database.query<{ id: number }>(
      `insert into incidents (status, sector, municipality, agency_id, address, summary, terms, channel_kind,
                              message_count, author_count, first_message_at, last_message_at,
                              first_response_due, resolution_due, resolved_at, created_at)
       values ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $9, $10, $10, $10, $11, $12, $10)
       returning id`,
      [
        o.status ?? 'assigned',
        o.sector ?? 'housing',
        o.municipality,
        o.agency ?? 'minstroy',
        o.address ?? null,
        o.summary ?? 'тест',
        JSON.stringify(o.terms ?? []),
        o.channel ?? 'messenger',
        o.messages ?? 1,
        created.toISOString(),
        due.toISOString(),
        o.resolved ? new Date(o.resolved).toISOString() : null,
      ],
    );
    ids[name] = row!.id;
  }

  beforeAll(async () => {
    t = await startTestApp({ roles: ['api'] });
    const future = new Date(Date.now() + 30 * 86_400_000).toISOString();
    // --- The map's month (March 2025). ---
    // Яровое (17,200 residents): 3 incidents — open past due, resolved late, resolved in time.
    await insert('y1', { created: '2025-03-03T10:00:00+07:00', municipality: 'yarovoye' });
    await insert('y2', {
      created: '2025-03-05T10:00:00+07:00',
      municipality: 'yarovoye',
      status: 'resolved',
      resolved: '2025-03-08T10:00:00+07:00',
    });
    await insert('y3', {
      created: '2025-03-10T10:00:00+07:00',
      municipality: 'yarovoye',
      status: 'closed',
      resolved: '2025-03-10T18:00:00+07:00',
    });
    // Барнаул (626,000): one open incident not yet due; spam does not count.
    await insert('b1', { created: '2025-03-12T10:00:00+07:00', municipality: 'barnaul', due: future });
    await insert('b2', { created: '2025-03-12T11:00:00+07:00', municipality: 'barnaul', status: 'spam' });
    // Бийск (195,500): a roads incident from a social network, with mintrans, open past due.
    await insert('k1', {
      created: '2025-03-20T10:00:00+07:00',
      municipality: 'biysk',
      sector: 'roads',
      agency: 'mintrans',
      channel: 'social',
    });
    // Славгород: rejected (not open, never resolved): counted, not overdue.
    await insert('s1', {
      created: '2025-03-21T10:00:00+07:00',
      municipality: 'slavgorod',
      status: 'rejected',
    });
    // No municipality: not on the map, reported apart.
    await insert('n1', { created: '2025-03-22T10:00:00+07:00', municipality: null });
    // Outside the month: not counted.
    await insert('o1', { created: '2025-02-27T10:00:00+07:00', municipality: 'yarovoye' });
    await insert('o2', { created: '2025-04-01T00:00:00+07:00', municipality: 'yarovoye' });

    // --- Top problems: 2–29 June 2025 (four weeks); previous period 5 May – 1 June. ---
    // A: one object in Барнаул written three ways, in two blocks; one incident before; spam ignored.
    const lenina = ['горяч', 'вод', 'ленин'];
    await insert('a1', {
      created: '2025-06-03T09:00:00+07:00',
      municipality: 'barnaul',
      address: 'ул. Ленина, 5',
      terms: lenina,
      messages: 2,
      summary: 'Нет горячей воды, ул. Ленина, 5',
    });
    await insert('a2', {
      created: '2025-06-10T09:00:00+07:00',
      municipality: 'barnaul',
      address: 'улица Ленина, д. 5',
      terms: ['мусор', 'двор', 'ленин'],
      sector: 'amenities',
      messages: 1,
    });
    await insert('a3', {
      created: '2025-06-27T09:00:00+07:00',
      municipality: 'barnaul',
      address: 'Ленина ул., 5, кв. 12',
      terms: lenina,
      messages: 4,
    });
    await insert('a0', {
      created: '2025-05-20T09:00:00+07:00',
      municipality: 'barnaul',
      address: 'г. Барнаул, ул. Ленина, 5',
      terms: lenina,
    });
    await insert('aSpam', {
      created: '2025-06-11T09:00:00+07:00',
      municipality: 'barnaul',
      address: 'ул. Ленина, 5',
      status: 'spam',
    });
    // Only one incident at this address: not an object problem.
    await insert('p1', {
      created: '2025-06-05T09:00:00+07:00',
      municipality: 'barnaul',
      address: 'ул. Попова, 10',
      terms: ['яма', 'двор'],
    });
    // B: one subject in Бийск (hot water), in other words each time, no address; six before.
    const hot = [
      ['горяч', 'вод', 'отключ', 'дом'],
      ['горяч', 'вод', 'трет', 'ден'],
      ['отключ', 'горяч', 'вод', 'недел'],
      ['горяч', 'вод', 'подъезд'],
    ];
    for (const [n, terms] of hot.entries())
      await insert(`h${n}`, {
        created: `2025-06-${String(4 + n * 7).padStart(2, '0')}T12:00:00+07:00`,
        municipality: 'biysk',
        terms,
        summary: `Горячая вода ${n}`,
      });
    for (let n = 0; n < 6; n++)
      await insert(`hp${n}`, {
        created: `2025-05-${String(6 + n * 4).padStart(2, '0')}T12:00:00+07:00`,
        municipality: 'biysk',
        terms: ['горяч', 'вод', `слов${n}`],
      });
    // C: another subject in the same bucket (light in the stairwell), nothing before: new.
    await insert('c1', {
      created: '2025-06-16T12:00:00+07:00',
      municipality: 'biysk',
      terms: ['свет', 'подъезд', 'темн'],
      summary: 'Нет света в подъезде',
    });
    await insert('c2', {
      created: '2025-06-18T12:00:00+07:00',
      municipality: 'biysk',
      terms: ['свет', 'подъезд', 'лампочк'],
      summary: 'В подъезде не горит свет, лампочки',
    });
    // The hot-water words in another municipality: not part of B.
    await insert('d1', {
      created: '2025-06-20T12:00:00+07:00',
      municipality: 'zarinsk',
      terms: ['горяч', 'вод', 'отключ'],
    });
  });
  afterAll(async () => t?.close());

  const mapUrl = (extra = '') =>
    `/api/v1/analytics/map?from=${encodeURIComponent(MAP_FROM)}&to=${encodeURIComponent(MAP_TO)}${extra}`;
  type MapItem = {
    code: string;
    population: number;
    incidents: number;
    overdue: number;
    value: number | null;
  };
  const byCode = (body: Record<string, unknown>) =>
    Object.fromEntries((body.items as MapItem[]).map((i) => [i.code, i]));

  it('gives every municipality its incidents per 10,000 residents, and the legend range', async () => {
    const r = await get(mapUrl('&measure=per10k'));
    expect(r.status).toBe(200);
    const items = r.body.items as MapItem[];
    expect(items).toHaveLength(69);
    const m = byCode(r.body);
    expect(m.yarovoye).toMatchObject({ population: 17_200, incidents: 3, overdue: 2 });
    expect(m.yarovoye!.value).toBeCloseTo((3 * 10_000) / 17_200, 12);
    expect(m.barnaul).toMatchObject({ population: 626_000, incidents: 1, overdue: 0 });
    expect(m.barnaul!.value).toBeCloseTo(10_000 / 626_000, 12);
    expect(m.biysk!.value).toBeCloseTo(10_000 / 195_500, 12);
    expect(m.slavgorod).toMatchObject({ incidents: 1, overdue: 0 });
    expect(m.aleysk).toMatchObject({ incidents: 0, overdue: 0, value: 0 });
    expect(r.body.min).toBe(0);
    expect(r.body.max).toBeCloseTo((3 * 10_000) / 17_200, 12);
    expect(r.body.unassigned).toEqual({ incidents: 1, overdue: 1 });
    expect(r.body.definition).toMatch(/10,000 residents/);
  });

  it('gives the share overdue: open past the deadline or resolved after it, null without incidents', async () => {
    const r = await get(mapUrl('&measure=overdue_share'));
    const m = byCode(r.body);
    expect(m.yarovoye!.value).toBeCloseTo(2 / 3, 12);
    expect(m.barnaul!.value).toBe(0);
    expect(m.biysk!.value).toBe(1);
    expect(m.slavgorod!.value).toBe(0);
    expect(m.aleysk!.value).toBeNull();
    expect(r.body.min).toBe(0);
    expect(r.body.max).toBe(1);
  });

  it('filters the map by block, agency and channel', async () => {
    for (const f of ['&sector=roads', '&agency=mintrans', '&channel=social', '&sector=roads,energy']) {
      const m = byCode((await get(mapUrl(`&measure=per10k${f}`))).body);
      expect(m.biysk!.incidents, f).toBe(1);
      expect(m.yarovoye!.incidents, f).toBe(0);
      expect(m.barnaul!.incidents, f).toBe(0);
    }
    const housing = byCode((await get(mapUrl('&measure=overdue_share&sector=housing'))).body);
    expect(housing.yarovoye!.value).toBeCloseTo(2 / 3, 12);
    expect(housing.biysk!.value).toBeNull();
  });

  it('refuses bad requests with 400 and a reason', async () => {
    const cases: [string, string][] = [
      [mapUrl('&measure=happiness'), 'measure'],
      [mapUrl('&channel=fax'), 'channel'],
      [mapUrl('&sector=nonsense'), 'sector'],
      [`/api/v1/analytics/map?from=${encodeURIComponent(MAP_TO)}&to=${encodeURIComponent(MAP_FROM)}`, 'from'],
      ['/api/v1/analytics/map?from=yesterday', 'from'],
      ['/api/v1/analytics/top-problems?limit=0', 'limit'],
      ['/api/v1/analytics/top-problems?limit=many', 'limit'],
      ['/api/v1/analytics/top-problems?municipality=atlantis', 'municipality'],
      ['/api/v1/analytics/top-problems?from=2020-01-01T00:00:00Z&to=2025-01-01T00:00:00Z', 'from'],
      ['/api/v1/analytics/top-problems?color=red', ''],
    ];
    for (const [url, field] of cases) {
      const r = await get(url);
      expect(r.status, url).toBe(400);
      expect(r.body.error, url).toBe('VALIDATION_FAILED');
      expect(String(r.body.field), url).toContain(field);
      expect(String(r.body.reason ?? ''), url).not.toBe('');
    }
  });

  it('is for analysts: a request without a token is refused', async () => {
    const r = await t.app.api!.inject({ method: 'GET', url: mapUrl() });
    expect(r.statusCode).toBe(401);
  });

  const topUrl = (extra = '') =>
    `/api/v1/analytics/top-problems?from=${encodeURIComponent(TOP_FROM)}&to=${encodeURIComponent(TOP_TO)}${extra}`;
  type Top = {
    key: string;
    title: string;
    kind: string;
    sector: string | null;
    municipality: string | null;
    municipalityName: string | null;
    incidents: number;
    messages: number;
    previous: number;
    trend: string;
    weekly: { week: string; incidents: number }[];
    incidentIds: number[];
  };

  it('groups incidents about the same object and the same subject, ranked, with the previous period', async () => {
    const r = await get(topUrl());
    expect(r.status).toBe(200);
    expect(r.body.previous).toEqual({ from: at('2025-05-05T00:00:00+07:00'), to: at(TOP_FROM) });
    const items = r.body.items as Top[];
    expect(items.map((i) => [i.kind, i.municipality, i.incidents, i.previous, i.trend])).toEqual([
      ['subject', 'biysk', 4, 6, 'down'],
      ['object', 'barnaul', 3, 1, 'up'],
      ['subject', 'biysk', 2, 0, 'new'],
    ]);
    const [hot, lenina, light] = items as [Top, Top, Top];
    expect(hot.incidentIds).toEqual([ids.h0, ids.h1, ids.h2, ids.h3]);
    expect(hot.sector).toBe('housing');
    expect(hot.key).toBe('subject:housing:biysk:вод+горяч');
    expect(hot.weekly).toEqual([
      { week: '2025-06-02', incidents: 1 },
      { week: '2025-06-09', incidents: 1 },
      { week: '2025-06-16', incidents: 1 },
      { week: '2025-06-23', incidents: 1 },
    ]);

    expect(lenina.incidentIds).toEqual([ids.a1, ids.a2, ids.a3]);
    expect(lenina.key).toBe('object:barnaul:ул ленина 5');
    expect(lenina.title).toBe('Ленина ул., 5, кв. 12');
    expect(lenina.sector).toBeNull(); // housing and amenities
    expect(lenina.messages).toBe(7);
    expect(lenina.municipalityName).toBe('Барнаул');
    expect(lenina.weekly.map((w) => w.incidents)).toEqual([1, 1, 0, 1]);

    expect(light.incidentIds).toEqual([ids.c1, ids.c2]);
    expect(light.title).toBe('В подъезде не горит свет, лампочки');
    expect(light.sector).toBe('housing');
  });

  it('takes the limit and the filters', async () => {
    const two = (await get(topUrl('&limit=2'))).body.items as Top[];
    expect(two.map((i) => i.incidents)).toEqual([4, 3]);
    // Housing only: the object keeps its two housing incidents and its block; the previous one was housing.
    const housing = (await get(topUrl('&sector=housing&municipality=barnaul'))).body.items as Top[];
    expect(housing.map((i) => [i.kind, i.incidentIds, i.sector, i.previous, i.trend])).toEqual([
      ['object', [ids.a1, ids.a3], 'housing', 1, 'up'],
    ]);
    const zarinsk = (await get(topUrl('&municipality=zarinsk'))).body.items as Top[];
    expect(zarinsk).toEqual([]);
  });

  it('exports the store function the weekly report imports', async () => {
    const items = await topProblems(t.app.database, {
      from: new Date(TOP_FROM),
      to: new Date(TOP_TO),
      limit: 1,
      sector: ['housing'],
      municipality: ['biysk'],
    });
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ kind: 'subject', incidents: 4, previous: 6, trend: 'down' });
  });

  it('lays the 69 municipalities out on distinct tiles of the schematic map', () => {
    expect(MUNICIPALITY_GEO.map((g) => g.code)).toEqual(MUNICIPALITIES.map((m) => m.code));
    const { tiles } = schematicLayout();
    expect(tiles).toHaveLength(69);
    expect(new Set(tiles.map((x) => `${x.x}:${x.row}`)).size).toBe(69);
    const pos = Object.fromEntries(tiles.map((x) => [x.code, x]));
    // West to east and north to south as on the map: Славгород, Барнаул, Бийск; Заринск above Рубцовск.
    expect(pos.slavgorod!.x).toBeLessThan(pos.barnaul!.x);
    expect(pos.barnaul!.x).toBeLessThan(pos.biysk!.x);
    expect(pos.zarinsk!.row).toBeLessThan(pos.rubtsovsk!.row);
  });
});
