import { test, expect } from '@playwright/test';
import { GOOD_PASSWORD, login, logout, open, register, uniqueEmail } from './helpers';

test('register, log out, log in, change password', async ({ page }) => {
  const email = uniqueEmail('buyer');
  await register(page, email, GOOD_PASSWORD);
  await expect(page).toHaveURL(/\/account\?welcome=1$/);
  await expect(page.locator('.alert-ok')).toContainText('注册成功');
  await expect(page.getByTestId('account-email')).toHaveText(email);
  await expect(page.getByTestId('account-link')).toBeVisible();

  await logout(page);
  await expect(page.getByTestId('account-link')).toHaveCount(0);

  await login(page, email, GOOD_PASSWORD);
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByTestId('account-email')).toHaveText(email);

  const form = page.locator('form', { has: page.locator('input[name=new_password]') });
  const next = 'amber harbor signal 58';
  await form.locator('input[name=current]').fill(GOOD_PASSWORD);
  await form.locator('input[name=new_password]').fill(next);
  await form.locator('input[name=confirm]').fill(next);
  await form.locator('button[type=submit]').click();
  await expect(page.locator('.alert-ok')).toContainText('密码已修改');
  await logout(page);
  await login(page, email, next);
  await expect(page.getByTestId('account-email')).toHaveText(email);
});

test('bad sign-ups get clear errors and create nothing', async ({ page }) => {
  const email = uniqueEmail('weak');
  await register(page, email, 'password123');
  await expect(page.getByRole('alert')).toContainText('太常见');
  await register(page, email, 'short');
  // The browser's own minlength check may stop this one; either way no account exists.
  await register(page, email, GOOD_PASSWORD, 'a different passphrase 9');
  await expect(page.getByRole('alert')).toContainText('不一致');
  await register(page, 'not-an-email@nowhere', GOOD_PASSWORD);
  await expect(page.getByRole('alert')).toContainText('有效的邮箱');
  await login(page, email, GOOD_PASSWORD);
  await expect(page.getByRole('alert')).toContainText('邮箱或密码不正确');
});

test('duplicate email is refused', async ({ page }) => {
  const email = uniqueEmail('dup');
  await register(page, email, GOOD_PASSWORD);
  await expect(page).toHaveURL(/\/account/);
  await logout(page);
  await register(page, email.toUpperCase(), GOOD_PASSWORD);
  await expect(page.getByRole('alert')).toContainText('已注册');
});

test('wrong password and unknown account look the same', async ({ page }) => {
  const email = uniqueEmail('known');
  await register(page, email, GOOD_PASSWORD);
  await expect(page).toHaveURL(/\/account/);
  await logout(page);
  await login(page, email, 'definitely not it 000');
  const wrong = await page.getByRole('alert').textContent();
  await login(page, uniqueEmail('unknown'), 'definitely not it 000');
  const unknown = await page.getByRole('alert').textContent();
  expect(wrong).toBe(unknown);
  expect(wrong).toContain('邮箱或密码不正确');
});

test('a forged cross-site post is refused and changes nothing', async ({ page, request }) => {
  const email = uniqueEmail('csrf');
  const res = await request.post('/api/register', {
    headers: { Origin: 'https://evil.example', Accept: 'text/html' },
    form: { email, password: GOOD_PASSWORD, confirm: GOOD_PASSWORD },
    maxRedirects: 0,
  });
  expect(res.status()).toBe(403);
  expect(await res.text()).toContain('无法验证请求来源');
  await login(page, email, GOOD_PASSWORD);
  await expect(page.getByRole('alert')).toContainText('邮箱或密码不正确');
});

test('an oversized form is refused', async ({ request }) => {
  const res = await request.post('/api/login', {
    headers: { Origin: 'http://127.0.0.1:' + (process.env.E2E_PORT ?? '3100'), Accept: 'text/html' },
    form: { email: 'x@example.com', password: 'x'.repeat(200_000) },
    maxRedirects: 0,
  });
  expect(res.status()).toBe(413);
  expect(await res.text()).toContain('太大');
});
