import { test, expect } from '@playwright/test';
import { AT_ADMIN, OWNER, login, open } from './helpers';

async function asOwner(page) {
  await login(page, OWNER.email, OWNER.password);
  await expect(page).toHaveURL(AT_ADMIN);
}

test('staff import a catalog CSV; a bad file is refused by line and changes nothing', async ({ page }) => {
  await asOwner(page);
  const tag = `${test.info().project.name}${Date.now().toString(36)}`;
  const bad = [
    'category,product,product_name_zh,product_name_en,brand,sku,sku_name_zh,sku_name_en,kind,face_value,price',
    `games,csv-${tag},CSV 游戏卡,CSV game card,CSV,CSV-${tag.toUpperCase()}-10,10 元,¥10,card_code,10,9.50`,
    `games,csv-${tag},CSV 游戏卡,CSV game card,CSV,CSV-${tag.toUpperCase()}-20,20 元,¥20,gift_card,20,19`,
    `nowhere,csv2-${tag},X,X,X,CSV2-${tag.toUpperCase()},X,X,card_code,1,abc`,
  ].join('\n');
  await open(page, '/admin/catalog');
  await page.getByTestId('csv-form').locator('input[type=file]').setInputFiles({ name: 'bad.csv', mimeType: 'text/csv', buffer: Buffer.from(bad) });
  await page.getByTestId('csv-form').locator('button[type=submit]').click();
  const report = page.getByTestId('csv-report');
  await expect(report).toContainText('第 3 行');
  await expect(report).toContainText('第 4 行');
  await expect(page.getByTestId('catalog-table')).not.toContainText(`csv-${tag}`);

  const good = bad.split('\n').slice(0, 2).join('\n') + '\n' +
    `games,csv-${tag},CSV 游戏卡,CSV game card,CSV,CSV-${tag.toUpperCase()}-20,20 元,¥20,card_code,20,19\n`;
  await page.getByTestId('csv-form').locator('input[type=file]').setInputFiles({ name: 'good.csv', mimeType: 'text/csv', buffer: Buffer.from(good) });
  await page.getByTestId('csv-form').locator('button[type=submit]').click();
  await expect(page.getByTestId('csv-report')).toContainText('2 / 1 / 2');
  await expect(page.getByTestId('catalog-table')).toContainText(`CSV-${tag.toUpperCase()}-20`);

  // Edit the product: a new price shows in the mall.
  await open(page, `/admin/catalog/csv-${tag}`);
  const sku = page.getByTestId(`sku-form-CSV-${tag.toUpperCase()}-10`);
  await sku.locator('input[name=price]').fill('8.80');
  await sku.locator('button[type=submit]').click();
  await expect(page.locator('.alert-ok')).toBeVisible();
  await open(page, `/p/csv-${tag}`);
  await expect(page.locator(`label[data-sku="CSV-${tag.toUpperCase()}-10"]`)).toContainText('¥8.80');
});

test('staff upload a code file and watch the batch fill, then void a code', async ({ page }) => {
  await asOwner(page);
  const tag = `${test.info().project.name}${Date.now().toString(36)}`.toUpperCase();
  const lines = Array.from({ length: 3000 }, (_, i) => `UP-${tag}-${String(i).padStart(5, '0')}`);
  lines.push(`UP-${tag}-00001`);
  await open(page, '/admin/inventory');
  const form = page.getByTestId('upload-form');
  await form.locator('select[name=sku]').selectOption('BREW-10');
  await form.locator('input[name=cost]').fill('30.00');
  await form.locator('input[name=supplier]').fill('File Supplier');
  await form.locator('input[type=file]').setInputFiles({ name: 'codes.txt', mimeType: 'text/plain', buffer: Buffer.from(lines.join('\n')) });
  await form.locator('button[type=submit]').click();
  await expect(page).toHaveURL(/\/admin\/batches\/\d+$/);
  await expect(page.getByTestId('batch-progress')).toHaveAttribute('data-status', 'done', { timeout: 30_000 });
  await expect(page.getByTestId('batch-imported')).toHaveText('3000');
  await expect(page.getByTestId('batch-counts').locator('dd[data-status=available]')).toHaveText('3000');
  const first = page.getByTestId('batch-codes').locator('tr[data-status=available]').first();
  const codeId = await first.getAttribute('data-code');
  await first.locator('input[name=reason]').fill('supplier recalled');
  await first.locator('button[type=submit]').click();
  await expect(page.locator(`tr[data-code="${codeId}"]`)).toHaveAttribute('data-status', 'void');
  await expect(page.getByTestId('batch-counts').locator('dd[data-status=void]')).toHaveText('1');
});
