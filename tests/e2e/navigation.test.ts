/**
 * Finding one's way, in Debian's Chromium over web mode: two files named 0000.jpg in the folders
 * cat/ and dog/ are told apart on their tiles, in the preview and in the status bar; the twelfth
 * class is given from the keyboard alone; a new project is created from inside another one.
 */
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStudioSession, SCREENSHOTS, type StudioSession } from '../helpers/browser';
import { CIFAR10_MINI } from '../helpers/fixtures';

/** Twelve classes: only the first nine get a digit hotkey. */
const CLASS_NAMES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck', 'cartoon', 'wolf'];

let session: StudioSession;
let page: Page;

beforeAll(async () => {
  session = await openStudioSession('atl-e2e-navigation-', async (studio) => {
    await studio.invoke('project.create', { name: 'Pets' });
    await studio.invoke('import.start', { paths: [join(CIFAR10_MINI, 'cat'), join(CIFAR10_MINI, 'dog')], labelsFromFolders: false });
    await studio.idle();
    for (const name of CLASS_NAMES) await studio.invoke('classes.create', { name });
  });
  page = session.page;
  await page.goto(session.web.url);
});
afterAll(() => session?.close());

const tile = (imageId: number) => page.locator(`[data-testid="tile"][data-image-id="${imageId}"]`);

/** The id of the image imported from `<folder>/<file>` of cifar10-mini. */
async function imageFrom(folder: string, file: string): Promise<number> {
  for (const row of await session.studio.invoke('images.list', { filter: { kind: 'all' }, sort: 'import' })) {
    const detail = await session.studio.invoke('images.get', { id: row.id });
    if (detail.originalPath === join(CIFAR10_MINI, folder, file)) return row.id;
  }
  throw new Error(`${folder}/${file} was not imported`);
}

describe('telling same-named files apart', () => {
  it('shows the folder with the file name on the tile, in the status bar and in the preview', async () => {
    const cat = await imageFrom('cat', '0000.jpg');
    const dog = await imageFrom('dog', '0000.jpg');
    await expect.poll(() => page.getByTestId('tile').count()).toBeGreaterThan(10);
    await page.getByTestId('sort-select').selectOption('name'); // the two 0000.jpg side by side
    for (const [id, path] of [
      [cat, 'cat/0000.jpg'],
      [dog, 'dog/0000.jpg'],
    ] as const) {
      await expect.poll(() => tile(id).getByTestId('tile-path').textContent()).toBe(path);
      expect(await tile(id).getAttribute('title')).toContain(path);
      await tile(id).click();
      await expect.poll(() => page.getByTestId('status-path').textContent()).toBe(path);
      await page.keyboard.press('Space');
      await expect.poll(() => page.getByTestId('preview-path').textContent()).toBe(path);
      await page.screenshot({ path: join(SCREENSHOTS, `e2e-navigation-preview-${path.split('/')[0]}.png`) });
      await page.keyboard.press('Escape');
      await expect.poll(() => page.getByTestId('preview').count()).toBe(0);
    }
    await page.screenshot({ path: join(SCREENSHOTS, 'e2e-navigation-paths.png') });
  });
});

describe('classes beyond the ninth', () => {
  it('says in the class panel and the shortcuts help how to pick any class by name', async () => {
    await expect.poll(() => page.getByTestId('class-item').count()).toBe(12);
    expect(await page.getByTestId('class-picker-hint').textContent()).toMatch(/L.*any class by name/);
    await page.keyboard.press('?');
    await expect.poll(() => page.getByTestId('shortcuts-help').textContent()).toMatch(/L\s*Label the selection with any class: type part of its name, then Enter/);
    await page.screenshot({ path: join(SCREENSHOTS, 'e2e-navigation-shortcuts.png') });
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByTestId('shortcuts-help').count()).toBe(0);
  });

  it('labels an image with the twelfth class from the keyboard only, in the grid and in the preview', async () => {
    const classes = await session.studio.invoke('classes.list', {});
    const byName = new Map(classes.map((c) => [c.name, c.id]));
    expect(classes.find((c) => c.name === 'wolf')?.hotkey).toBeNull();
    await page.getByTestId('sort-select').selectOption('import');
    const ids = await page.getByTestId('tile').evaluateAll((tiles) => tiles.slice(0, 3).map((t) => Number(t.getAttribute('data-image-id'))));

    await page.getByTestId('grid').focus();
    await page.keyboard.press('Home');
    await page.keyboard.press('l');
    await expect.poll(() => page.getByTestId('class-picker').count()).toBe(1);
    await page.keyboard.type('olf'); // any part of the name
    await expect.poll(() => page.getByTestId('class-picker-option').allTextContents()).toEqual(['wolf']);
    await page.screenshot({ path: join(SCREENSHOTS, 'e2e-navigation-class-picker.png') });
    await page.keyboard.press('Enter');
    await expect.poll(() => tile(ids[0]).getAttribute('data-class-id')).toBe(String(byName.get('wolf')));
    await expect.poll(() => page.getByTestId('class-picker').count()).toBe(0);

    // The cursor moved on, and the keyboard is back on the grid: the next image, from the preview.
    await page.keyboard.press('Space');
    await expect.poll(() => page.getByTestId('preview').count()).toBe(1);
    await page.keyboard.press('L');
    await page.keyboard.type('CART');
    await page.keyboard.press('ArrowDown'); // arrows walk the matches; there is only one
    await page.keyboard.press('Enter');
    await expect.poll(() => tile(ids[1]).getAttribute('data-class-id')).toBe(String(byName.get('cartoon')));
    expect(await page.getByTestId('preview').count()).toBe(1);
    // Escape closes the picker without labeling, and leaves the preview open.
    await page.keyboard.press('l');
    await page.keyboard.type('a');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByTestId('class-picker').count()).toBe(0);
    expect(await page.getByTestId('preview').count()).toBe(1);
    await page.keyboard.press('Escape');
    expect(await tile(ids[2]).getAttribute('data-class-id')).toBe('');

    const labels = await session.studio.invoke('images.list', { filter: { kind: 'all' }, sort: 'import' });
    expect(labels.slice(0, 3).map((r) => r.classId)).toEqual([byName.get('wolf'), byName.get('cartoon'), null]);
  });
});

describe('new project from inside a project', () => {
  it('creates a project from the project bar', async () => {
    await page.getByTestId('project-new').click();
    await page.getByTestId('prompt-input').fill('Birds');
    await page.getByTestId('confirm-ok').click();
    await expect.poll(() => page.getByTestId('project-title').textContent()).toBe('Birds');
    await expect.poll(() => page.getByTestId('class-item').count()).toBe(0);
    expect(await page.getByTestId('tile').count()).toBe(0);
    const info = await session.studio.invoke('studio.info', {});
    expect(info.project?.name).toBe('Birds');
    expect(info.recent.map((r) => r.name)).toContain('Pets');
    await page.screenshot({ path: join(SCREENSHOTS, 'e2e-navigation-new-project.png') });
  });
});
