/**
 * The outreach page in a real headless Chromium (Debian `chromium`, driven by playwright-core) against the
 * real app (PostgreSQL, Redis): an SMM specialist builds the segment «Бийск, Транспорт» watching its live
 * count, writes a campaign with formatting and a link button and sees the preview, sends it for approval;
 * a segment without rules is called «все подписчики» and saved only after a confirmation; the rules of a
 * segment a campaign waiting for approval uses cannot be changed (the reason in Russian); the head of the
 * center approves after a confirmation naming the audience, pauses and resumes it. Screenshots go to
 * test-artifacts/.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, logIn, screenshot, staffWithPassword } from './browser.ts';
import { startTestApp, type TestApp } from './helpers.ts';

describe('outreach page in Chromium', () => {
  let t: TestApp;
  let browser: Browser;
  let page: Page;
  /** The texts of the browser's confirmation dialogs (each is accepted). */
  const dialogs: string[] = [];

  /** The row of the segment named exactly `name`. */
  const segmentRow = (name: string) =>
    page.getByTestId('segment-row').filter({ has: page.getByRole('cell', { name, exact: true }) });

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
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.accept();
    });
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
    expect(await page.getByTestId('campaign-segment-rules').innerText()).toBe(
      'Кому: сегмент «Бийск, Транспорт»: Бийск · Транспорт',
    );
    await page.getByTestId('campaign-submit').click();
    await page.getByTestId('panel-status').filter({ hasText: 'На согласовании' }).waitFor();
    expect(await page.getByTestId('campaign-audience').innerText()).toBe('3');
    // SMM may not approve.
    expect(await page.getByTestId('campaign-approve').count()).toBe(0);
    await page.getByTestId('campaign-row').first().waitFor();
    await screenshot(page, 'outreach-campaign');
  });

  it('a segment without rules is «все подписчики», confirmed; a segment in an approval keeps its rules', async () => {
    await page.getByTestId('outreach-segments').click();
    await page.getByTestId('segment-new').click();
    await page.getByTestId('segment-name').fill('Все');
    await page.getByTestId('segment-all').filter({ hasText: 'правил нет: все подписчики' }).waitFor();
    await page.getByTestId('segment-count').filter({ hasText: /^5 / }).waitFor();
    await page.getByTestId('segment-save').click();
    // Not saved yet: first the question, naming everyone.
    const ask = page.getByTestId('segment-all-confirm');
    await ask.waitFor();
    expect(await ask.innerText()).toContain(
      'В сегменте нет ни одного правила: рассылки и опросы по нему получат все подписчики (5 (Telegram 5, ВКонтакте 0)). Сохранить такой сегмент?',
    );
    const saved = () =>
      t.app.database.query<{ id: number }>(`select id from segments where name = 'Все'`, []);
    expect(await saved()).toHaveLength(0);
    await page.getByTestId('segment-all-yes').click();
    const all = segmentRow('Все');
    await all.waitFor();
    expect(await all.innerText()).toContain('все подписчики');

    // The segment of the campaign waiting for approval: its rules are frozen, said before any edit.
    await segmentRow('Бийск, Транспорт').getByRole('button', { name: 'Изменить' }).click();
    await page
      .getByTestId('notice')
      .filter({
        hasText: 'Правила сегмента сейчас менять нельзя: по нему рассылка «Автобус № 12» (на согласовании).',
      })
      .waitFor();
    expect(await page.getByTestId('segment-topic-health').isDisabled()).toBe(true);
    expect(await page.getByTestId('segment-municipality').isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Закрыть' }).click();

    // A campaign goes for approval while the editor is open: saving is refused, the reason shown in Russian.
    await segmentRow('Все').getByRole('button', { name: 'Изменить' }).click();
    await page.getByTestId('segment-topic-transport').check();
    const [seg] = await saved();
    await t.app.database.query(
      `insert into campaigns (title, text, segment_id, channel, status, created_by)
       values ('Всем о погоде', 'Штормовое предупреждение', $1, 'telegram', 'pending_approval', 'staff:head.outreach')`,
      [seg!.id],
    );
    await page.getByTestId('segment-save').click();
    await page
      .getByTestId('error')
      .filter({
        hasText:
          'Правила сегмента «Все» сейчас менять нельзя: по нему рассылка «Всем о погоде» (на согласовании).',
      })
      .waitFor();
    const [rules] = await t.app.database.query<{ rules: unknown }>(
      `select rules from segments where id = $1`,
      [seg!.id],
    );
    expect(rules!.rules).toEqual({});
    await screenshot(page, 'outreach-segment-locked');
    await t.app.database.query(`delete from campaigns where title = 'Всем о погоде'`, []);
  });

  it('the head of the center approves, pauses and resumes the campaign', async () => {
    await page.getByTestId('logout').click();
    await login('head.outreach', 'head.outreach-password');
    await page.getByTestId('campaign-row').filter({ hasText: 'Автобус № 12' }).click();
    await page.getByTestId('campaign-approve').click();
    await page.getByTestId('panel-status').filter({ hasText: 'Согласована' }).waitFor();
    // She was asked first, with whom it goes to.
    expect(dialogs.at(-1)).toBe(
      'Согласовать рассылку «Автобус № 12»? Её получат 3 подписчиков (сегмент «Бийск, Транспорт»: ' +
        'Бийск · Транспорт; Telegram) сразу после согласования.',
    );
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
