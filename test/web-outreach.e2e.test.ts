/**
 * The outreach page in a real headless Chromium (Debian `chromium`, driven by playwright-core) against the
 * real app (PostgreSQL, Redis): an SMM specialist builds the segment «Бийск, Транспорт» watching its live
 * count, writes a campaign with formatting and a link button and sees the preview, sends it for approval;
 * the head of the center approves it, pauses and resumes it. Screenshots go to test-artifacts/.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, logIn, screenshot, staffWithPassword } from './browser.ts';
import { startTestApp, type TestApp } from './helpers.ts';

describe('outreach page in Chromium', () => {
  let t: TestApp;
  let browser: Browser;
  let page: Page;

  async function login(who: string, password: string) {
    await logIn(page, t, who, password);
    await page.getByTestId('nav-outreach').click();
  }

  beforeAll(async () => {
    t = await startTestApp({ roles: ['api'], listen: true });
    await t.app.reference.upsertSource({
      id: 'telegram:700',
      platform: 'telegram',
      channelKind: 'messenger',
      name: 'Telegram-бот ЦУР',
    });
    // Subscribers as the bots store them: three in Biysk about transport, one about roads, one in Barnaul.
    for (const [id, topics, municipality] of [
      [1, ['roads'], 'biysk'],
      [2, ['transport'], 'biysk'],
      [3, ['transport'], 'biysk'],
      [4, ['transport', 'health'], 'biysk'],
      [5, ['transport'], 'barnaul'],
    ] as const)
      await t.app.database.query(
        `insert into authors (platform, external_id, consent_personal_data, subscribed, subscription_topics,
                              municipality, subscription_source, subscription_chat, subscribed_at)
         values ('telegram', $1, true, true, $2::jsonb, $3, 'telegram:700', $1, now())`,
        [String(id), JSON.stringify(topics), municipality],
      );
    for (const [login, role] of [
      ['smm.outreach', 'smm'],
      ['head.outreach', 'center_head'],
    ] as const)
      await staffWithPassword(t, { login, name: login, role, password: `${login}-password` });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    page.on('dialog', (d) => void d.accept());
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('builds a segment with its live count, writes a campaign with a preview and sends it for approval', async () => {
    await login('smm.outreach', 'smm.outreach-password');
    await page.getByTestId('outreach-segments').click();
    await page.getByTestId('segment-new').click();
    await page.getByTestId('segment-name').fill('Бийск, Транспорт');
    await page.getByTestId('segment-count').filter({ hasText: /^5 / }).waitFor();
    await page.getByTestId('segment-municipality').selectOption('biysk');
    await page.getByTestId('segment-count').filter({ hasText: /^4 / }).waitFor();
    await page.getByTestId('segment-topic-transport').check();
    await page
      .getByTestId('segment-count')
      .filter({ hasText: /^3 \(Telegram 3, ВКонтакте 0\)/ })
      .waitFor();
    await page.getByTestId('segment-save').click();
    await page.getByTestId('segment-row').filter({ hasText: 'Бийск, Транспорт' }).waitFor();
    expect(await page.getByTestId('segment-row-count').first().innerText()).toMatch(/^3 /);

    await page.getByTestId('outreach-campaigns').click();
    await page.getByTestId('campaign-new').click();
    await page.getByTestId('campaign-title').fill('Автобус № 12');
    await page
      .getByTestId('campaign-text')
      .fill('<b>С 1 декабря</b> автобус № 12 ходит <i>каждые 10 минут</i>.');
    await page.getByTestId('campaign-button-add').click();
    await page.getByTestId('campaign-button-text-0').fill('Расписание');
    await page.getByTestId('campaign-button-url-0').fill('https://www.altairegion22.ru/news');
    await page.getByTestId('campaign-segment').selectOption({ label: 'Бийск, Транспорт (3)' });
    // The preview shows the formatting as Telegram will, never the tags.
    expect(await page.getByTestId('preview-telegram').innerHTML()).toContain('<b>С 1 декабря</b>');
    expect(await page.getByTestId('preview-telegram').innerText()).not.toContain('<b>');
    await page.getByTestId('campaign-text').fill('<b>С 1 декабря автобус');
    await page.getByTestId('campaign-text-errors').filter({ hasText: 'Тег <b> не закрыт' }).waitFor();
    await page
      .getByTestId('campaign-text')
      .fill('<b>С 1 декабря</b> автобус № 12 ходит <i>каждые 10 минут</i>.');
    await page.getByTestId('campaign-submit').click();
    await page.getByTestId('panel-status').filter({ hasText: 'На согласовании' }).waitFor();
    expect(await page.getByTestId('campaign-audience').innerText()).toBe('3');
    // SMM may not approve.
    expect(await page.getByTestId('campaign-approve').count()).toBe(0);
    await page.getByTestId('campaign-row').first().waitFor();
    await screenshot(page, 'outreach-campaign');
  });

  it('the head of the center approves, pauses and resumes the campaign', async () => {
    await page.getByTestId('logout').click();
    await login('head.outreach', 'head.outreach-password');
    await page.getByTestId('campaign-row').filter({ hasText: 'Автобус № 12' }).click();
    await page.getByTestId('campaign-approve').click();
    await page.getByTestId('panel-status').filter({ hasText: 'Согласована' }).waitFor();
    await page.getByTestId('campaign-pause').click();
    await page.getByTestId('panel-status').filter({ hasText: 'Приостановлена' }).waitFor();
    await page.getByTestId('campaign-resume').click();
    await page.getByTestId('panel-status').filter({ hasText: 'Согласована' }).waitFor();
    const [c] = await t.app.database.query<{ status: string; approved_by: string; created_by: string }>(
      `select status, approved_by, created_by from campaigns`,
      [],
    );
    expect(c).toEqual({
      status: 'approved',
      approved_by: 'staff:head.outreach',
      created_by: 'staff:smm.outreach',
    });
    await screenshot(page, 'outreach-approved');
  });
});
