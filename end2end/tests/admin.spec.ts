import { test, expect } from '@playwright/test';
import * as fs from 'fs';
import { AT_ADMIN, GOOD_PASSWORD, OWNER, login, logout, open, register, uniqueEmail } from './helpers';

test('a visitor is sent to log in, a customer is refused from /admin', async ({ page }) => {
  await page.goto('/admin');
  await expect(page).toHaveURL(/\/login\?next=\/admin$/);
  const email = uniqueEmail('cust');
  await register(page, email, GOOD_PASSWORD);
  await expect(page).toHaveURL(/\/account/);
  const res = await page.goto('/admin');
  expect(res?.status()).toBe(403);
  await expect(page.getByRole('alert')).toContainText('没有权限');
  const staff = await page.goto('/admin/staff');
  expect(staff?.status()).toBe(403);
});

test('the owner logs in, sees real counts and creates a staff account', async ({ page, browser }) => {
  await login(page, OWNER.email, OWNER.password, '/login?next=/admin');
  await expect(page).toHaveURL(AT_ADMIN);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('仪表盘');
  await expect(page.getByTestId('stat-categories')).toContainText('6');
  // Other specs add products to the same shop; the eight demo products are the floor.
  const products = Number((await page.getByTestId('stat-products').textContent())!.match(/\d+/)![0]);
  expect(products).toBeGreaterThanOrEqual(8);
  await expect(page.getByTestId('admin-user')).toContainText(OWNER.email);

  await open(page, '/admin/staff');
  const staffEmail = uniqueEmail('support');
  const form = page.getByTestId('create-staff-form');
  await form.locator('input[name=email]').fill(staffEmail);
  await form.locator('select[name=role]').selectOption('support');
  await form.locator('button[type=submit]').click();
  await expect(page.getByTestId('staff-created')).toContainText(staffEmail);
  const password = (await page.getByTestId('generated-password').textContent())!.trim();
  expect(password).toHaveLength(20);
  await expect(page.getByTestId('staff-table')).toContainText(staffEmail);

  // Shown once: a reload no longer shows it.
  await open(page, '/admin/staff');
  await expect(page.getByTestId('generated-password')).toHaveCount(0);

  // The audit log recorded the creation.
  await open(page, '/admin/audit');
  await expect(page.locator('table')).toContainText('user.create');
  await expect(page.locator('table')).toContainText(staffEmail);

  // The new support account can enter the admin but not manage staff.
  const ctx = await browser.newContext();
  const other = await ctx.newPage();
  await login(other, staffEmail, password);
  await expect(other).toHaveURL(AT_ADMIN);
  const res = await other.goto('/admin/staff');
  await expect(other.getByRole('alert')).toContainText('没有权限');
  await ctx.close();
});

test('a role escalation attempt through a forged form is refused', async ({ page, browser }) => {
  const email = uniqueEmail('climber');
  await register(page, email, GOOD_PASSWORD);
  await expect(page).toHaveURL(/\/account/);
  // A customer posts the owner's "create staff" form from our own origin: refused.
  const origin = new URL(page.url()).origin;
  const evil = uniqueEmail('evil');
  const res = await page.request.post('/api/admin/staff/create', {
    headers: { Origin: origin, Accept: 'text/html', Referer: origin + '/account' },
    form: { email: evil, role: 'owner', password: GOOD_PASSWORD },
    maxRedirects: 0,
  });
  expect(res.status()).toBe(302);
  expect(res.headers()['location']).toContain('__err=');
  await open(page, '/account');
  await expect(page.locator('dd', { hasText: '顾客' })).toBeVisible();
  // The owner sees no such account, and the refusal in the audit log.
  const ctx = await browser.newContext();
  const owner = await ctx.newPage();
  await login(owner, OWNER.email, OWNER.password);
  await expect(owner).toHaveURL(AT_ADMIN);
  await open(owner, '/admin/staff');
  await expect(owner.getByTestId('staff-table')).not.toContainText(evil);
  await open(owner, '/admin/audit');
  await expect(owner.locator('table')).toContainText('admin.denied');
  await ctx.close();
});

test('the owner creates a reseller, sees its API key once, and revokes it', async ({ page, request }) => {
  await login(page, OWNER.email, OWNER.password, '/login?next=/admin');
  await expect(page).toHaveURL(AT_ADMIN);
  await open(page, '/admin/resellers');
  const name = `渠道商 ${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  const form = page.getByTestId('create-reseller-form');
  await form.locator('input[name=name]').fill(name);
  await form.locator('input[name=balance]').fill('250.00');
  await form.locator('button[type=submit]').click();
  await expect(page.getByTestId('reseller-created')).toContainText(name);
  const key = (await page.getByTestId('api-key').textContent())!.trim();
  expect(key).toMatch(/^qy_[0-9a-f]{64}$/);
  const row = page.getByTestId('reseller-table').locator('tr', { hasText: name });
  await expect(row).toContainText('250.00');

  // The key works on the JSON API...
  const ok = await request.get('/api/v1/products', { headers: { Authorization: `Bearer ${key}` } });
  expect(ok.status()).toBe(200);

  // ...is never shown again...
  await open(page, '/admin/resellers');
  await expect(page.getByTestId('api-key')).toHaveCount(0);
  await expect(page.locator('body')).not.toContainText(key);

  // ...and stops working once revoked.
  await page.getByTestId('reseller-table').locator('tr', { hasText: name }).getByRole('button').click();
  await expect(page.getByTestId('reseller-table').locator('tr', { hasText: name })).toContainText('已吊销');
  const refused = await request.get('/api/v1/products', { headers: { Authorization: `Bearer ${key}` } });
  expect(refused.status()).toBe(401);
});

test('every admin area opens from the navigation, its code fetched on demand', async ({ page }) => {
  // With JavaScript each click is a client-side navigation into a lazy route: the page's
  // WASM chunk is fetched, then it renders; without, each is a plain page load.
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const chunks = new Set<string>();
  page.on('response', (r) => {
    if (/\/pkg\/(split|chunk)_.*\.wasm$/.test(r.url()) && r.ok()) chunks.add(r.url());
  });
  await login(page, OWNER.email, OWNER.password, '/login?next=/admin');
  await expect(page).toHaveURL(AT_ADMIN);
  const links = page.locator('nav.admin-nav a.admin-link');
  await expect(links.first()).toBeVisible();
  const hrefs = await links.evaluateAll((as) => as.map((a) => a.getAttribute('href')!));
  expect(hrefs.length).toBeGreaterThanOrEqual(10);
  for (const href of hrefs) {
    await page.locator(`nav.admin-nav a.admin-link[href="${href}"]`).click();
    await expect(page).toHaveURL(new RegExp(`${href.replace(/\//g, '\\/')}$`));
    await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
    await expect(page.getByRole('alert')).toHaveCount(0);
  }
  expect(errors).toEqual([]);
  if (test.info().project.name === 'js') expect(chunks.size).toBeGreaterThan(3);
});

test('admin pages fit a phone and a desktop (screenshots of each)', async ({ page }) => {
  fs.mkdirSync('test-results/screenshots', { recursive: true });
  const name = test.info().project.name;
  await login(page, OWNER.email, OWNER.password, '/login?next=/admin');
  await expect(page).toHaveURL(AT_ADMIN);
  const areas = ['/admin', '/admin/catalog', '/admin/catalog/morning-brew-coffee', '/admin/inventory', '/admin/batches',
    '/admin/orders', '/admin/topups', '/admin/outbox', '/admin/wallets', '/admin/resellers', '/admin/staff', '/admin/audit'];
  for (const [label, size] of [['phone', { width: 375, height: 812 }], ['desktop', { width: 1280, height: 900 }]] as const) {
    await page.setViewportSize(size);
    for (const path of areas) {
      await open(page, path);
      await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
      const slug = path.slice(1).replace(/\//g, '-');
      await page.screenshot({ path: `test-results/screenshots/${slug}-${label}-${name}.png`, fullPage: true });
      // Wide tables scroll inside their panel; the page itself never scrolls sideways.
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect.soft(overflow, `${path} at ${label} size`).toBeLessThanOrEqual(0);
    }
  }
});
