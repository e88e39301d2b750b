/**
 * The reports page in a real headless Chromium (Debian `chromium`, driven by playwright-core) against the
 * real app (PostgreSQL, Redis, BullMQ workers): the head of the center sees last week's key figures,
 * downloads the PDF, sets the chat for the weekly posting, makes and posts a report now and finds it in the
 * archive. A screenshot goes to test-artifacts/.
 */
import fs from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { weekStart } from '../src/responders/report.ts';
import { launchChromium, logIn, screenshot, staffWithPassword } from './browser.ts';
import { startTestApp, type TestApp } from './helpers.ts';

describe('reports page in Chromium', () => {
  let t: TestApp;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    t = await startTestApp({ roles: ['api'], listen: true });
    // Last week: two road incidents in Biysk, one of them still open past its deadline.
    const from = new Date(weekStart(new Date()).getTime() - 7 * 86_400_000);
    for (const [day, status, dueDays] of [
      [1, 'assigned', 2],
      [2, 'in_progress', 30],
    ] as const) {
      const created = new Date(from.getTime() + day * 86_400_000);
      await t.app.database.query(
        `insert into incidents (status, sector, municipality, agency_id, summary, channel_kind, message_count, author_count,
                                negative_count, first_message_at, last_message_at, first_response_due, resolution_due, created_at)
         values ($1, 'roads', 'biysk', 'mintrans', 'Яма', 'api', 1, 1, 1, $2, $2, $2, $3, $2)`,
        [status, created, new Date(created.getTime() + dueDays * 86_400_000)],
      );
    }
    await staffWithPassword(t, {
      login: 'head.reports',
      name: 'Руководитель ЦУР',
      role: 'center_head',
      password: 'head-password-2026',
    });
    browser = await launchChromium();
    page = await browser.newPage({ acceptDownloads: true, viewport: { width: 1360, height: 900 } });
    await logIn(page, t, 'head.reports', 'head-password-2026');
    await page.getByTestId('nav-reports').click();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('shows last week’s figures and downloads the PDF', async () => {
    await page.getByTestId('figure-incidents').waitFor();
    expect(await page.getByTestId('figure-incidents').innerText()).toMatch(/Новых инцидентов\s*2\s*было 0/);
    expect(await page.getByTestId('figure-overdue').innerText()).toMatch(/Просрочено на конец недели\s*1/);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId('report-pdf').click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^doklad-\d{4}-\d{2}-\d{2}\.pdf$/);
    const file = await download.path();
    expect(fs.readFileSync(file).subarray(0, 5).toString()).toBe('%PDF-');
  });

  it('sets the chat, makes and posts a report now, and lists it in the archive', async () => {
    await page.getByTestId('report-chats').fill('-1009500001');
    await page.getByTestId('report-settings-save').click();
    await page.getByText('Сохранено: рассылка включена.').waitFor();
    const st = await t.app.database.query<{ value: { chatIds: string[] } }>(
      `select value from settings where key = 'reports'`,
      [],
    );
    expect(st[0]!.value.chatIds).toEqual(['-1009500001']);
    await page.getByTestId('report-make').click();
    // No staff bot in this app: the report is stored and the page says nothing was posted.
    await page.getByText('Доклад сформирован; бот сотрудников не настроен, рассылки не было.').waitFor();
    await page.getByTestId('report-row').first().waitFor();
    expect(await page.getByTestId('report-row').first().innerText()).toMatch(
      /вручную \(staff:head\.reports\)/,
    );
    await screenshot(page, 'reports');
  });
});
