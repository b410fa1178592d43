/**
 * The first minute of a new user, in Debian's Chromium over web mode: the demo project opens,
 * they create a project, import a folder, label with the keyboard, undo once, reload, and find
 * their labels kept.
 */
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStudioSession, SCREENSHOTS, type StudioSession } from '../helpers/browser';
import { CIFAR10_MINI } from '../helpers/fixtures';

let session: StudioSession;
let page: Page;

beforeAll(async () => {
  session = await openStudioSession('atl-e2e-');
  page = session.page;
});
afterAll(() => session?.close());

const tile = (imageId: number) => page.locator(`[data-testid="tile"][data-image-id="${imageId}"]`);

describe('labeling in the browser', () => {
  it('refuses a request without the token', async () => {
    const response = await page.goto(`http://127.0.0.1:${session.web.port}/`);
    expect(response?.status()).toBe(401);
    expect(await page.textContent('body')).toMatch(/access token/);
  });

  it('opens on the demo project, with labeled examples', async () => {
    await page.goto(session.web.url);
    await expect.poll(() => page.getByTestId('project-title').textContent()).toMatch(/Demo/);
    await expect.poll(() => page.getByTestId('class-item').count()).toBe(4);
    await expect.poll(() => page.getByTestId('tile').count()).toBeGreaterThan(10);
    await page.screenshot({ path: join(SCREENSHOTS, 'e2e-demo.png') });
  });

  it('creates a project, imports a folder, labels with the keyboard, undoes, and keeps labels over a reload', async () => {
    await page.getByTestId('project-close').click();
    await page.getByTestId('new-project').click();
    await page.getByTestId('project-name-input').fill('Cats and dogs');
    await page.getByTestId('create-project').click();
    await expect.poll(() => page.getByTestId('project-title').textContent()).toMatch(/Cats and dogs/);

    await page.getByTestId('import-open').click();
    await page.getByTestId('import-path').fill(`${join(CIFAR10_MINI, 'cat')}\n${join(CIFAR10_MINI, 'dog')}`);
    await page.getByTestId('import-start').click();
    await expect.poll(() => page.getByTestId('import-report').textContent(), { timeout: 60_000 }).toMatch(/Imported\D*100/);
    await page.getByTestId('import-close').click();
    await expect.poll(() => page.getByTestId('tile').count()).toBeGreaterThan(10);

    for (const name of ['cat', 'dog']) {
      await page.getByTestId('class-new-name').fill(name);
      await page.getByTestId('class-add').click();
    }
    await expect.poll(() => page.getByTestId('class-item').count()).toBe(2);
    const classIds = await page.getByTestId('class-item').evaluateAll((items) => items.map((i) => Number(i.getAttribute('data-class-id'))));

    const ids = await page.getByTestId('tile').evaluateAll((tiles) => tiles.slice(0, 3).map((t) => Number(t.getAttribute('data-image-id'))));
    await tile(ids[0]).click();
    await page.keyboard.press('1'); // cat, then focus moves on
    await page.keyboard.press('2'); // dog
    await page.keyboard.press('1'); // cat
    await expect.poll(() => tile(ids[2]).getAttribute('data-class-id')).toBe(String(classIds[0]));
    await page.keyboard.press('Control+z');
    await expect.poll(() => tile(ids[2]).getAttribute('data-class-id')).toBe('');

    await page.reload();
    await expect.poll(() => page.getByTestId('project-title').textContent()).toMatch(/Cats and dogs/);
    await expect.poll(() => tile(ids[0]).getAttribute('data-class-id')).toBe(String(classIds[0]));
    expect(await tile(ids[1]).getAttribute('data-class-id')).toBe(String(classIds[1]));
    expect(await tile(ids[2]).getAttribute('data-class-id')).toBe('');
    const counts = await page.getByTestId('class-item').evaluateAll((items) => items.map((i) => i.getAttribute('data-count')));
    expect(counts).toEqual(['1', '1']);
    await page.screenshot({ path: join(SCREENSHOTS, 'e2e-labeling.png') });
  });
});
