/**
 * The browser side of the workspace's end-to-end tests: Debian's Chromium driven by playwright-core, staff
 * with a password, logging in through the login form, screenshots into test-artifacts/.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ROOT, type TestApp } from './helpers.ts';

export const CHROMIUM =
  process.env.CHROMIUM_PATH ??
  ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
export const ARTIFACTS = path.join(ROOT, 'test-artifacts');

/** Headless Chromium in Russian, without the background traffic of a desktop browser. */
export async function launchChromium(): Promise<Browser> {
  if (!CHROMIUM)
    throw new Error('Chromium is needed for this test: sudo apt-get install chromium (or set CHROMIUM_PATH)');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--lang=ru-RU',
    ],
  });
}

/** A staff member with one role (and its scope) who can log in with `password`. */
export async function staffWithPassword(
  t: TestApp,
  o: { login: string; name: string; role: string; password: string; agencyId?: string; sector?: string },
): Promise<number> {
  const m = await t.app.staff.create({
    login: o.login,
    name: o.name,
    grants: [
      {
        role: o.role,
        ...(o.agencyId ? { agencyId: o.agencyId } : {}),
        ...(o.sector ? { sector: o.sector } : {}),
      },
    ],
  });
  await t.app.auth.setPassword(m.id, o.password);
  return m.id;
}

/** Opens the workspace and logs in through the form; resolves when the navigation is there. */
export async function logIn(page: Page, t: TestApp, login: string, password: string): Promise<void> {
  await page.goto(t.app.url!);
  await page.getByTestId('login').fill(login);
  await page.getByTestId('password').fill(password);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('nav-inbox').waitFor({ timeout: 15_000 });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}
