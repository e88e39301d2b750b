/**
 * The analytics page of the workspace end to end in a real headless Chromium (Debian `chromium`, driven by
 * playwright-core) against the real API on a known data set (test/analytics-fixtures.ts): an analyst picks
 * a measure, two dimensions and filters, reads the SVG chart (bars, stacked bars, lines) and the pivot
 * table, reloads the bookmarked address, downloads the XLSX and the CSV of what is shown, then opens the
 * agency ratings (rank, change, the breakdown of a score) and the workload (the staffing flag).
 * Screenshots go to test-artifacts/.
 */
import fs from 'node:fs';
import ExcelJS from 'exceljs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedAnalytics } from './analytics-fixtures.ts';
import { launchChromium, logIn, screenshot, staffWithPassword } from './browser.ts';
import { startTestApp, waitFor, type TestApp } from './helpers.ts';

describe('analytics page in Chromium', () => {
  let t: TestApp;
  let browser: Browser;
  let page: Page;

  const shot = (name: string) => screenshot(page, name);

  /** Waits until `fn` (run in the test, reading the page) gives a truthy value. */
  const until = <T>(fn: () => Promise<T | undefined | null | false>, what: string) =>
    waitFor(fn, { timeoutMs: 15_000, intervalMs: 150, what });

  /** The pivot table as texts: one array per body row (row heads, cells, total). */
  const pivotRows = () =>
    page
      .getByTestId('pivot-row')
      .evaluateAll((rows) => rows.map((r) => [...r.children].map((c) => c.textContent?.trim() ?? '')));

  const check = async (dimension: string, ...values: string[]) => {
    const box = page.getByTestId(`slice-filter-${dimension}`);
    await box.locator('summary').click();
    for (const v of values) {
      await page.locator(`[data-testid="slice-filter-${dimension}-option"][value="${v}"]`).check();
      await until(async () => page.url().includes(v), `the filter ${v} in the address`);
    }
    await box.locator('summary').click();
  };

  beforeAll(async () => {
    t = await startTestApp({ roles: ['api'], listen: true });
    await seedAnalytics(t, { growth: true });
    await staffWithPassword(t, {
      login: 'analyst.web',
      name: 'Ирина Аналитик',
      role: 'analyst',
      password: 'analyst-password-2026',
    });
    browser = await launchChromium();
    page = await browser.newPage({
      viewport: { width: 1400, height: 900 },
      locale: 'ru-RU',
      timezoneId: 'Asia/Barnaul',
      acceptDownloads: true,
    });
    await logIn(page, t, 'analyst.web', 'analyst-password-2026');
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('slices: measure, two dimensions and filters give the right chart and pivot; the view is bookmarkable', async () => {
    await page.getByTestId('nav-analytics').click();
    await page.getByTestId('slices').waitFor();
    await page.getByTestId('slice-measure').selectOption('incidents');
    await page.getByTestId('slice-dim1').selectOption('sector');
    await page.getByTestId('slice-dim2').selectOption('municipality');
    // The education incidents (no municipality) are left out by the sector filter.
    await check('sector', 'transport', 'housing', 'amenities');

    // Three sectors along the axis, two municipalities as series: six bars (ЖКХ in Бийск is a 0 bar).
    await until(async () => (await page.getByTestId('chart-bar').count()) === 6, 'six bars');
    expect(await page.getByTestId('chart').getAttribute('data-kind')).toBe('bar');
    expect(await page.getByTestId('chart-legend-item').allTextContents()).toEqual(['Барнаул', 'Бийск']);
    expect(await page.getByTestId('pivot-col').allTextContents()).toEqual(['Барнаул', 'Бийск']);
    expect(await pivotRows()).toEqual([
      ['Транспорт', '1', '2', '3'],
      ['Благоустройство', '1', '1', '2'],
      ['ЖКХ', '2', '0', '2'],
    ]);
    expect(await page.getByTestId('pivot-total-row').locator('th').allTextContents()).toEqual([
      'Итого',
      '4',
      '3',
      '7',
    ]);
    const bar = page.locator('[data-testid="chart-bar"][data-category="Транспорт"][data-series="Бийск"]');
    expect(await bar.getAttribute('data-value')).toBe('2');
    expect(await bar.locator('title').textContent()).toBe('Транспорт · Бийск: 2');
    await shot('10-analytics-bars');

    // The address holds the view: a reload shows the same table.
    const url = page.url();
    expect(url).toContain('#/analytics/slices?');
    expect(decodeURIComponent(url)).toContain('by=sector,municipality');
    await page.reload();
    await until(
      async () => (await pivotRows()).length === 3 && (await pivotRows())[0]![0] === 'Транспорт',
      'the table after reload',
    );
    expect((await pivotRows())[2]).toEqual(['ЖКХ', '2', '0', '2']);

    await page.getByTestId('chart-kind-stacked').click();
    await until(
      async () => (await page.getByTestId('chart').getAttribute('data-kind')) === 'stacked',
      'stacked',
    );
    expect(await page.getByTestId('chart-bar').count()).toBe(6);
    // Stacked: the Бийск part of «Транспорт» sits on top of the Барнаул part.
    const seg = async (series: string) => {
      const r = page.locator(`[data-testid="chart-bar"][data-category="Транспорт"][data-series="${series}"]`);
      return { y: Number(await r.getAttribute('y')), h: Number(await r.getAttribute('height')) };
    };
    const [low, high] = [await seg('Барнаул'), await seg('Бийск')];
    expect(high.y + high.h).toBeCloseTo(low.y, 3);
    expect(high.h).toBeCloseTo(low.h * 2, 3);
    await shot('11-analytics-stacked');

    await page.getByTestId('chart-kind-line').click();
    await until(async () => (await page.getByTestId('chart-line').count()) === 2, 'two lines');
    expect(await page.getByTestId('chart-point').count()).toBe(6);
    expect(page.url()).toContain('chart=line');
    await shot('12-analytics-lines');

    // By week: weeks along the axis (every week of the range, with data or not), a line per sector and
    // municipality that has incidents; the table keeps the same total.
    await page.getByTestId('slice-period').selectOption('week');
    await until(async () => (await page.getByTestId('chart-line').count()) === 5, 'five lines by week');
    const weeks = await page.getByTestId('pivot-col').allTextContents();
    expect(weeks.length).toBeGreaterThanOrEqual(5);
    expect(weeks.every((w) => /^нед\. с \d{2}\.\d{2}\.\d{4}$/.test(w))).toBe(true);
    expect(await page.getByTestId('pivot-row').count()).toBe(5);
    expect((await page.getByTestId('pivot-total-row').locator('th').allTextContents()).at(-1)).toBe('7');
    expect(await page.getByTestId('chart-point').count()).toBe(5 * weeks.length);
    await shot('13-analytics-weeks');
    // Back to the view the download test expects.
    await page.getByTestId('slice-period').selectOption('');
    await until(async () => (await page.getByTestId('pivot-row').count()) === 3, 'the view without periods');
  });

  it('downloads the XLSX and the CSV of what is shown', async () => {
    const [xlsx] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId('download-xlsx').click(),
    ]);
    expect(xlsx.suggestedFilename()).toMatch(/\.xlsx$/);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile((await xlsx.path())!);
    const ws = wb.getWorksheet('Сводная')!;
    const rows: unknown[][] = [];
    ws.eachRow((r) => rows.push((r.values as unknown[]).slice(1)));
    expect(rows.find((r) => r[0] === 'Транспорт')?.slice(0, 4)).toEqual(['Транспорт', 1, 2, 3]);
    expect(String(rows.find((r) => r[0] === 'Фильтры')?.[1])).toBe(
      'Профильный блок: Транспорт, ЖКХ, Благоустройство',
    );
    expect(rows.find((r) => r[0] === 'Итого')?.slice(0, 4)).toEqual(['Итого', 4, 3, 7]);

    const [csv] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId('download-csv').click(),
    ]);
    const text = fs.readFileSync((await csv.path())!, 'utf8');
    expect(text).toContain('sector;municipality;incidents;n');
    expect(text).toContain('transport;biysk;2;2');
    expect(text).not.toContain('education');
  });

  it('ratings: regional bodies ranked with the change and the breakdown of a score', async () => {
    await page.getByTestId('tab-ratings').click();
    const row = page.locator(
      '[data-testid="rating-level-regional"] [data-testid="rating-row"][data-agency="mintrans"]',
    );
    await row.waitFor({ timeout: 15_000 });
    expect(await row.getAttribute('data-rank')).toBe('1');
    expect(await row.getByTestId('rating-change').textContent()).toBe('▲ +1');
    // Минобрнауки had no incidents the period before.
    const obr = page.locator('[data-testid="rating-row"][data-agency="minobr"]');
    expect(await obr.getByTestId('rating-change').textContent()).toBe('новое');
    const stroy = page.locator('[data-testid="rating-row"][data-agency="minstroy"]');
    expect(await stroy.getByTestId('rating-change').textContent()).toMatch(/^▼ −\d$/);
    // Municipalities are rated separately.
    expect(
      await page.locator('[data-testid="rating-level-municipal"] [data-testid="rating-row"]').count(),
    ).toBe(2);
    expect(await page.getByTestId('rating-weight').count()).toBe(7);

    await row.getByTestId('rating-expand').click();
    const breakdown = page.getByTestId('rating-breakdown');
    await breakdown.waitFor();
    expect(await breakdown.getByTestId('breakdown-row').count()).toBe(7);
    const points = (await breakdown.getByTestId('breakdown-points').allTextContents()).map((p) =>
      Number(p.replace(',', '.')),
    );
    const score = Number((await row.getByTestId('rating-score').textContent())!.replace(',', '.'));
    expect(points.reduce((a, b) => a + b, 0)).toBeCloseTo(score, 0);
    await shot('14-analytics-ratings');
  });

  it('workload: the agency whose backlog grows every day is flagged', async () => {
    await page.getByTestId('tab-workload').click();
    const obr = page.locator(
      '[data-testid="workload-agencies"] [data-testid="workload-row"][data-key="minobr"]',
    );
    await obr.waitFor({ timeout: 15_000 });
    expect(await obr.getAttribute('data-flag')).toBe('true');
    expect(await obr.getByTestId('staffing-flag').textContent()).toBe('Нужны сотрудники');
    expect(await obr.getByTestId('workload-backlog').textContent()).toBe('6');
    const stroy = page.locator(
      '[data-testid="workload-agencies"] [data-testid="workload-row"][data-key="minstroy"]',
    );
    expect(await stroy.getAttribute('data-flag')).toBe('false');
    expect(await stroy.getByTestId('workload-overdue').textContent()).toBe('1');
    expect(await stroy.getByTestId('staffing-flag').count()).toBe(0);
    await shot('15-analytics-workload');
    expect(await page.locator('body').innerText()).not.toContain('Internal error');
  });
});
