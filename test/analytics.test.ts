/**
 * Analytics on a small data set with known answers, in real PostgreSQL: slices (counts, medians, shares,
 * two dimensions, time buckets, filters, CSV), agency ratings (formula, weights from the settings, ranks
 * and change, the breakdown adding up to the score), workload with the staffing flag.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_TOKEN, startTestApp, type TestApp } from './helpers.ts';

describe('analytics', () => {
  let t: TestApp;
  const auth = { authorization: `Bearer ${API_TOKEN}` };
  const get = async (url: string) => {
    const r = await t.app.api!.inject({ method: 'GET', url, headers: auth });
    return {
      status: r.statusCode,
      get body() {
        return r.json() as Record<string, unknown>;
      },
      raw: r,
    };
  };
  const q = (sql: string, params: unknown[] = []) => t.app.database.query(sql, params);

  beforeAll(async () => {
    t = await startTestApp({ roles: ['api'] });
    // Two regional bodies: mintrans answers fast and well, minstroy slowly; 10 days ago and now.
    const inc = async (
      agency: string,
      sector: string,
      muni: string,
      daysAgo: number,
      o: {
        firstH?: number;
        resolvedH?: number;
        dueH: number;
        status: string;
        result?: string;
        neg?: number;
        msgs?: number;
      },
    ) => {
      const [row] = (await q(
        `insert into incidents (status, sector, municipality, agency_id, summary, channel_kind, message_count, author_count, negative_count,
                                first_message_at, last_message_at, first_response_due, resolution_due, first_responded_at, resolved_at, result, created_at)
         values ($1, $2, $3, $4, 'тест', 'messenger', $5, $5, $6, now() - make_interval(days => $7), now() - make_interval(days => $7),
                 now() - make_interval(days => $7) + interval '24 hours', now() - make_interval(days => $7) + make_interval(hours => $8),
                 case when $9::float8 is null then null else now() - make_interval(days => $7) + make_interval(secs => $9::float8 * 3600) end,
                 case when $10::float8 is null then null else now() - make_interval(days => $7) + make_interval(secs => $10::float8 * 3600) end,
                 $11, now() - make_interval(days => $7))
         returning id`,
        [
          o.status,
          sector,
          muni,
          agency,
          o.msgs ?? 1,
          o.neg ?? 0,
          daysAgo,
          o.dueH,
          o.firstH ?? null,
          o.resolvedH ?? null,
          o.result ?? null,
        ],
      )) as { id: number }[];
      return row!.id;
    };
    // This period (last 30 days)
    await inc('mintrans', 'transport', 'barnaul', 2, {
      firstH: 1,
      resolvedH: 20,
      dueH: 48,
      status: 'resolved',
      result: 'Исправлено',
      neg: 1,
      msgs: 2,
    });
    await inc('mintrans', 'transport', 'biysk', 3, {
      firstH: 2,
      resolvedH: 30,
      dueH: 48,
      status: 'resolved',
      result: 'Исправлено',
    });
    await inc('mintrans', 'transport', 'biysk', 4, { firstH: 3, dueH: 200, status: 'in_progress' });
    await inc('minstroy', 'housing', 'barnaul', 5, {
      firstH: 30,
      resolvedH: 100,
      dueH: 48,
      status: 'resolved',
    });
    await inc('minstroy', 'housing', 'barnaul', 6, { dueH: 48, status: 'assigned', neg: 2, msgs: 2 });
    // Previous period (30–60 days ago): minstroy was better then.
    await inc('minstroy', 'housing', 'barnaul', 40, {
      firstH: 1,
      resolvedH: 10,
      dueH: 48,
      status: 'resolved',
      result: 'Сделано',
    });
    await inc('mintrans', 'transport', 'barnaul', 41, { firstH: 50, dueH: 10, status: 'assigned' });
  });
  afterAll(async () => t?.close());

  it('slices incidents by one and two dimensions, with filters and time buckets', async () => {
    const bySector = await get('/api/v1/analytics/slice?measure=incidents&by=sector');
    const rows = bySector.body.rows as { keys: { sector: string }; value: number }[];
    expect(Object.fromEntries(rows.map((r) => [r.keys.sector, r.value]))).toEqual({
      transport: 3,
      housing: 2,
    });
    const two = (
      await get('/api/v1/analytics/slice?measure=incidents&by=sector,municipality&sector=transport')
    ).body.rows as { keys: Record<string, string>; value: number }[];
    expect(two.map((r) => `${r.keys.sector}/${r.keys.municipality}=${r.value}`).sort()).toEqual([
      'transport/barnaul=1',
      'transport/biysk=2',
    ]);
    const median = (await get('/api/v1/analytics/slice?measure=first_response_hours&by=agency')).body
      .rows as { keys: { agency: string }; value: number }[];
    expect(Object.fromEntries(median.map((r) => [r.keys.agency, Math.round(r.value)]))).toEqual({
      mintrans: 2,
      minstroy: 30,
    });
    const share = (await get('/api/v1/analytics/slice?measure=within_deadline_share&by=agency')).body
      .rows as { keys: { agency: string }; value: number }[];
    expect(Object.fromEntries(share.map((r) => [r.keys.agency, r.value]))).toEqual({
      mintrans: 1,
      minstroy: 0,
    });
    const days = (
      await get(
        `/api/v1/analytics/slice?measure=incidents&period=month&from=${new Date(Date.now() - 90 * 86_400_000).toISOString()}`,
      )
    ).body.rows as { keys: { period: string }; value: number }[];
    expect(days.reduce((a, r) => a + r.value, 0)).toBe(7);
    expect(days.every((r) => /^\d{4}-\d{2}-01$/.test(r.keys.period))).toBe(true);
  });

  it('a role scoped to one sector sees its sector only: slices, workload, map, top problems; no regional report', async () => {
    const head = await t.app.staff.create({
      login: 'head-transport',
      name: 'Руководитель блока «Транспорт»',
      grants: [{ role: 'sector_head', sector: 'transport' }],
    });
    const token = await t.app.staff.issueToken(head.id, 'test');
    const as = async (url: string) => {
      const r = await t.app.api!.inject({
        method: 'GET',
        url,
        headers: { authorization: `Bearer ${token}` },
      });
      return { status: r.statusCode, body: r.json() as Record<string, unknown> };
    };
    const bySector = (await as('/api/v1/analytics/slice?measure=incidents&by=sector')).body.rows as {
      keys: { sector: string };
      value: number;
    }[];
    expect(Object.fromEntries(bySector.map((r) => [r.keys.sector, r.value]))).toEqual({ transport: 3 });
    const other = await as('/api/v1/analytics/slice?measure=incidents&by=sector&sector=housing');
    expect(other.status).toBe(403);
    expect(other.body).toMatchObject({ error: 'FORBIDDEN_SCOPE' });
    const w = (await as('/api/v1/analytics/workload')).body as {
      sectors: { key: string }[];
      agencies: { key: string }[];
    };
    expect(w.sectors.map((r) => r.key)).toEqual(['transport']);
    expect(w.agencies.map((r) => r.key)).not.toContain('minstroy');
    const map = (await as('/api/v1/analytics/map')).body as { items: { code: string; incidents: number }[] };
    expect(map.items.reduce((a, i) => a + i.incidents, 0)).toBe(3);
    expect((await as('/api/v1/analytics/top-problems?sector=housing')).status).toBe(403);
    // A role scoped to a municipality: the map's scale and «unassigned» are of its municipality alone, not
    // figures of the whole region.
    const local = await t.app.staff.create({
      login: 'exec-biysk',
      name: 'Исполнитель (Бийск)',
      grants: [{ role: 'responsible_executive', municipality: 'biysk' }],
    });
    const localToken = await t.app.staff.issueToken(local.id, 'test');
    const localMap = (
      await t.app.api!.inject({
        method: 'GET',
        url: '/api/v1/analytics/map',
        headers: { authorization: `Bearer ${localToken}` },
      })
    ).json() as {
      items: { code: string; value: number | null }[];
      min: number | null;
      max: number | null;
      unassigned: { incidents: number };
    };
    expect(localMap.items.map((i) => i.code)).toEqual(['biysk']);
    expect(localMap.min).toBe(localMap.items[0]!.value);
    expect(localMap.max).toBe(localMap.items[0]!.value);
    expect(localMap.unassigned.incidents).toBe(0);
    const report = await as('/api/v1/reports/weekly');
    expect(report.status).toBe(403);
    // The unscoped analyst still sees everything.
    expect((await get('/api/v1/reports/weekly')).status).toBe(200);
  });

  it('a rejected incident past its deadline is not «late»: the share within deadline leaves it out', async () => {
    const [row] = (await q(
      `insert into incidents (status, sector, municipality, agency_id, summary, channel_kind, message_count, author_count,
                              negative_count, first_message_at, last_message_at, first_response_due, resolution_due, created_at)
       values ('rejected', 'transport', 'biysk', 'mintrans', 'не по адресу', 'messenger', 1, 1, 0,
               now() - interval '3 days', now() - interval '3 days', now() - interval '2 days', now() - interval '1 day',
               now() - interval '3 days')
       returning id`,
    )) as { id: number }[];
    try {
      const share = (await get('/api/v1/analytics/slice?measure=within_deadline_share&by=agency')).body
        .rows as {
        keys: { agency: string };
        value: number;
      }[];
      expect(share.find((r) => r.keys.agency === 'mintrans')?.value).toBe(1);
    } finally {
      await q(`delete from incidents where id = $1`, [row!.id]);
    }
  });

  it('exports a slice as CSV (Excel-friendly: BOM, semicolons, formulas neutralised)', async () => {
    const r = await get('/api/v1/analytics/slice?measure=incidents&by=agency&format=csv');
    expect(r.raw.headers['content-type']).toContain('text/csv');
    const text = r.raw.body;
    expect(text.charCodeAt(0)).toBe(0xfeff);
    expect(text).toContain('agency;incidents;n');
    expect(text).toContain('mintrans;3;3');
  });

  it('refuses unknown measures and repeated dimensions with 400', async () => {
    expect((await get('/api/v1/analytics/slice?measure=happiness')).status).toBe(400);
    expect((await get('/api/v1/analytics/slice?measure=incidents&by=sector,sector')).status).toBe(400);
    expect(
      (await get('/api/v1/analytics/slice?measure=incidents&by=sector,municipality,agency')).status,
    ).toBe(400);
  });

  it('rates agencies by the documented formula: ranks, change since the previous period, the breakdown', async () => {
    const r = (await get('/api/v1/analytics/ratings?level=regional')).body as {
      levels: {
        items: {
          agencyId: string;
          rank: number;
          previousRank: number | null;
          change: number | null;
          score: number;
          breakdown: Record<string, { points: number }>;
        }[];
      }[];
      formula: string;
    };
    const items = r.levels[0]!.items;
    expect(items.map((i) => i.agencyId)).toEqual(['mintrans', 'minstroy']);
    expect(items[0]).toMatchObject({ rank: 1, previousRank: 2, change: 1 });
    expect(items[1]).toMatchObject({ rank: 2, previousRank: 1, change: -1 });
    for (const i of items)
      expect(Object.values(i.breakdown).reduce((a, b) => a + b.points, 0)).toBeCloseTo(i.score, 1);
    expect(r.formula).toContain('score = 100');
    // Weights are settings: counting only the number of incidents still puts mintrans first, with 100 points.
    const w = {
      quantity: 1,
      speed_first_response: 0,
      speed_within_deadline: 0,
      quality_satisfaction: 0,
      quality_not_reopened: 0,
      completeness_answered: 0,
      completeness_result: 0,
    };
    const put = await t.app.api!.inject({
      method: 'PUT',
      url: '/api/v1/settings/analytics',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: JSON.stringify({ ratingWeights: w }),
    });
    expect(put.statusCode).toBe(200);
    const again = (await get('/api/v1/analytics/ratings?level=regional')).body as {
      levels: { items: { agencyId: string; score: number }[] }[];
    };
    expect(again.levels[0]!.items.map((i) => [i.agencyId, i.score])).toEqual([
      ['mintrans', 100],
      ['minstroy', 0],
    ]);
  });

  it('shows workload per sector block and agency; a backlog growing day after day raises the staffing flag', async () => {
    const r = (await get('/api/v1/analytics/workload')).body as {
      agencies: {
        key: string;
        backlog: number;
        overdue: number;
        backlogTrend: number[];
        staffingFlag: boolean;
      }[];
    };
    const stroy = r.agencies.find((a) => a.key === 'minstroy')!;
    expect(stroy.backlog).toBe(1);
    expect(stroy.overdue).toBe(1);
    // Education: six open incidents, one a day for six days, none closed: the backlog grows every day.
    for (let d = 6; d >= 1; d--)
      await q(
        `insert into incidents (status, sector, agency_id, summary, channel_kind, first_message_at, last_message_at, first_response_due, resolution_due, created_at)
         values ('assigned', 'education', 'minobr', 'рост', 'api', now(), now(), now() + interval '1 day', now() + interval '9 days', now() - make_interval(days => $1) + interval '1 hour')`,
        [d],
      );
    const after = (await get('/api/v1/analytics/workload')).body as {
      agencies: { key: string; staffingFlag: boolean; backlogTrend: number[] }[];
    };
    const obr = after.agencies.find((a) => a.key === 'minobr')!;
    expect(obr.backlogTrend.slice(-6)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(obr.staffingFlag).toBe(true);
    expect(after.agencies.find((a) => a.key === 'minstroy')!.staffingFlag).toBe(false);
  });
  it('a slice with more groups than it answers says so (the largest kept)', async () => {
    // 69 municipalities × 73 days = 5,037 groups, one incident each.
    await q(
      `insert into incidents (status, sector, municipality, summary, channel_kind, message_count, author_count,
                              negative_count, first_message_at, last_message_at, first_response_due, resolution_due, created_at)
       select 'new', 'other', m.code, 'много групп', 'api', 1, 1, 0, t, t, t, t, t
       from municipalities m, generate_series(1, 73) d, lateral (select now() - make_interval(days => d) as t) x`,
    );
    try {
      const r = await get(
        `/api/v1/analytics/slice?measure=incidents&by=municipality&period=day&sector=other&from=${new Date(Date.now() - 80 * 86_400_000).toISOString()}`,
      );
      expect(r.status).toBe(200);
      expect(r.body.truncated).toBe(true);
      expect((r.body.rows as unknown[]).length).toBe(5000);
      const small = await get('/api/v1/analytics/slice?measure=incidents&by=sector');
      expect(small.body.truncated).toBe(false);
    } finally {
      await q(`delete from incidents where summary = 'много групп'`);
    }
  });
  it('an incident waiting for the citizen (clock paused) is not overdue in the workload', async () => {
    const overdue = async () =>
      ((await get('/api/v1/analytics/workload')).body.sectors as { key: string; overdue: number }[]).find(
        (r) => r.key === 'transport',
      )?.overdue ?? 0;
    const before = await overdue();
    const [row] = (await q(
      `insert into incidents (status, sector, municipality, agency_id, summary, channel_kind, message_count, author_count,
                              negative_count, first_message_at, last_message_at, first_response_due, resolution_due,
                              paused_at, created_at)
       values ('in_progress', 'transport', 'biysk', 'mintrans', 'ждём ответа', 'messenger', 1, 1, 0,
               now() - interval '9 days', now() - interval '9 days', now() - interval '8 days', now() - interval '1 day',
               now() - interval '2 days', now() - interval '9 days')
       returning id`,
    )) as { id: number }[];
    try {
      expect(await overdue()).toBe(before);
      await q(`update incidents set paused_at = null where id = $1`, [row!.id]);
      expect(await overdue()).toBe(before + 1);
    } finally {
      await q(`delete from incidents where id = $1`, [row!.id]);
    }
  });
});
