/**
 * The problem map and the top problems in a real headless Chromium (Debian `chromium`, driven by
 * playwright-core) against the real app on PostgreSQL: an analyst opens «Карта проблем», sees all 69
 * municipalities with the seeded one darkest and its value in the tooltip, clicks it and lands in the inbox
 * filtered by it; the recurring problem seeded at one address is listed with its rising trend. Screenshots
 * go to test-artifacts/.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, logIn, screenshot as shot, staffWithPassword } from './browser.ts';
import { startTestApp, type TestApp } from './helpers.ts';
const DAY_MS = 86_400_000;

describe('problem map and top problems in Chromium', () => {
  let t: TestApp;
  let browser: Browser;
  const ids: number[] = [];

  async function insert(o: {
    daysAgo: number;
    municipality: string;
    address?: string;
    terms?: string[];
    summary: string;
    overdue?: boolean;
  }) {
    const created = new Date(Date.now() - o.daysAgo * DAY_MS);
    const due = new Date(o.overdue ? created.getTime() + DAY_MS : Date.now() + 10 * DAY_MS);
    const [row] = await t.app.database.query<{ id: number }>(
      `insert into incidents (status, sector, municipality, agency_id, address, summary, terms, channel_kind,
                              message_count, author_count, first_message_at, last_message_at,
                              first_response_due, resolution_due, created_at)
       values ('assigned', 'housing', $1, 'minstroy', $2, $3, $4::jsonb, 'messenger', 1, 1, $5, $5, $5, $6, $5)
       returning id`,
      [
        o.municipality,
        o.address ?? null,
        o.summary,
        JSON.stringify(o.terms ?? []),
        created.toISOString(),
        due.toISOString(),
      ],
    );
    ids.push(row!.id);
  }

  beforeAll(async () => {
    t = await startTestApp({ roles: ['api'], listen: true });
    // Яровое (17,200 residents): five incidents in the last 30 days, three of them at one address (which
    // had one incident the month before) — by far the highest rate per 10,000 residents.
    for (const [daysAgo, address] of [
      [20, 'ул. Мира, 12'],
      [12, 'улица Мира, д. 12'],
      [3, 'ул. Мира, 12'],
    ] as const)
      await insert({
        daysAgo,
        municipality: 'yarovoye',
        address,
        terms: ['подвал', 'затоп', 'мир'],
        summary: 'Затоплен подвал дома на ул. Мира, 12',
        overdue: daysAgo > 10,
      });
    await insert({
      daysAgo: 8,
      municipality: 'yarovoye',
      summary: 'Нет отопления в школе',
      terms: ['отоплен'],
    });
    await insert({ daysAgo: 5, municipality: 'yarovoye', summary: 'Не вывозят мусор', terms: ['мусор'] });
    await insert({
      daysAgo: 45,
      municipality: 'yarovoye',
      address: 'ул. Мира, 12',
      summary: 'Подвал снова в воде',
      terms: ['подвал', 'вод'],
    });
    // Барнаул (626,000) and Бийск (195,500): a little, for contrast.
    await insert({ daysAgo: 4, municipality: 'barnaul', summary: 'Яма во дворе', terms: ['ям', 'двор'] });
    await insert({ daysAgo: 6, municipality: 'biysk', summary: 'Не горит фонарь', terms: ['фонар'] });

    await staffWithPassword(t, {
      login: 'analyst.web',
      name: 'Ольга Аналитик',
      role: 'analyst',
      password: 'analyst-password-2026',
    });
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('shows the map of 69 municipalities; the seeded one is darkest, tells its value and opens the inbox filtered by it', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await logIn(page, t, 'analyst.web', 'analyst-password-2026');
    await page.getByTestId('nav-problems').click();
    const tiles = page.getByTestId('map-tile');
    await page.getByTestId('problem-map').waitFor({ timeout: 15_000 });
    expect(await tiles.count()).toBe(69);

    // Every tile's shade and fill: Яровое alone at the dark end.
    const shades = await tiles.evaluateAll((els) =>
      els.map((el) => {
        const fill = el.querySelector('polygon')?.getAttribute('fill') ?? '';
        const [r, g, b] = (fill.match(/\d+/g) ?? []).map(Number) as [number, number, number];
        return {
          code: el.getAttribute('data-code'),
          shade: Number(el.getAttribute('data-shade')),
          luminance: 0.2126 * r + 0.7152 * g + 0.0722 * b,
        };
      }),
    );
    const darkest = [...shades].sort((a, b) => a.luminance - b.luminance);
    expect(darkest[0]).toMatchObject({ code: 'yarovoye', shade: 1 });
    expect(darkest[1]!.luminance).toBeGreaterThan(darkest[0]!.luminance + 50);
    expect(shades.filter((s) => s.shade === 1)).toHaveLength(1);

    // The tooltip: 5 incidents per 17,200 residents = 2,91 per 10,000.
    const yarovoye = page.locator('[data-testid="map-tile"][data-code="yarovoye"]');
    await yarovoye.hover();
    const tooltip = page.getByTestId('map-tooltip');
    await tooltip.waitFor();
    const expected = new Intl.NumberFormat('ru-RU', { maximumFractionDigits: 2 }).format(
      (5 * 10_000) / 17_200,
    );
    expect(expected).toBe('2,91');
    expect(await page.getByTestId('map-tooltip-value').innerText()).toBe(expected);
    expect(await tooltip.innerText()).toContain('Яровое');
    expect(await tooltip.innerText()).toMatch(/Инцидентов: 5, просрочено: 2/);
    await shot(page, 'problems-01-map');

    // The same numbers in the table below, Яровое first.
    const mapRows = page.getByTestId('map-row');
    expect(await mapRows.evaluateAll((els) => els.map((e) => e.getAttribute('data-code')))).toEqual([
      'yarovoye',
      'biysk',
      'barnaul',
    ]);
    await page.getByTestId('map-table-all').click();
    expect(await mapRows.count()).toBe(69);

    // The share overdue: 2 of 5.
    await page.getByTestId('problems-measure').selectOption('overdue_share');
    await expect.poll(() => new URL(page.url()).hash).toContain('measure=overdue_share');
    await page
      .locator('[data-testid="map-tile"][data-code="yarovoye"][data-value="0.4"]')
      .waitFor({ timeout: 10_000 });
    await yarovoye.hover();
    await page.getByTestId('map-tooltip').waitFor();
    expect(await page.getByTestId('map-tooltip-value').innerText()).toBe(
      new Intl.NumberFormat('ru-RU', { style: 'percent', maximumFractionDigits: 1 }).format(0.4),
    );
    await shot(page, 'problems-02-overdue');

    // A click: the inbox filtered by the municipality and the map's period (30 days) — the five incidents the
    // map counted, not the one of 45 days ago.
    await yarovoye.click();
    await expect
      .poll(() => new URL(page.url()).hash)
      .toMatch(/^#\/incidents\?municipality=yarovoye&from=.+&to=.+$/);
    expect(await page.getByTestId('filter-municipality').inputValue()).toBe('yarovoye');
    await page.getByTestId('inbox-total').filter({ hasText: 'Всего: 5' }).waitFor({ timeout: 10_000 });
    const rows = page.getByTestId('incident-row');
    expect(await rows.count()).toBe(5);
    for (const text of await rows.allInnerTexts()) expect(text).toContain('Яровое');
    expect(await page.getByTestId('filter-period').innerText()).toMatch(
      /Созданы: \d{2}\.\d{2}\.\d{4} – \d{2}\.\d{2}\.\d{4}/,
    );
    await shot(page, 'problems-03-inbox');
    // Without the period: all six.
    await page.getByTestId('filter-period').getByRole('button').click();
    await page.getByTestId('inbox-total').filter({ hasText: 'Всего: 6' }).waitFor({ timeout: 10_000 });
    await page.close();
  });

  it('lists the recurring problem at one address with its rising trend, sparkline and incidents', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await logIn(page, t, 'analyst.web', 'analyst-password-2026');
    await page.getByTestId('nav-problems').click();
    const row = page.getByTestId('problem-row').filter({ hasText: 'Мира' });
    await row.waitFor({ timeout: 15_000 });
    expect(await page.getByTestId('problem-row').count()).toBe(1);
    expect(await row.getAttribute('data-trend')).toBe('up');
    expect(await row.getAttribute('data-kind')).toBe('object');
    expect(await row.getByTestId('problem-trend').innerText()).toContain('растёт');
    expect(await row.getByTestId('problem-title').innerText()).toBe('ул. Мира, 12');
    expect(await row.innerText()).toContain('Яровое');
    expect(await row.getByTestId('problem-sparkline').locator('polyline').count()).toBe(1);
    const links = row.getByTestId('problem-incident');
    expect(await links.count()).toBe(3);
    expect(await links.evaluateAll((els) => els.map((e) => e.getAttribute('href')))).toEqual(
      ids.slice(0, 3).map((id) => `#/incidents/${id}`),
    );
    await page.getByTestId('top-problems').scrollIntoViewIfNeeded();
    await shot(page, 'problems-04-top');
    await links.first().click();
    await expect.poll(() => new URL(page.url()).hash).toBe(`#/incidents/${ids[0]}`);
    await page.close();
  });
});
