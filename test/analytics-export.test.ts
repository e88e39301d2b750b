/**
 * XLSX exports of the analytics on a known data set (test/analytics-fixtures.ts), read back with exceljs:
 * the slice's pivot («Сводная») and flat rows («Данные») with Russian names instead of codes, the header
 * block (measure, period, filters), totals only where counts add up; ratings and workload workbooks; a
 * wrong `format` is refused with 400 and the reason.
 */
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIMENSION_LABELS, MEASURE_LABELS, RATING_COMPONENT_LABELS } from '../src/api/analytics.view.ts';
import { DEFAULT_RATING_WEIGHTS, DIMENSIONS, MEASURES } from '../src/store/analytics.store.ts';
import { seedAnalytics } from './analytics-fixtures.ts';
import { API_TOKEN, startTestApp, type TestApp } from './helpers.ts';

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

/** The sheet as plain values, rows and columns from 0 (empty cells are null). */
function values(ws: ExcelJS.Worksheet): (string | number | null)[][] {
  const out: (string | number | null)[][] = [];
  ws.eachRow({ includeEmpty: true }, (row, n) => {
    const cells: (string | number | null)[] = [];
    for (let c = 1; c <= ws.columnCount; c++) {
      const v = row.getCell(c).value;
      cells.push(v === null || v === undefined ? null : typeof v === 'number' ? v : String(v));
    }
    out[n - 1] = cells;
  });
  return out.map((r) => r ?? []);
}

/** The row whose first cell is `first` (or whose cells start with `first`…). */
const rowOf = (rows: (string | number | null)[][], ...first: (string | number | null)[]) =>
  rows.find((r) => first.every((f, i) => r[i] === f));

describe('analytics exports (XLSX)', () => {
  let t: TestApp;
  const auth = { authorization: `Bearer ${API_TOKEN}` };
  const get = (url: string) => t.app.api!.inject({ method: 'GET', url, headers: auth });
  async function workbook(url: string) {
    const r = await get(url);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.headers['content-type']).toBe(XLSX);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(r.rawPayload as unknown as ArrayBuffer);
    return { wb, disposition: String(r.headers['content-disposition']) };
  }

  beforeAll(async () => {
    t = await startTestApp({ roles: ['api'] });
    await seedAnalytics(t);
  });
  afterAll(async () => t?.close());

  it('names every measure, dimension and rating component in Russian', () => {
    for (const m of MEASURES) expect(MEASURE_LABELS[m]).toMatch(/[А-ЯЁ]/);
    for (const d of DIMENSIONS) expect(DIMENSION_LABELS[d]).toMatch(/[А-ЯЁ]/);
    for (const k of Object.keys(DEFAULT_RATING_WEIGHTS)) expect(RATING_COMPONENT_LABELS[k]).toMatch(/[А-ЯЁ]/);
  });

  it('exports a slice by two dimensions: pivot with totals, flat rows, names instead of codes', async () => {
    const { wb, disposition } = await workbook(
      '/api/v1/analytics/slice?measure=incidents&by=sector,municipality&format=xlsx',
    );
    expect(disposition).toMatch(
      /^attachment; filename="otklik-incidents-\d{4}-\d{2}-\d{2}_\d{4}-\d{2}-\d{2}\.xlsx"/,
    );
    expect(disposition).toContain("filename*=UTF-8''");
    expect(wb.worksheets.map((w) => w.name)).toEqual(['Сводная', 'Данные']);

    const pivot = values(wb.getWorksheet('Сводная')!);
    expect(rowOf(pivot, 'Показатель')?.[1]).toBe('Инциденты');
    expect(rowOf(pivot, 'Разрезы')?.[1]).toBe('Профильный блок × Муниципалитет');
    expect(rowOf(pivot, 'Фильтры')?.[1]).toBe('нет');
    expect(rowOf(pivot, 'Период')?.[1]).toMatch(/^\d{2}\.\d{2}\.\d{4} — \d{2}\.\d{2}\.\d{4}$/);
    expect(rowOf(pivot, null, 'Муниципалитет →')).toBeTruthy();
    expect(rowOf(pivot, 'Профильный блок')?.slice(0, 4)).toEqual([
      'Профильный блок',
      'Барнаул',
      'Бийск',
      'Итого',
    ]);
    // Counts add up: totals across and down; a missing combination is 0.
    expect(rowOf(pivot, 'Транспорт')?.slice(0, 4)).toEqual(['Транспорт', 1, 2, 3]);
    expect(rowOf(pivot, 'Благоустройство')?.slice(0, 4)).toEqual(['Благоустройство', 1, 1, 2]);
    expect(rowOf(pivot, 'ЖКХ')?.slice(0, 4)).toEqual(['ЖКХ', 2, 0, 2]);
    expect(rowOf(pivot, 'Итого')?.slice(0, 4)).toEqual(['Итого', 4, 3, 7]);
    // Rows by their total, ties by name.
    const order = pivot
      .map((r) => r[0])
      .filter((c) => ['Транспорт', 'Благоустройство', 'ЖКХ'].includes(String(c)));
    expect(order).toEqual(['Транспорт', 'Благоустройство', 'ЖКХ']);

    const flat = values(wb.getWorksheet('Данные')!);
    expect(rowOf(flat, 'Профильный блок')?.slice(0, 4)).toEqual([
      'Профильный блок',
      'Муниципалитет',
      'Инциденты',
      'Записей в расчёте',
    ]);
    expect(rowOf(flat, 'ЖКХ', 'Барнаул')?.slice(0, 4)).toEqual(['ЖКХ', 'Барнаул', 2, 2]);
    expect(rowOf(flat, 'Транспорт', 'Бийск')?.slice(0, 4)).toEqual(['Транспорт', 'Бийск', 2, 2]);
    expect(flat.flat()).not.toContain('housing');
  });

  it('puts the period across, names filters, statuses and agencies; medians get no totals', async () => {
    const { wb } = await workbook(
      '/api/v1/analytics/slice?measure=incidents&by=agency&period=month&status=resolved,in_progress&format=xlsx',
    );
    const pivot = values(wb.getWorksheet('Сводная')!);
    expect(rowOf(pivot, 'Фильтры')?.[1]).toBe('Статус: Решён, В работе');
    expect(rowOf(pivot, 'Период')?.[1]).toMatch(/, по месяцам$/);
    const head = rowOf(pivot, 'Ведомство')!;
    expect(
      head
        .slice(1)
        .filter(Boolean)
        .every((c) => /^[А-Я][а-я]+ \d{4}$|^Итого$/.test(String(c))),
    ).toBe(true);
    const trans = rowOf(pivot, 'Минтранс Алтайского края')!;
    expect(trans[head.indexOf('Итого')]).toBe(3);
    expect(rowOf(pivot, 'Минстрой Алтайского края')![head.indexOf('Итого')]).toBe(1);

    const med = await workbook('/api/v1/analytics/slice?measure=first_response_hours&by=agency&format=xlsx');
    const sheet = med.wb.getWorksheet('Сводная')!;
    const rows = values(sheet);
    expect(rowOf(rows, 'Показатель')?.[1]).toBe('Время до первого ответа, ч (медиана)');
    expect(rows.flat()).not.toContain('Итого');
    expect(rowOf(rows, 'Минтранс Алтайского края')?.[1]).toBe(2);
    expect(rowOf(rows, 'Минстрой Алтайского края')?.[1]).toBe(30);
    expect(rowOf(rows, 'Администрация: Барнаул')?.[1]).toBe(5);
    expect(rowOf(rows, 'Администрация: Бийск')?.[1]).toBeNull();
    let fmt = '';
    sheet.eachRow((row) => {
      if (row.getCell(1).value === 'Минтранс Алтайского края') fmt = row.getCell(2).numFmt;
    });
    expect(fmt).toBe('0.0');

    const share = await workbook(
      '/api/v1/analytics/slice?measure=within_deadline_share&by=channel&format=xlsx',
    );
    const sr = values(share.wb.getWorksheet('Сводная')!);
    expect(rowOf(sr, 'Канал')).toBeTruthy();
    expect(rowOf(sr, 'Соцсети')?.[1]).toBe(0);
  });

  it('exports the ratings (a sheet per level, weights, breakdown) and the workload', async () => {
    const r = await workbook('/api/v1/analytics/ratings?format=xlsx');
    expect(r.disposition).toContain('otklik-ratings-');
    expect(r.wb.worksheets.map((w) => w.name)).toEqual(['Региональные органы', 'ОМСУ']);
    const reg = values(r.wb.getWorksheet('Региональные органы')!);
    const head = rowOf(reg, 'Место')!;
    expect(head.slice(0, 5)).toEqual([
      'Место',
      'Ведомство',
      'Баллы (0–100)',
      'Место в предыдущем периоде',
      'Изменение места',
    ]);
    expect(rowOf(reg, 1, 'Минтранс Алтайского края')?.slice(3, 6)).toEqual([2, 1, 3]);
    expect(rowOf(reg, 2, 'Минстрой Алтайского края')?.slice(3, 6)).toEqual([1, -1, 2]);
    expect(rowOf(reg, 'Вес: Скорость: доля решённых в срок')?.[1]).toBe('0.2');
    expect(head).toContain('Качество: средняя оценка граждан: баллы');
    const omsu = values(r.wb.getWorksheet('ОМСУ')!);
    expect(rowOf(omsu, 1, 'Администрация: Барнаул')).toBeTruthy();

    const w = await workbook('/api/v1/analytics/workload?format=xlsx');
    expect(w.wb.worksheets.map((s) => s.name)).toEqual(['Профильные блоки', 'Ведомства']);
    const ag = values(w.wb.getWorksheet('Ведомства')!);
    const h = rowOf(ag, 'Ведомство')!;
    const stroy = rowOf(ag, 'Минстрой Алтайского края')!;
    expect(stroy[h.indexOf('В работе')]).toBe(1);
    expect(stroy[h.indexOf('Просрочено')]).toBe(1);
    expect(stroy[h.indexOf('Нужны сотрудники')]).toBe('Нет');
    const blocks = values(w.wb.getWorksheet('Профильные блоки')!);
    // The open incident of the previous period still counts: backlog is what is open now.
    expect(rowOf(blocks, 'Транспорт')?.[1]).toBe(2);
    expect(rowOf(ag, 'Минтранс Алтайского края')?.[h.indexOf('В работе')]).toBe(2);
  });

  it('refuses an unknown format with 400 and the reason; JSON and CSV stay as they were', async () => {
    const bad = await get('/api/v1/analytics/slice?measure=incidents&format=pdf');
    expect(bad.statusCode).toBe(400);
    const body = bad.json() as { error: string; field: string; reason: string };
    expect(body.error).toBe('VALIDATION_FAILED');
    expect(body.field).toBe('format');
    expect(body.reason).toMatch(/json, csv, xlsx/);
    expect((await get('/api/v1/analytics/ratings?format=csv')).statusCode).toBe(400);
    expect((await get('/api/v1/analytics/workload?format=docx')).statusCode).toBe(400);
    const csv = await get('/api/v1/analytics/slice?measure=incidents&by=agency&format=csv');
    expect(csv.headers['content-type']).toContain('text/csv');
    expect(csv.body).toContain('mintrans;3;3');
    const json = await get('/api/v1/analytics/slice?measure=incidents&by=agency');
    expect(json.headers['content-type']).toContain('application/json');
  });
});
