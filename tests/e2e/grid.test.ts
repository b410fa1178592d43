/**
 * The grid with a real dataset (omniglot-small1, 2,720 images, 136 classes): only the visible
 * tiles are in the page, scrolling reaches the last image, filters narrow the view, and a path
 * too long for its tile gives way at its start.
 */
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStudioSession, SCREENSHOTS, type StudioSession } from '../helpers/browser';
import { OMNIGLOT_SMALL1 } from '../helpers/fixtures';

let session: StudioSession;
let page: Page;

beforeAll(async () => {
  session = await openStudioSession('atl-e2e-grid-', async (studio) => {
    await studio.invoke('project.create', { name: 'Omniglot' });
    await studio.invoke('import.start', { paths: [OMNIGLOT_SMALL1], labelsFromFolders: true });
    await studio.idle();
  });
  page = session.page;
  await page.goto(session.web.url);
});
afterAll(() => session?.close());

describe('thumbnail grid', () => {
  it('keeps only the visible tiles in the page and scrolls to the last image', async () => {
    await expect.poll(() => page.getByTestId('image-count').textContent()).toMatch(/2,?720/);
    const rendered = await page.getByTestId('tile').count();
    expect(rendered).toBeGreaterThan(10);
    expect(rendered).toBeLessThan(300);
    const rows = await session.studio.invoke('images.list', { filter: { kind: 'all' }, sort: 'import' });
    const last = rows[rows.length - 1].id;
    await page.getByTestId('grid').evaluate((grid) => grid.scrollTo({ top: grid.scrollHeight }));
    await expect.poll(() => page.locator(`[data-testid="tile"][data-image-id="${last}"]`).count()).toBe(1);
    expect(await page.getByTestId('tile').count()).toBeLessThan(300);
  });

  it('filters by class and by unlabeled', async () => {
    const classes = await session.studio.invoke('classes.list', {});
    const greek = classes.find((c) => c.name === 'Greek/character01')!;
    await page.getByTestId('filter-select').selectOption(`class:${greek.id}`);
    await expect.poll(() => page.getByTestId('tile').count()).toBe(20);
    const classIds = await page.getByTestId('tile').evaluateAll((tiles) => [...new Set(tiles.map((t) => t.getAttribute('data-class-id')))]);
    expect(classIds).toEqual([String(greek.id)]);
    await page.getByTestId('filter-select').selectOption('unlabeled');
    await expect.poll(() => page.getByTestId('tile').count()).toBe(0);
  });

  it('cuts a long path at its start, keeping the folder and file name readable', async () => {
    await page.getByTestId('filter-select').selectOption('all');
    const path = page.getByTestId('tile-path').first();
    await expect.poll(() => path.textContent()).toMatch(/^Balinese\/character01\/\d{4}_\d{2}\.png$/);
    // The text is wider than its box: its start lies left of the box, its end inside it.
    const edges = await path.evaluate((box) => {
      const text = box.firstElementChild!.getBoundingClientRect();
      const shown = box.getBoundingClientRect();
      return { overflows: box.scrollWidth > box.clientWidth, startHidden: text.left < shown.left, endShown: text.right <= shown.right + 0.5 };
    });
    expect(edges).toEqual({ overflows: true, startHidden: true, endShown: true });
    await page.screenshot({ path: join(SCREENSHOTS, 'e2e-grid-paths.png') });
  });
});
