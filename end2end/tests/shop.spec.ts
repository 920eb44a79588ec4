import { test, expect } from '@playwright/test';
import { AT_ADMIN, OWNER, login, open, uniqueEmail } from './helpers';
import * as fs from 'fs';

test('a guest buys with the test provider and sees the code', async ({ page, browser }) => {
  await open(page, '/p/morning-brew-coffee');
  const form = page.getByTestId('buy-form');
  await form.locator('input[name=sku][value="BREW-1"]').check();
  await form.locator('input[name=email]').fill(uniqueEmail('guest'));
  await form.getByTestId('buy-now').click();
  await expect(page).toHaveURL(/\/orders\/Q[0-9A-Z]{15}$/);
  await expect(page.getByTestId('order-status')).toHaveText('待支付');
  await expect(page.getByTestId('test-provider')).toContainText('不产生真实扣款');
  const link = (await page.getByTestId('lookup-link').textContent())!.trim();
  expect(link).toMatch(/\/o\/Q[0-9A-Z]{15}\?t=[0-9a-f]{64}$/);

  await page.getByTestId('pay-test').click();
  await expect(page.getByTestId('order-status')).toHaveText('已发货');
  const masked = page.getByTestId('code-masked');
  await expect(masked).toHaveCount(1);
  await expect(masked).not.toContainText('E2E-BREW');
  await page.getByTestId('reveal').click();
  await expect(page.getByTestId('code-plain')).toHaveText(/^(DEMO-BREW-1-[0-9A-Z]{4}-[0-9A-Z]{4}|E2E-BREW-\d{5})$/);
  await expect(page.locator('.usage')).toContainText('每单限用一张');
  fs.mkdirSync('test-results/screenshots', { recursive: true });
  await page.setViewportSize({ width: 375, height: 812 });
  await page.screenshot({ path: `test-results/screenshots/order-phone-${test.info().project.name}.png`, fullPage: true });

  // The private link opens the order in another browser; a wrong token does not.
  const ctx = await browser.newContext();
  const other = await ctx.newPage();
  await other.goto(link);
  await expect(other).toHaveURL(/\/orders\/Q[0-9A-Z]{15}$/);
  await expect(other.getByTestId('order-status')).toHaveText('已发货');
  const stranger = await browser.newContext();
  const s = await stranger.newPage();
  await s.goto(link.replace(/t=[0-9a-f]{4}/, 't=0000'));
  await expect(s.getByRole('alert')).toContainText('找不到');
  const res = await s.goto(new URL(link).pathname.replace('/o/', '/orders/'));
  expect(res?.status()).toBe(404);
  await ctx.close();
  await stranger.close();
});

test('a failed test payment leaves the order waiting', async ({ page }) => {
  await open(page, '/p/morning-brew-coffee');
  const form = page.getByTestId('buy-form');
  await form.locator('input[name=email]').fill(uniqueEmail('fail'));
  await form.getByTestId('buy-now').click();
  await expect(page.getByTestId('order-status')).toHaveText('待支付');
  await page.getByRole('button', { name: '模拟支付失败' }).click();
  await expect(page.getByRole('alert')).toContainText('支付未成功');
  await expect(page.getByTestId('order-status')).toHaveText('待支付');
});

test('a guest must leave a valid email', async ({ page }) => {
  await open(page, '/p/morning-brew-coffee');
  const form = page.getByTestId('buy-form');
  await form.locator('input[name=email]').fill('not-an-email@nowhere');
  await form.getByTestId('buy-now').click();
  await expect(page.getByRole('alert')).toContainText('有效的邮箱');
});

test('staff import codes by paste and see the counts', async ({ page }) => {
  await login(page, OWNER.email, OWNER.password);
  await expect(page).toHaveURL(AT_ADMIN);
  await open(page, '/admin/inventory');
  const row = page.getByTestId('stock-BREW-10');
  const before = Number(await row.locator('[data-col=available]').textContent());
  const tag = Date.now().toString(36).toUpperCase();
  const form = page.getByTestId('import-form');
  await form.locator('select[name=sku]').selectOption('BREW-10');
  await form.locator('input[name=cost]').fill('30.00');
  await form.locator('input[name=supplier]').fill('Paste Supplier');
  await form.locator('textarea[name=codes]').fill(`P-${tag}-1\nP-${tag}-2\n\nP-${tag}-1\nP-${tag}-3\n`);
  await form.locator('button[type=submit]').click();
  await expect(page.getByTestId('import-report')).toContainText('导入 3 个');
  await expect(page.getByTestId('import-report')).toContainText('第 4 行：与第 1 行重复');
  await expect(page.getByTestId('stock-BREW-10').locator('[data-col=available]')).toHaveText(String(before + 3));
  // The same codes again: all reported as already in stock, nothing added.
  await form.locator('select[name=sku]').selectOption('BREW-10');
  await form.locator('input[name=cost]').fill('30.00');
  await form.locator('textarea[name=codes]').fill(`P-${tag}-2\n`);
  await form.locator('button[type=submit]').click();
  await expect(page.getByTestId('import-report')).toContainText('该券码已在库中');
  await expect(page.getByTestId('stock-BREW-10').locator('[data-col=available]')).toHaveText(String(before + 3));
});

test('staff reissue a code the buyer reports as invalid', async ({ page, browser }) => {
  await open(page, '/p/morning-brew-coffee');
  const form = page.getByTestId('buy-form');
  await form.locator('input[name=email]').fill(uniqueEmail('complain'));
  await form.getByTestId('buy-now').click();
  await expect(page.getByTestId('order-status')).toHaveText('待支付');
  const orderNo = new URL(page.url()).pathname.split('/').pop()!;
  await page.getByTestId('pay-test').click();
  await expect(page.getByTestId('order-status')).toHaveText('已发货');
  await page.getByTestId('reveal').click();
  const first = (await page.getByTestId('code-plain').textContent())!.trim();

  const ctx = await browser.newContext({ javaScriptEnabled: test.info().project.name === 'js' });
  const staff = await ctx.newPage();
  await login(staff, OWNER.email, OWNER.password);
  await expect(staff).toHaveURL(AT_ADMIN);
  await staff.goto(`/admin/orders?q=${orderNo}`);
  await staff.getByTestId('orders-table').getByRole('link', { name: orderNo }).click();
  await expect(staff.getByTestId('admin-order-status')).toHaveText('已发货');
  await expect(staff.getByTestId('admin-code')).toHaveText('••••••••');
  await staff.getByTestId('staff-reveal').click();
  await expect(staff.getByTestId('admin-code')).toHaveText(first);
  const reissue = staff.getByTestId('reissue-form');
  await reissue.locator('input[name=reason]').fill('顾客反馈券码无效');
  await reissue.locator('button[type=submit]').click();
  await expect(staff.locator('tr[data-active=false]')).toHaveCount(1);
  await expect(staff.locator('tr[data-active=true]')).toHaveCount(1);
  await expect(staff.locator('table').last()).toContainText('order.reissue');
  await expect(staff.locator('table').last()).toContainText('codes.reveal');
  fs.mkdirSync('test-results/screenshots', { recursive: true });
  for (const [label, size] of [['phone', { width: 375, height: 812 }], ['desktop', { width: 1280, height: 900 }]] as const) {
    await staff.setViewportSize(size);
    await staff.screenshot({ path: `test-results/screenshots/admin-order-${label}-${test.info().project.name}.png`, fullPage: true });
  }
  await ctx.close();

  await page.reload();
  await expect(page.getByTestId('code-plain')).toHaveCount(1);
  const second = (await page.getByTestId('code-plain').textContent())!.trim();
  expect(second).not.toBe(first);
});

test('a guest finds an order again by number and email, never by guessing', async ({ page, browser }) => {
  const email = uniqueEmail('finder');
  await open(page, '/p/morning-brew-coffee');
  const form = page.getByTestId('buy-form');
  await form.locator('input[name=email]').fill(email);
  await form.getByTestId('buy-now').click();
  await expect(page.getByTestId('order-status')).toHaveText('待支付');
  const orderNo = new URL(page.url()).pathname.split('/').pop()!;

  const ctx = await browser.newContext({ javaScriptEnabled: test.info().project.name === 'js' });
  const other = await ctx.newPage();
  await open(other, '/find-order');
  const lookup = other.getByTestId('lookup-form');
  await lookup.locator('input[name=order_no]').fill(orderNo);
  await lookup.locator('input[name=contact]').fill('someone-else@example.com');
  await lookup.locator('button[type=submit]').click();
  await expect(other.getByRole('alert')).toContainText('找不到匹配的订单');
  await open(other, '/find-order');
  await other.getByTestId('lookup-form').locator('input[name=order_no]').fill(orderNo);
  await other.getByTestId('lookup-form').locator('input[name=contact]').fill(email.toUpperCase());
  await other.getByTestId('lookup-form').locator('button[type=submit]').click();
  await expect(other).toHaveURL(new RegExp(`/orders/${orderNo}$`));
  await expect(other.getByTestId('order-status')).toHaveText('待支付');
  await ctx.close();
});
