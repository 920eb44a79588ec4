import { test, expect } from '@playwright/test';
import { AT_ADMIN, GOOD_PASSWORD, OWNER, login, open, register, uniqueEmail } from './helpers';
import * as fs from 'fs';

test('a member buys two SKUs from the cart, pays from the wallet, finds them in my orders and my messages', async ({ page, browser }) => {
  // As a guest: one option into the cart.
  await open(page, '/p/morning-brew-coffee');
  let form = page.getByTestId('buy-form');
  await form.locator('input[name=sku][value="BREW-1"]').check();
  await form.getByTestId('add-to-cart').click();
  await expect(page).toHaveURL(/\/cart\?added=1$/);
  await expect(page.getByTestId('cart-count')).toHaveText('1');

  // Registering keeps the guest's cart.
  const email = uniqueEmail('member');
  await register(page, email, GOOD_PASSWORD);
  await expect(page).toHaveURL(/\/account\?welcome=1$/);
  await expect(page.getByTestId('cart-count')).toHaveText('1');

  // Staff credit the new member's wallet.
  const ctx = await browser.newContext({ javaScriptEnabled: test.info().project.name === 'js' });
  const staff = await ctx.newPage();
  await login(staff, OWNER.email, OWNER.password);
  await expect(staff).toHaveURL(AT_ADMIN);
  await open(staff, `/admin/wallets?email=${encodeURIComponent(email)}`);
  const topUp = staff.getByTestId('top-up-form');
  await topUp.locator('input[name=amount]').fill('100.00');
  await topUp.locator('input[name=note]').fill('e2e credit');
  await topUp.locator('button[type=submit]').click();
  await expect(staff.getByTestId('wallet-balance')).toHaveText('¥100.00');
  fs.mkdirSync('test-results/screenshots', { recursive: true });
  await staff.setViewportSize({ width: 375, height: 812 });
  await staff.screenshot({ path: `test-results/screenshots/admin-wallet-phone-${test.info().project.name}.png`, fullPage: true });
  await ctx.close();

  // A second option, then checkout of the whole cart.
  await open(page, '/p/morning-brew-coffee');
  form = page.getByTestId('buy-form');
  await form.locator('input[name=sku][value="BREW-10"]').check();
  await form.getByTestId('add-to-cart').click();
  await expect(page.getByTestId('cart-count')).toHaveText('2');
  await expect(page.getByTestId('cart').locator('li')).toHaveCount(2);
  await page.getByTestId('cart-checkout').locator('button[type=submit]').click();
  await expect(page).toHaveURL(/\/orders\/Q[0-9A-Z]{15}$/);
  const orderNo = new URL(page.url()).pathname.split('/').pop()!;
  await expect(page.getByTestId('order-status')).toHaveText('待支付');
  await expect(page.getByTestId('cart-count')).toHaveText('0');
  await page.getByTestId('pay-wallet').click();
  await expect(page.getByTestId('order-status')).toHaveText('已发货');
  await expect(page.getByTestId('code-masked')).toHaveCount(2);
  if (test.info().project.name === 'js') {
    await page.getByTestId('reveal').click();
    await expect(page.getByTestId('copy').first()).toBeVisible();
  } else {
    await expect(page.getByTestId('copy')).toHaveCount(0);
  }

  // My orders, and the unread message that leads back to the order.
  await open(page, '/orders');
  await expect(page.getByTestId('my-orders')).toContainText(orderNo);
  await expect(page.getByTestId('unread')).toBeVisible();
  await open(page, '/messages');
  await expect(page.getByTestId('messages')).toContainText(orderNo);
  await page.getByTestId('messages').getByRole('link').first().click();
  await expect(page).toHaveURL(new RegExp(`/orders/${orderNo}$`));
  await open(page, '/account');
  await expect(page.getByTestId('unread')).toHaveCount(0);
});

test('the cart changes quantities, removes lines and refuses what is not allowed', async ({ page }) => {
  await open(page, '/p/morning-brew-coffee');
  const form = page.getByTestId('buy-form');
  await form.locator('input[name=sku][value="BREW-1"]').check();
  await form.locator('input[name=quantity]').fill('2');
  await form.getByTestId('add-to-cart').click();
  await expect(page.getByTestId('cart-count')).toHaveText('2');
  const line = page.locator('li[data-sku="BREW-1"]');
  await line.locator('input[name=quantity]').fill('3');
  await line.getByRole('button', { name: '更新' }).click();
  await expect(page.getByTestId('cart-count')).toHaveText('3');
  await line.locator('input[name=quantity]').fill('11');
  await line.locator('input[name=quantity]').evaluate((el: HTMLInputElement) => el.removeAttribute('max'));
  await line.getByRole('button', { name: '更新' }).click();
  await expect(page.getByRole('alert')).toContainText('数量');
  await expect(page.getByTestId('cart-count')).toHaveText('3');
  await page.locator('li[data-sku="BREW-1"]').getByTestId('cart-remove').click();
  await expect(page.getByTestId('cart-empty')).toBeVisible();
  await expect(page.getByTestId('cart-count')).toHaveText('0');
});
