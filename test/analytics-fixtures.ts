/**
 * A small analytics data set with known answers, shared by the XLSX export test and the workspace's
 * analytics page test. In the last 30 days:
 *
 * | sector (agency)                   | Барнаул | Бийск |
 * | --------------------------------- | ------- | ----- |
 * | Транспорт (Минтранс)              | 1       | 2     |
 * | ЖКХ (Минстрой)                    | 2       | 0     |
 * | Благоустройство (administrations) | 1       | 1     |
 *
 * Median first response: Минтранс 2 h, Минстрой 30 h, Администрация: Барнаул 5 h, Бийск none. Regional
 * rating: Минтранс 1st (2nd the period before), Минстрой 2nd (1st before). With `growth`, six more open
 * education incidents (Минобрнауки, no municipality), one a day: its backlog grows every day (staffing flag).
 */
import type { TestApp } from './helpers.ts';

interface Inc {
  agency: string;
  sector: string;
  muni: string | null;
  daysAgo: number;
  status: string;
  dueH: number;
  firstH?: number;
  resolvedH?: number;
  result?: string;
  channel?: string;
}

export async function insertIncident(t: TestApp, o: Inc): Promise<number> {
  const [row] = await t.app.database.query<{ id: number }>(
    `insert into incidents (status, sector, municipality, agency_id, summary, channel_kind, message_count, author_count, negative_count,
                            first_message_at, last_message_at, first_response_due, resolution_due, first_responded_at, resolved_at, result, created_at)
     values ($1, $2, $3, $4, 'тест', $5, 1, 1, 0, now() - make_interval(days => $6), now() - make_interval(days => $6),
             now() - make_interval(days => $6) + interval '24 hours', now() - make_interval(days => $6) + make_interval(hours => $7),
             case when $8::float8 is null then null else now() - make_interval(days => $6) + make_interval(secs => $8::float8 * 3600) end,
             case when $9::float8 is null then null else now() - make_interval(days => $6) + make_interval(secs => $9::float8 * 3600) end,
             $10, now() - make_interval(days => $6))
     returning id`,
    [
      o.status,
      o.sector,
      o.muni,
      o.agency,
      o.channel ?? 'messenger',
      o.daysAgo,
      o.dueH,
      o.firstH ?? null,
      o.resolvedH ?? null,
      o.result ?? null,
    ],
  );
  return row!.id;
}

export async function seedAnalytics(t: TestApp, opts: { growth?: boolean } = {}): Promise<void> {
  const incs: Inc[] = [
    // This period (the last 30 days).
    {
      agency: 'mintrans',
      sector: 'transport',
      muni: 'barnaul',
      daysAgo: 2,
      firstH: 1,
      resolvedH: 20,
      dueH: 48,
      status: 'resolved',
      result: 'Исправлено',
    },
    {
      agency: 'mintrans',
      sector: 'transport',
      muni: 'biysk',
      daysAgo: 3,
      firstH: 2,
      resolvedH: 30,
      dueH: 48,
      status: 'resolved',
      result: 'Исправлено',
    },
    {
      agency: 'mintrans',
      sector: 'transport',
      muni: 'biysk',
      daysAgo: 4,
      firstH: 3,
      dueH: 200,
      status: 'in_progress',
    },
    {
      agency: 'minstroy',
      sector: 'housing',
      muni: 'barnaul',
      daysAgo: 5,
      firstH: 30,
      resolvedH: 100,
      dueH: 48,
      status: 'resolved',
    },
    {
      agency: 'minstroy',
      sector: 'housing',
      muni: 'barnaul',
      daysAgo: 6,
      dueH: 48,
      status: 'assigned',
      channel: 'social',
    },
    {
      agency: 'adm-barnaul',
      sector: 'amenities',
      muni: 'barnaul',
      daysAgo: 2,
      firstH: 5,
      resolvedH: 40,
      dueH: 72,
      status: 'resolved',
      result: 'Благоустроено',
    },
    { agency: 'adm-biysk', sector: 'amenities', muni: 'biysk', daysAgo: 3, dueH: 24, status: 'assigned' },
    // The previous period (30–60 days ago): Минстрой was better then.
    {
      agency: 'minstroy',
      sector: 'housing',
      muni: 'barnaul',
      daysAgo: 40,
      firstH: 1,
      resolvedH: 10,
      dueH: 48,
      status: 'resolved',
      result: 'Сделано',
    },
    {
      agency: 'mintrans',
      sector: 'transport',
      muni: 'barnaul',
      daysAgo: 41,
      firstH: 50,
      dueH: 10,
      status: 'assigned',
    },
  ];
  for (const i of incs) await insertIncident(t, i);
  if (opts.growth)
    for (let d = 6; d >= 1; d--)
      await t.app.database.query(
        `insert into incidents (status, sector, agency_id, summary, channel_kind, first_message_at, last_message_at, first_response_due, resolution_due, created_at)
         values ('assigned', 'education', 'minobr', 'рост', 'api', now(), now(), now() + interval '1 day', now() + interval '9 days', now() - make_interval(days => $1) + interval '1 hour')`,
        [d],
      );
}
