/**
 * Web-mode drops in Debian's Chromium: dropped files stream through /api/upload into the studio's
 * upload folder and are imported, and a file over the upload limit gets an error the page can show
 * (the server answers 413 rather than resetting the connection under the browser).
 */
import { readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_UPLOAD_BYTES } from '../../src/main/web/server';
import { openStudioSession, type StudioSession } from '../helpers/browser';
import { CIFAR10_MINI, tempDir } from '../helpers/fixtures';

let session: StudioSession;
let page: Page;
const scratch = tempDir('atl-e2e-upload-files-');

beforeAll(async () => {
  session = await openStudioSession('atl-e2e-upload-', async (studio) => {
    await studio.call('project.create', { name: 'Dropped files' });
  });
  page = session.page;
});
afterAll(async () => {
  await session?.close();
  scratch.remove();
});

/** Drops files on the window as a user's drag would: the files are read from disk by Chromium itself. */
async function drop(paths: string[]): Promise<void> {
  // A hidden file input is how a page gets disk-backed File objects to put in a DataTransfer.
  const input = await page.evaluateHandle(() => {
    const element = document.createElement('input');
    element.type = 'file';
    element.multiple = true;
    element.style.display = 'none';
    document.body.append(element);
    return element;
  });
  await input.setInputFiles(paths);
  const dataTransfer = await page.evaluateHandle((element) => {
    const transfer = new DataTransfer();
    for (const file of element.files ?? []) transfer.items.add(file);
    element.remove();
    return transfer;
  }, input);
  await page.dispatchEvent('body', 'dragover', { dataTransfer });
  await page.dispatchEvent('body', 'drop', { dataTransfer });
}

describe('dropping files in web mode', () => {
  it('uploads dropped images whole and imports them', async () => {
    await page.goto(session.web.url);
    await expect.poll(() => page.getByTestId('project-title').textContent()).toMatch(/Dropped files/);
    const names = readdirSync(join(CIFAR10_MINI, 'cat')).sort().slice(0, 5);
    await drop(names.map((name) => join(CIFAR10_MINI, 'cat', name)));
    await expect.poll(() => page.getByTestId('import-report').textContent(), { timeout: 60_000 }).toMatch(/Imported\D*5/);

    const uploads = join(session.studio.settings.home, 'uploads');
    const [batch] = readdirSync(uploads);
    expect(readdirSync(join(uploads, batch)).sort()).toEqual(names);
    for (const name of names) expect(readFileSync(join(uploads, batch, name)).equals(readFileSync(join(CIFAR10_MINI, 'cat', name)))).toBe(true);
  });

  it('shows why a file over the upload limit was refused', async () => {
    await page.getByTestId('import-close').click();
    const huge = join(scratch.path, 'huge.jpg');
    writeFileSync(huge, '');
    truncateSync(huge, MAX_UPLOAD_BYTES + 1); // sparse: no disk space, reads as zeros
    await drop([huge]);
    await expect
      .poll(() => page.getByTestId('error-banner').textContent(), { timeout: 60_000 })
      .toMatch(/huge\.jpg.*over 512 MB.*Import dialog/);
  });
});
