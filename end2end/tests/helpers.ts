import { Page, expect, test } from '@playwright/test';

export const OWNER = { email: 'owner@e2e.test', password: process.env.E2E_OWNER_PASSWORD ?? 'e2e owner passphrase 2026' };
export const GOOD_PASSWORD = 'violet lantern orbit 73';

export function jsEnabled(): boolean {
  return test.info().project.name === 'js';
}

/// A unique address per run and project, so both projects can share one server.
export function uniqueEmail(tag: string): string {
  return `${tag}-${test.info().project.name}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
}

/// Goes to a page and, with JavaScript, waits until hydration has attached the handlers.
/** The admin dashboard's URL, anchored at the path (`/login?next=/admin` must not match). */
export const AT_ADMIN = /^https?:\/\/[^/]+\/admin$/;

export async function open(page: Page, path: string) {
  const res = await page.goto(path);
  if (jsEnabled()) {
    await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true', { timeout: 20_000 });
  }
  return res;
}

export async function login(page: Page, email: string, password: string, path = '/login') {
  await open(page, path);
  const form = page.getByTestId('login-form');
  await form.locator('input[name=email]').fill(email);
  await form.locator('input[name=password]').fill(password);
  await form.locator('button[type=submit]').click();
}

export async function register(page: Page, email: string, password: string, confirm = password) {
  await open(page, '/register');
  const form = page.getByTestId('register-form');
  await form.locator('input[name=email]').fill(email);
  await form.locator('input[name=password]').fill(password);
  await form.locator('input[name=confirm]').fill(confirm);
  await form.locator('button[type=submit]').click();
}

export async function logout(page: Page) {
  await open(page, '/account');
  await page.getByTestId('logout-form').locator('button').click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole('link', { name: '登录' }).first()).toBeVisible();
}
