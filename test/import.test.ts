/**
 * `otklik import FILE` as an operator runs it: a real child process, a fresh PostgreSQL database, the real
 * Redis. Each row is imported, skipped as a duplicate or rejected with its line and reason; the rows land in
 * `messages` exactly once and are queued for analysis; a bad invocation exits 2 and says why.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_TOKEN, createTestDatabase, INGEST_TOKEN, REDIS_URL, runCli, tempDir } from './helpers.ts';

const PREFIX = `timp${randomBytes(4).toString('hex')}`;
let db: { url: string; drop: () => Promise<void> };
let dataDir: string;
let client: pg.Client;

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = tempDir();
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
});

afterAll(async () => {
  await client?.end();
  const redis = new Redis(REDIS_URL);
  try {
    const keys = await redis.keys(`${PREFIX}:*`);
    if (keys.length) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
  await db?.drop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

function otklik(args: string[], env: Record<string, string> = {}) {
  return runCli(args, {
    DATABASE_URL: db.url,
    REDIS_URL,
    QUEUE_PREFIX: PREFIX,
    DATA_DIR: dataDir,
    INGEST_TOKEN,
    API_TOKEN,
    LOG_LEVEL: 'warn',
    ...env,
  });
}

/** The figures of the report: Строк / Импортировано / Пропущено как дубликаты / Отклонено. */
function report(stdout: string) {
  const n = (label: string) => {
    const m = new RegExp(`^${label}: (\\d+)$`, 'm').exec(stdout);
    if (!m) throw new Error(`no "${label}" in the report:\n${stdout}`);
    return Number(m[1]);
  };
  const rejected = [...stdout.matchAll(/^ {2}строка (\d+): (.*)$/gm)].map((m) => ({
    line: Number(m[1]),
    reason: m[2]!,
  }));
  return {
    rows: n('Строк'),
    imported: n('Импортировано'),
    duplicates: n('Пропущено как дубликаты'),
    rejectedCount: n('Отклонено'),
    rejected,
  };
}

async function stored(externalIds: string[]) {
  const r = await client.query<{
    external_id: string;
    text: string;
    posted_at: Date;
    author: string;
    n: number;
  }>(
    `select m.external_id, m.text, m.posted_at, a.external_id as author,
            count(*) over (partition by m.source_id, m.external_id)::int as n
       from messages m left join authors a on a.id = m.author_id
      where m.source_id = 'import' and m.external_id = any($1) order by m.external_id`,
    [externalIds],
  );
  return r.rows;
}

/** Message ids waiting in this installation's analyze queue. */
async function queuedForAnalysis(): Promise<number[]> {
  const u = new URL(REDIS_URL);
  const q = new Queue('analyze', {
    connection: { host: u.hostname, port: Number(u.port || 6379) },
    prefix: PREFIX,
  });
  try {
    const jobs = await q.getJobs(['wait', 'prioritized', 'delayed']);
    return jobs.flatMap((j) => (j.data as { messageIds: number[] }).messageIds).sort((a, b) => a - b);
  } finally {
    await q.close();
  }
}

function writeFile(name: string, content: string): string {
  const file = path.join(dataDir, name);
  fs.writeFileSync(file, content);
  return file;
}

// An export as a Russian feedback system writes it: BOM, ';', CRLF, day-first dates, a quoted multi-line text.
const CSV = [
  '\uFEFF№;Текст;Дата;Автор;Прочее',
  'c-101;Не вывозят мусор во дворе, ул. Мухачева, 210, Бийск;01.03.2025 10:30;citizen-1;x',
  'c-102;;01.03.2025 11:00;citizen-2;x',
  'c-103;Яма на дороге по ул. Малахова в Барнауле;вчера;citizen-3;x',
  '',
  'c-104;"Нет горячей воды\r\nв доме по ул. Попова, 105";2025-03-02 09:15;citizen-4;x',
  'c-105;Не горят фонари на ул. Ленина;2025-03-02T09:15:00Z;;x',
  'c-106;Сломана скамейка в парке;31.02.2025;citizen-6;x',
].join('\r\n');
const CSV_MAP = ['--map', 'externalId=№,text=Текст,postedAt=Дата,authorId=Автор', '--delimiter', ';'];
const CSV_IDS = ['c-101', 'c-102', 'c-103', 'c-104', 'c-105', 'c-106'];

describe('otklik import: CSV with a column mapping', () => {
  let file: string;
  let firstIds: number[];

  it('imports the good rows and rejects the bad ones with their line and reason', async () => {
    file = writeFile('appeals.csv', CSV);
    const r = await otklik(['import', file, ...CSV_MAP]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rep = report(r.stdout);
    expect(rep).toMatchObject({ rows: 6, imported: 3, duplicates: 0, rejectedCount: 3 });
    // Line numbers as an editor shows them: the header is line 1, the blank line and the two-line text count.
    expect(rep.rejected.map((x) => x.line)).toEqual([3, 4, 9]);
    expect(rep.rejected[0]!.reason).toMatch(/"Текст".*empty/);
    expect(rep.rejected[1]!.reason).toMatch(/"Дата" is not a date: "вчера"/);
    expect(rep.rejected[2]!.reason).toMatch(/"Дата" is not a date: "31\.02\.2025"/);

    const rows = await stored(CSV_IDS);
    expect(rows.map((x) => x.external_id)).toEqual(['c-101', 'c-104', 'c-105']);
    expect(rows.every((x) => x.n === 1)).toBe(true);
    const [m101, m104, m105] = rows;
    expect(m101!.text).toBe('Не вывозят мусор во дворе, ул. Мухачева, 210, Бийск');
    // Day first, Barnaul time (UTC+7): 1 March 10:30 local, not 3 January and not the machine's zone.
    expect(m101!.posted_at.toISOString()).toBe('2025-03-01T03:30:00.000Z');
    expect(m101!.author).toBe('citizen-1');
    expect(m104!.text).toBe('Нет горячей воды\r\nв доме по ул. Попова, 105');
    expect(m104!.posted_at.toISOString()).toBe('2025-03-02T02:15:00.000Z');
    expect(m105!.posted_at.toISOString()).toBe('2025-03-02T09:15:00.000Z');
    expect(m105!.author).toBe('import:c-105'); // no author column value: one author per row, not one for all

    // Imported appeals enter the pipeline: each stored row is queued for analysis.
    firstIds = (
      await client.query<{ id: number }>(
        `select id::int from messages where source_id = 'import' and external_id = any($1)`,
        [CSV_IDS],
      )
    ).rows
      .map((x) => x.id)
      .sort((a, b) => a - b);
    expect(await queuedForAnalysis()).toEqual(firstIds);
  });

  it('skips every row as a duplicate on a second run and stores nothing twice', async () => {
    const r = await otklik(['import', file, ...CSV_MAP]);
    expect(r.code).toBe(0);
    const rep = report(r.stdout);
    expect(rep).toMatchObject({ rows: 6, imported: 0, duplicates: 3, rejectedCount: 3 });
    expect(rep.rejected.map((x) => x.line)).toEqual([3, 4, 9]);
    const rows = await stored(CSV_IDS);
    expect(rows).toHaveLength(3);
    expect(rows.every((x) => x.n === 1)).toBe(true);
    // Nothing new to analyse.
    expect(await queuedForAnalysis()).toEqual(firstIds);
  });

  it('stops with exit 2 naming the missing column when the delimiter is wrong, importing nothing', async () => {
    const other = writeFile('other.csv', CSV.replaceAll('c-1', 'd-1'));
    const r = await otklik(['import', other]); // no --map, no --delimiter
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no column "id" for externalId/);
    expect(r.stderr).toMatch(/--delimiter/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const n = await client.query(`select 1 from messages where external_id like 'd-1%'`);
    expect(n.rowCount).toBe(0);
  });
});

describe('otklik import: JSON Lines', () => {
  it('imports objects, rejects broken lines, and counts repeats inside the file as duplicates', async () => {
    const lines = [
      JSON.stringify({
        id: 'j-1',
        text: 'Не убран снег во дворе на ул. Антона Петрова, 221',
        date: '2025-01-15T08:00:00+07:00',
        author_id: 'u1',
        author_name: 'Анна',
      }),
      '{"id": "j-2", "text": "обрыв строки',
      JSON.stringify({ id: 'j-3', text: '   ', date: '2025-01-15T08:00:00+07:00' }),
      '',
      JSON.stringify({ id: 'j-4', text: 'Автобус 35 не ходит по расписанию', date: 'не дата' }),
      JSON.stringify(['j-5', 'массив вместо объекта']),
      JSON.stringify({ id: 7, text: 'Числовой id и дата без зоны', date: '2025-01-16 12:00' }),
      JSON.stringify({ id: 'j-1', text: 'Повтор первой строки', date: '2025-01-15T09:00:00+07:00' }),
    ];
    const file = writeFile('appeals.jsonl', lines.join('\n') + '\n');
    const r = await otklik(['import', file]);
    expect(r.code).toBe(0);
    const rep = report(r.stdout);
    expect(rep).toMatchObject({ rows: 7, imported: 2, duplicates: 1, rejectedCount: 4 });
    expect(rep.rejected.map((x) => x.line)).toEqual([2, 3, 5, 6]);
    expect(rep.rejected[0]!.reason).toMatch(/invalid JSON/);
    expect(rep.rejected[1]!.reason).toMatch(/"text".*empty/);
    expect(rep.rejected[2]!.reason).toMatch(/not a date: "не дата"/);
    expect(rep.rejected[3]!.reason).toMatch(/not a JSON object/);

    const rows = await stored(['j-1', 'j-2', 'j-3', 'j-4', 'j-5', '7']);
    expect(rows.map((x) => x.external_id)).toEqual(['7', 'j-1']);
    expect(rows.every((x) => x.n === 1)).toBe(true);
    const j1 = rows.find((x) => x.external_id === 'j-1')!;
    expect(j1.text).toBe('Не убран снег во дворе на ул. Антона Петрова, 221'); // the first of the two wins
    expect(j1.author).toBe('u1');
    expect(rows.find((x) => x.external_id === '7')!.posted_at.toISOString()).toBe('2025-01-16T05:00:00.000Z');
  });

  it('exits 1 when no row at all could be imported', async () => {
    const file = writeFile('broken.jsonl', 'not json\n{"id": "k-1"}\n');
    const r = await otklik(['import', file]);
    expect(r.code).toBe(1);
    expect(report(r.stdout)).toMatchObject({ rows: 2, imported: 0, duplicates: 0, rejectedCount: 2 });
  });
});

describe('otklik import: bad invocations', () => {
  it.each([
    [['--map', 'bogus=Колонка'], /bad mapping "bogus=Колонка".*field one of externalId, text/],
    [['--map', 'text'], /bad mapping "text"/],
    [['--map', 'text='], /bad mapping "text="/],
    [['--format', 'xlsx'], /--format must be csv or jsonl, got "xlsx"/],
    [['--mapping', 'text=Текст'], /Unknown option '--mapping'/],
  ])('%j → exit 2 with a clear message and nothing imported', async (extra, message) => {
    const file = writeFile(`bad-${randomBytes(3).toString('hex')}.csv`, 'id,text\nz-1,Текст обращения\n');
    const r = await otklik(['import', file, ...extra]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).not.toMatch(/Импортировано/);
    expect((await client.query(`select 1 from messages where external_id = 'z-1'`)).rowCount).toBe(0);
  });

  it('a missing file → exit 2 naming it, before touching the database', async () => {
    const missing = path.join(dataDir, 'no-such-file.csv');
    // An unreachable database proves the check comes first.
    const r = await otklik(['import', missing], { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`file not found: ${missing}`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('no file → exit 2 with usage', async () => {
    const r = await otklik(['import']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/give the file to import/);
  });
});
