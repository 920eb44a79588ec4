import { test, expect } from '@playwright/test';
import { open, jsEnabled } from './helpers';
import * as fs from 'fs';

test('home lists the demo catalog from the database', async ({ page }) => {
  const res = await open(page, '/');
  expect(res?.status()).toBe(200);
  await expect(page.getByRole('heading', { level: 1 })).toContainText('虚拟权益');
  for (const cat of ['影视会员', '音乐会员', '餐饮美食', '出行服务', '话费流量', '游戏点卡']) {
    await expect(page.locator('.category-bar')).toContainText(cat);
  }
  // The eight demo products (other specs may add more to the same shop).
  expect(await page.locator('.product-card').count()).toBeGreaterThanOrEqual(8);
  for (const slug of ['starvideo-vip', 'lumen-tv-super', 'cloudtune-premium', 'morning-brew-coffee']) {
    await expect(page.locator(`a[href="/p/${slug}"]`).first()).toBeVisible();
  }
  await expect(page.locator('.product-card').first()).toContainText('¥');
  await expect(page.getByTestId('cart-count')).toHaveText('0');
});

test('a product page shows options, prices and usage notes', async ({ page }) => {
  await open(page, '/');
  await page.locator('.product-card', { hasText: '晨光咖啡' }).click();
  await expect(page).toHaveURL(/\/p\/morning-brew-coffee$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('晨光咖啡 中杯饮品券');
  await expect(page.locator('.sku')).toHaveCount(2);
  await expect(page.locator('.sku', { hasText: '单杯券' })).toContainText('¥9.90');
  await expect(page.getByRole('heading', { name: '使用说明' })).toBeVisible();
  await expect(page.locator('.usage')).toContainText('每单限用一张');
});

test('category pages and search work', async ({ page }) => {
  await open(page, '/c/video');
  await expect(page.getByRole('heading', { level: 1 })).toContainText('影视会员');
  await expect(page.locator('.product-card')).toHaveCount(2);
  await page.locator('.site-header input[name=q]').fill('咖啡');
  await page.locator('.site-header input[name=q]').press('Enter');
  await expect(page).toHaveURL(/\/search\?q=/);
  await expect(page.locator('.product-card')).toHaveCount(1);
  await open(page, '/search?q=nothing-like-this');
  await expect(page.getByTestId('search-empty')).toContainText('nothing-like-this');
});

test('unknown pages answer 404 with a friendly page', async ({ page }) => {
  const res = await page.goto('/p/no-such-product');
  expect(res?.status()).toBe(404);
  await expect(page.getByRole('heading', { name: '页面不存在' })).toBeVisible();
  const res2 = await page.goto('/no/such/page');
  expect(res2?.status()).toBe(404);
});

test('English is one click away and remembered', async ({ page }) => {
  await open(page, '/p/starvideo-vip');
  await page.getByRole('link', { name: 'English' }).click();
  await expect(page).toHaveURL(/\/p\/starvideo-vip$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('StarVideo VIP membership');
  await expect(page.locator('html')).toHaveAttribute('lang', 'en');
  await open(page, '/');
  await expect(page.getByRole('heading', { level: 1 })).toContainText('Virtual goods');
  await page.getByRole('link', { name: '中文' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toContainText('虚拟权益');
});

test('home page screenshots at phone and desktop sizes', async ({ page }) => {
  fs.mkdirSync('test-results/screenshots', { recursive: true });
  const name = test.info().project.name;
  for (const [label, size] of [['phone', { width: 375, height: 812 }], ['desktop', { width: 1280, height: 900 }]] as const) {
    await page.setViewportSize(size);
    await open(page, '/');
    // No horizontal scrolling at any size.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth).catch(() => 0);
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: `test-results/screenshots/home-${label}-${name}.png`, fullPage: true });
    await open(page, '/p/starvideo-vip');
    await page.screenshot({ path: `test-results/screenshots/product-${label}-${name}.png`, fullPage: true });
  }
});

test('pages carry security headers and a nonce CSP that lets hydration run', async ({ page }) => {
  const res = await page.goto('/');
  const h = res!.headers();
  expect(h['x-content-type-options']).toBe('nosniff');
  expect(h['referrer-policy']).toBe('same-origin');
  const csp = h['content-security-policy'];
  expect(csp).toContain("'wasm-unsafe-eval'");
  const nonce = /'nonce-([^']+)'/.exec(csp)![1];
  const scriptNonces = await page.locator('script[nonce]').evaluateAll(els => els.map(e => (e as HTMLScriptElement).nonce || e.getAttribute('nonce')));
  expect(scriptNonces.length).toBeGreaterThan(0);
  if (jsEnabled()) {
    for (const n of scriptNonces) expect(n).toBe(nonce);
    await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  }
});
