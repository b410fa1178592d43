/**
 * The grid with a real dataset (omniglot-small1, 2,720 images, 136 classes): only the visible
 * tiles are in the page, scrolling reaches the last image, and filters narrow the view.
 */
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, startStudioWeb } from '../helpers/browser';
import { OMNIGLOT_SMALL1, tempDir } from '../helpers/fixtures';

let dir: ReturnType<typeof tempDir>;
let browser: Browser;
let page: Page;
let server: Awaited<ReturnType<typeof startStudioWeb>>;

beforeAll(async () => {
  dir = tempDir('atl-e2e-grid-');
  server = await startStudioWeb(join(dir.path, 'home'));
  await server.studio.invoke('project.create', { name: 'Omniglot' });
  await server.studio.invoke('import.start', { paths: [OMNIGLOT_SMALL1], labelsFromFolders: true });
  await server.studio.idle();
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(server.web.url);
});
afterAll(async () => {
  await browser?.close();
  await server?.web.close();
  await server?.studio.dispose();
  dir?.remove();
});

describe('thumbnail grid', () => {
  it('keeps only the visible tiles in the page and scrolls to the last image', async () => {
    await expect.poll(() => page.getByTestId('image-count').textContent()).toMatch(/2,?720/);
    const rendered = await page.getByTestId('tile').count();
    expect(rendered).toBeGreaterThan(10);
    expect(rendered).toBeLessThan(300);
    const rows = await server.studio.invoke('images.list', { filter: { kind: 'all' }, sort: 'import' });
    const last = rows[rows.length - 1].id;
    await page.getByTestId('grid').evaluate((grid) => grid.scrollTo({ top: grid.scrollHeight }));
    await expect.poll(() => page.locator(`[data-testid="tile"][data-image-id="${last}"]`).count()).toBe(1);
    expect(await page.getByTestId('tile').count()).toBeLessThan(300);
  });

  it('filters by class and by unlabeled', async () => {
    const classes = await server.studio.invoke('classes.list', {});
    const greek = classes.find((c) => c.name === 'Greek/character01')!;
    await page.getByTestId('filter-select').selectOption(`class:${greek.id}`);
    await expect.poll(() => page.getByTestId('tile').count()).toBe(20);
    const classIds = await page.getByTestId('tile').evaluateAll((tiles) => [...new Set(tiles.map((t) => t.getAttribute('data-class-id')))]);
    expect(classIds).toEqual([String(greek.id)]);
    await page.getByTestId('filter-select').selectOption('unlabeled');
    await expect.poll(() => page.getByTestId('tile').count()).toBe(0);
  });
});
