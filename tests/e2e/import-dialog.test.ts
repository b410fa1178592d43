/**
 * The Import dialog in Debian's Chromium over web mode, when an import goes wrong: a missing
 * folder is reported as a failed import (not "finished" with "1 file found"), Past imports says
 * so, and the "Labels from folders" choice does not follow the user into the next project.
 */
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStudioSession, SCREENSHOTS, type StudioSession } from '../helpers/browser';
import { CIFAR10_MINI } from '../helpers/fixtures';

let session: StudioSession;
let page: Page;

beforeAll(async () => {
  session = await openStudioSession('atl-e2e-import-', async (studio) => {
    await studio.invoke('project.create', { name: 'First' });
  });
  page = session.page;
  await page.goto(session.web.url);
});
afterAll(() => session?.close());

describe('the Import dialog when an import fails', () => {
  it('reports a missing folder as a failed import with its reason and what to do', async () => {
    await expect.poll(() => page.getByTestId('project-title').textContent()).toMatch(/First/);
    const missing = join(CIFAR10_MINI, 'no-such-class');
    await page.getByTestId('import-open').click();
    await page.getByTestId('import-path').fill(`${missing}\n${join(CIFAR10_MINI, 'cat')}`);
    await page.getByTestId('import-labels-from-folders').check();
    await page.getByTestId('import-start').click();
    const report = page.getByTestId('import-report');
    await expect.poll(() => report.textContent(), { timeout: 60_000 }).toMatch(/Import failed/);
    const text = (await report.textContent())!;
    expect(text).toMatch(/1 of the 2 paths could not be imported/);
    expect(text).toMatch(/Imported\D*50\b/); // the other path is imported all the same
    expect(text).toMatch(/50 files found/);
    expect(text).not.toMatch(/finished|completed/i);
    expect(await page.getByTestId('import-failure').textContent()).toMatch(/no-such-class.*File or folder not found/);
    await page.screenshot({ path: join(SCREENSHOTS, 'e2e-import-failed.png') });

    await page.getByRole('tab', { name: 'Past imports' }).click();
    await expect.poll(() => page.getByTestId('past-import').first().textContent()).toMatch(/failed/i);
    expect(await page.getByTestId('past-import').first().textContent()).not.toMatch(/completed/i);
    await page.getByTestId('import-close').click();
  });

  it('starts the next project with "Labels from folders" off', async () => {
    if (await page.getByTestId('import-dialog').isVisible()) await page.getByTestId('import-close').first().click();
    await page.getByTestId('project-close').click();
    await page.getByTestId('new-project').click();
    await page.getByTestId('project-name-input').fill('Second');
    await page.getByTestId('create-project').click();
    await expect.poll(() => page.getByTestId('project-title').textContent()).toMatch(/Second/);
    await page.getByTestId('import-open').click();
    expect(await page.getByTestId('import-labels-from-folders').isChecked()).toBe(false);
  });
});
