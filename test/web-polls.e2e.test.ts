/**
 * The polls page in a real headless Chromium (Debian `chromium`, driven by playwright-core) against the real
 * app (PostgreSQL, Redis): the SMM specialist writes a poll and submits it (no approval button for her role);
 * the head of the center approves it only after a confirmation naming how many subscribers it goes to, and
 * sees the results change by themselves as votes come in, with the table by municipality; an analyst sees
 * everything read-only. A screenshot goes to test-artifacts/.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, logIn, screenshot, staffWithPassword } from './browser.ts';
import { startTestApp, type TestApp } from './helpers.ts';

describe('polls page in Chromium', () => {
  let t: TestApp;
  let browser: Browser;
  let page: Page;
  const authors: number[] = [];
  const QUESTION = 'Где открыть новый пункт проката велосипедов?';

  async function login(who: string) {
    await logIn(page, t, who, `${who}-password`);
    await page.getByTestId('nav-polls').click();
  }
  const queuedMessages = async () =>
    (
      await t.app.database.query<{ n: number }>(
        `select count(*)::int as n from outbound_messages where idempotency_key like 'poll:%'`,
        [],
      )
    )[0]!.n;

  beforeAll(async () => {
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
    for (const [login, role] of [
      ['smm.polls', 'smm'],
      ['head.polls', 'center_head'],
      ['analyst.polls', 'analyst'],
    ] as const)
      await staffWithPassword(t, { login, name: login, role, password: `${login}-password` });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('the SMM specialist writes and submits a poll; approving is not hers', async () => {
    await login('smm.polls');
    await page.getByText('Опросов пока нет').waitFor();
    await page.getByTestId('poll-new').click();
    await page.getByTestId('poll-question').fill(QUESTION);
    await page.getByTestId('poll-option-0').fill('В парке');
    await page.getByTestId('poll-option-1').fill('На набережной');
    await page.getByTestId('poll-add-option').click();
    await page.getByTestId('poll-option-2').fill('У вокзала');
    await page.getByTestId('poll-channel').selectOption('telegram');
    await page.getByText('Получат сейчас: 3 подписчиков').waitFor();
    await page.getByTestId('poll-save').click();

    await page.getByTestId('poll-detail').waitFor();
    expect(await page.getByTestId('poll-status').innerText()).toBe('Черновик');
    expect(await page.getByTestId('poll-audience-name').innerText()).toBe('все подписчики');
    await page.getByTestId('poll-submit').click();
    await page.getByText('Опрос отправлен на согласование.').waitFor();
    expect(await page.getByTestId('poll-status').innerText()).toBe('На согласовании');
    // Her role may not approve: no button (rather than a 403 after a click).
    expect(await page.getByTestId('poll-approve').count()).toBe(0);
    expect(await page.getByTestId('poll-cancel').count()).toBe(1);
    expect(await page.getByTestId('poll-read-only').count()).toBe(0);
  });

  it('the head approves only after a confirmation naming the audience, then sees the results as votes come in', async () => {
    await page.getByTestId('logout').click();
    await login('head.polls');
    await page.getByTestId('poll-row').filter({ hasText: QUESTION }).click();
    await page.getByTestId('poll-approve').click();
    // First the question, with the audience counted now; nothing is sent before the answer.
    const ask = page.getByTestId('poll-approve-confirm');
    await ask.waitFor();
    expect(await page.getByTestId('poll-approve-text').innerText()).toBe(
      'Опрос сразу уйдёт 3 подписчикам (все подписчики; Telegram). Отозвать отправленные сообщения будет нельзя.',
    );
    expect(await page.getByTestId('poll-approve-yes').innerText()).toBe(
      'Утвердить и отправить 3 подписчикам',
    );
    await screenshot(page, 'polls-approve-confirm');
    await page.getByTestId('poll-approve-no').click();
    await ask.waitFor({ state: 'detached' });
    expect(await page.getByTestId('poll-status').innerText()).toBe('На согласовании');
    expect(await queuedMessages()).toBe(0);

    await page.getByTestId('poll-approve').click();
    await page.getByTestId('poll-approve-yes').click();
    await page.getByText('Опрос утверждён и отправляется: получателей — 3.').waitFor();
    expect(await page.getByTestId('poll-status').innerText()).toBe('Идёт голосование');
    expect(await queuedMessages()).toBe(3);
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
    await screenshot(page, 'polls');
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
    expect(await page.getByTestId('discussion-publish').count()).toBe(1);
  });

  it('an analyst reads polls and discussions without buttons she may not press', async () => {
    await page.getByTestId('logout').click();
    await login('analyst.polls');
    await page.getByTestId('poll-row').filter({ hasText: QUESTION }).waitFor();
    expect(await page.getByTestId('poll-read-only').innerText()).toBe(
      'Только просмотр: ваша роль не позволяет создавать, утверждать и завершать опросы.',
    );
    expect(await page.getByTestId('poll-new').count()).toBe(0);
    await page.getByTestId('poll-row').filter({ hasText: QUESTION }).click();
    await page.getByTestId('poll-results').waitFor();
    for (const id of ['poll-submit', 'poll-approve', 'poll-close', 'poll-cancel'])
      expect(await page.getByTestId(id).count()).toBe(0);

    await page.getByTestId('tab-discussions').click();
    await page.getByTestId('discussion-row').first().click();
    await page.getByTestId('discussion-detail').waitFor();
    expect(await page.getByTestId('discussion-new').count()).toBe(0);
    expect(await page.getByTestId('discussion-publish').count()).toBe(0);
    expect(await page.getByTestId('discussion-close').count()).toBe(0);
  });
});
