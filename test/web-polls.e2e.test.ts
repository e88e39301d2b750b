/**
 * The polls page in a real headless Chromium (Debian `chromium`, driven by playwright-core) against the real
 * app (PostgreSQL, Redis): the head of the center writes a poll, submits and approves it (it goes to the
 * subscribers), and sees the results change by themselves as votes come in, with the table by
 * municipality. A screenshot goes to test-artifacts/.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startTestApp, type TestApp } from './helpers.ts';

const CHROMIUM =
  process.env.CHROMIUM_PATH ??
  ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
const ARTIFACTS = path.join(ROOT, 'test-artifacts');

describe('polls page in Chromium', () => {
  let t: TestApp;
  let browser: Browser;
  let page: Page;
  const authors: number[] = [];

  beforeAll(async () => {
    if (!CHROMIUM)
      throw new Error(
        'Chromium is needed for this test: sudo apt-get install chromium (or set CHROMIUM_PATH)',
      );
    t = await startTestApp({ roles: ['api'], listen: true });
    // Three Telegram subscribers of a bot: two in Бийск, one in Барнаул.
    await t.app.reference.upsertSource({
      id: 'telegram:700900900',
      platform: 'telegram',
      channelKind: 'messenger',
      name: 'Telegram-бот ЦУР',
    });
    for (const [id, muni] of [
      ['9801', 'biysk'],
      ['9802', 'biysk'],
      ['9803', 'barnaul'],
    ] as const) {
      const [a] = await t.app.database.query<{ id: number }>(
        `insert into authors (platform, external_id, name, consent_personal_data, consent_at, subscribed,
                              municipality, subscription_source, subscription_chat, subscribed_at)
         values ('telegram', $1, 'Житель', true, now(), true, $2, 'telegram:700900900', $1, now()) returning id`,
        [id, muni],
      );
      authors.push(Number(a!.id));
    }
    const head = await t.app.staff.create({
      login: 'head.polls',
      name: 'Руководитель ЦУР',
      grants: [{ role: 'center_head' }],
    });
    await t.app.auth.setPassword(head.id, 'head-password-2026');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
    page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    await page.goto(t.app.url!);
    await page.getByTestId('login').fill('head.polls');
    await page.getByTestId('password').fill('head-password-2026');
    await page.getByTestId('login-submit').click();
    await page.getByTestId('nav-polls').click();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('creates, submits and approves a poll, then shows the results as votes come in', async () => {
    await page.getByText('Опросов пока нет').waitFor();
    await page.getByTestId('poll-new').click();
    await page.getByTestId('poll-question').fill('Где открыть новый пункт проката велосипедов?');
    await page.getByTestId('poll-option-0').fill('В парке');
    await page.getByTestId('poll-option-1').fill('На набережной');
    await page.getByTestId('poll-add-option').click();
    await page.getByTestId('poll-option-2').fill('У вокзала');
    await page.getByTestId('poll-channel').selectOption('telegram');
    await page.getByText('Получат сейчас: 3 подписчиков').waitFor();
    await page.getByTestId('poll-save').click();

    await page.getByTestId('poll-detail').waitFor();
    expect(await page.getByTestId('poll-status').innerText()).toBe('Черновик');
    await page.getByTestId('poll-submit').click();
    await page.getByText('Опрос отправлен на согласование.').waitFor();
    expect(await page.getByTestId('poll-status').innerText()).toBe('На согласовании');
    await page.getByTestId('poll-approve').click();
    await page.getByText('Опрос утверждён и отправляется: получателей — 3.').waitFor();
    expect(await page.getByTestId('poll-status').innerText()).toBe('Идёт голосование');
    expect(await page.getByTestId('poll-total').innerText()).toBe('0');

    // Votes arrive (as the bots would store them); the page refreshes by itself.
    const [poll] = await t.app.database.query<{ id: number }>(
      `select id from polls order by id desc limit 1`,
      [],
    );
    const vote = (author: number, option: number, muni: string) =>
      t.app.database.query(
        `insert into poll_votes (poll_id, author_id, option, municipality) values ($1, $2, $3, $4)`,
        [poll!.id, author, option, muni],
      );
    await vote(authors[0]!, 1, 'biysk');
    await vote(authors[2]!, 1, 'barnaul');
    await expect.poll(() => page.getByTestId('poll-total').innerText(), { timeout: 15_000 }).toBe('2');
    expect(await page.getByTestId('poll-option-votes').allInnerTexts()).toEqual(['0', '2', '0']);
    await vote(authors[1]!, 0, 'biysk');
    await expect.poll(() => page.getByTestId('poll-total').innerText(), { timeout: 15_000 }).toBe('3');
    const munis = await page.getByTestId('poll-muni-row').allInnerTexts();
    expect(munis).toHaveLength(2);
    expect(munis[0]).toMatch(/^Бийск\s+2/);
    expect(munis[1]).toMatch(/^Барнаул\s+1/);
    expect(await page.getByTestId('poll-row').first().innerText()).toMatch(/Идёт голосование/);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'polls.png'), fullPage: true });
  });

  it('has a discussions tab', async () => {
    await page.getByTestId('tab-discussions').click();
    await page.getByText('Обсуждений пока нет').waitFor();
    await page.getByTestId('discussion-new').click();
    await page.getByTestId('discussion-editor').waitFor();
    // The bot is the place to publish: a Telegram channel is asked for.
    await page.getByTestId('discussion-chat').waitFor();
    // The places to publish arrive with the editor's own request.
    await page
      .locator('[data-testid="discussion-source"] option[value="telegram:700900900"]')
      .waitFor({ state: 'attached' });
    expect(await page.getByTestId('discussion-source').inputValue()).toBe('telegram:700900900');
    await page.getByTestId('discussion-title').fill('Парк у реки');
    await page.getByTestId('discussion-text').fill('Что сделать в парке у реки?');
    await page.getByTestId('discussion-chat').fill('@cur22_news');
    await page.getByTestId('discussion-save').click();
    await page.getByTestId('discussion-detail').waitFor();
    expect(await page.getByTestId('discussion-status').innerText()).toBe('Черновик');
    await page.getByText('Комментариев пока нет').waitFor();
  });
});
