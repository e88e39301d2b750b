/**
 * «Настройки → Персональные данные» in a real headless Chromium (Debian `chromium`, playwright-core) against
 * the real app and PostgreSQL: the technical administrator changes a retention period, finds a citizen by
 * their Telegram id, downloads everything stored about them and erases it after a confirmation; the head of
 * the center sees the periods but cannot handle citizens' requests.
 */
import fs from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, logIn, screenshot, staffWithPassword } from './browser.ts';
import { startTestApp, type TestApp } from './helpers.ts';

describe('personal data settings in Chromium', () => {
  let t: TestApp;
  let browser: Browser;
  let page: Page;
  let authorId: number;
  const q = <T>(sql: string, params: unknown[] = []) => t.app.database.query<T>(sql, params);

  beforeAll(async () => {
    t = await startTestApp({ roles: ['api'], listen: true });
    const [a] = await q<{ id: number }>(
      `insert into authors (platform, external_id, name, consent_personal_data)
       values ('telegram', '424242', 'Мария Иванова', true) returning id`,
    );
    authorId = Number(a!.id);
    await q(
      `insert into messages (source_id, external_id, author_id, text, posted_at, received_at, raw, sector, state)
       values ('api', 'pd-1', $1, 'Нет воды, звоните +7 913 000-11-22', now(), now(), '{}', 'housing', 'routed'),
              ('api', 'pd-2', $1, 'Воды так и нет', now(), now(), '{}', 'housing', 'routed')`,
      [authorId],
    );
    await staffWithPassword(t, {
      login: 'admin.pd',
      name: 'Технический администратор',
      role: 'tech_admin',
      password: 'admin-password-2026',
    });
    await staffWithPassword(t, {
      login: 'head.pd',
      name: 'Руководитель ЦУР',
      role: 'center_head',
      password: 'head-password-2026',
    });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  async function openAs(login: string, password: string) {
    page = await browser.newPage({ acceptDownloads: true, viewport: { width: 1360, height: 900 } });
    await logIn(page, t, login, password);
    await page.getByTestId('nav-settings').click();
    await page.getByTestId('settings-privacy').click();
    await page.getByTestId('privacy-retention').waitFor();
  }

  it('the tech administrator changes a retention period; a value out of range is refused in Russian', async () => {
    await openAs('admin.pd', 'admin-password-2026');
    const input = page.getByTestId('privacy-dialogRetentionDays');
    expect(await input.inputValue()).toBe('30');
    await input.fill('400');
    await page.getByTestId('privacy-save').click();
    await page.getByText(/целое число дней от 1 до 365/).waitFor();
    await input.fill('14');
    await page.getByTestId('privacy-save').click();
    await page.getByText('Сроки хранения сохранены.', { exact: false }).waitFor();
    const [s] = await q<{ value: { dialogRetentionDays: number } }>(
      `select value from settings where key = 'privacy'`,
    );
    expect(s!.value.dialogRetentionDays).toBe(14);
    const [audit] = await q<{ actor: string }>(
      `select actor from audit_log where action = 'settings.privacy.update' order by id desc limit 1`,
    );
    expect(audit!.actor).toBe('staff:admin.pd');
    // A retention pass on demand asks first: it cannot be undone.
    await page.getByTestId('privacy-run').click();
    expect(await page.getByTestId('privacy-run').innerText()).toBe('Подтвердите: обезличить сейчас');
    await page.getByTestId('privacy-run').click();
    await page.getByText(/Обработка выполнена\. Обезличено: ничего\./).waitFor();
  });

  it('finds the citizen by their Telegram id, downloads their data, erases it after a confirmation', async () => {
    await page.getByTestId('privacy-external-id').fill('424242');
    await page.getByTestId('privacy-search').getByRole('button', { name: 'Найти' }).click();
    const row = page.getByTestId('privacy-citizen');
    await row.waitFor();
    expect(await row.innerText()).toMatch(/Telegram 424242\s+Мария Иванова\s+2/);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId('privacy-export').click(),
    ]);
    expect(download.suggestedFilename()).toBe(`otklik-citizen-${authorId}.json`);
    const data = JSON.parse(fs.readFileSync(await download.path(), 'utf8')) as {
      profile: { name: string };
      messages: { text: string }[];
    };
    expect(data.profile.name).toBe('Мария Иванова');
    expect(data.messages.map((m) => m.text).sort()).toEqual([
      'Воды так и нет',
      'Нет воды, звоните +7 913 000-11-22',
    ]);

    await page.getByTestId('privacy-erase').click(); // asks first
    expect(await q(`select 1 from authors where id = $1 and anonymized_at is null`, [authorId])).toHaveLength(
      1,
    );
    await page.getByTestId('privacy-erase-confirm').click();
    await page.getByText(/Данные гражданина удалены: сообщений — 2/).waitFor();
    await page
      .getByTestId('privacy-state')
      .filter({ hasText: /Обезличен .*удалено по запросу/ })
      .waitFor();
    const texts = await q<{ text: string }>(`select text from messages where author_id = $1`, [authorId]);
    expect(texts.every((m) => !/913|воды/i.test(m.text))).toBe(true);
    const [a] = await q<{ name: string | null; external_id: string }>(
      `select name, external_id from authors where id = $1`,
      [authorId],
    );
    expect(a!.name).toBeNull();
    expect(a!.external_id).not.toBe('424242');
    await screenshot(page, 'privacy');
    await page.close();
  });

  it('a renamed agency shows under its new name on the other settings pages without a reload', async () => {
    page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    await logIn(page, t, 'admin.pd', 'admin-password-2026');
    await page.getByTestId('nav-settings').click();
    await page.getByTestId('settings-agencies').click();
    const row = page.locator('[data-testid="settings-row"][data-id="minzdrav"]');
    await row.waitFor();
    await row.locator('input').nth(1).fill('Минздрав (переименован)');
    await row.getByTestId('row-save').click();
    await expect
      .poll(
        async () =>
          (await q<{ short_name: string }>(`select short_name from agencies where id = 'minzdrav'`))[0]!
            .short_name,
      )
      .toBe('Минздрав (переименован)');
    await page.getByTestId('settings-routing').click();
    await page
      .locator('select option', { hasText: 'Минздрав (переименован)' })
      .first()
      .waitFor({ state: 'attached' });
    await page.close();
  });

  it('the head of the center sees the periods but not citizens’ requests', async () => {
    await openAs('head.pd', 'head-password-2026');
    expect(await page.getByTestId('privacy-dialogRetentionDays').inputValue()).toBe('14');
    await page.getByTestId('privacy-external-id').fill('424242');
    await page.getByTestId('privacy-search').getByRole('button', { name: 'Найти' }).click();
    await page.getByTestId('privacy-forbidden').waitFor();
    expect(await page.getByTestId('privacy-citizen').count()).toBe(0);
    await page.close();
  });
});
