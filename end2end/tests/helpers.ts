import { Page, expect, TestInfo } from '@playwright/test';

export const OWNER = { email: 'owner@e2e.test', password: process.env.E2E_OWNER_PASSWORD ?? 'e2e owner passphrase 2026' };
export const GOOD_PASSWORD = 'violet lantern orbit 73';

/// A unique address per run and project, so both projects share one server.
export function uniqueEmail(info: TestInfo, tag: string): string {
  return `${tag}-${info.project.name}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
}

/// Waits until the page is usable: with JS, until hydration has run.
export async function ready(page: Page) {
  await page.waitForLoadState('load');
  if (await page.evaluate(() => true).catch(() => false)) {
    // evaluate works even with JS disabled in page scripts; hydration marks nothing,
    // so give the WASM a moment to attach handlers after load.
    await page.waitForFunction(() => (window as any).__quanyi_hydrated === true, null, { timeout: 15_000 }).catch(() => {});
  }
}

export async function login(page: Page, email: string, password: string) {
  await page.goto('/login');
  await ready(page);
  const form = page.getByTestId('login-form');
  await form.locator('input[name=email]').fill(email);
  await form.locator('input[name=password]').fill(password);
  await form.locator('button[type=submit]').click();
}

export async function register(page: Page, email: string, password: string, confirm = password) {
  await page.goto('/register');
  await ready(page);
  const form = page.getByTestId('register-form');
  await form.locator('input[name=email]').fill(email);
  await form.locator('input[name=password]').fill(password);
  await form.locator('input[name=confirm]').fill(confirm);
  await form.locator('button[type=submit]').click();
}

export async function logout(page: Page) {
  await page.goto('/account');
  await ready(page);
  await page.getByTestId('logout-form').locator('button').click();
  await expect(page).toHaveURL(/\/$/);
}
