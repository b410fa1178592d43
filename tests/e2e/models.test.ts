/**
 * The Models view in Debian's Chromium: the teachers, the engine in use, the layer inventory,
 * and a feature extraction of the demo project with live progress; the cached count moves while
 * a longer extraction runs; an ONNX backbone with no sidecar uploaded and imported.
 */
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStudioSession, SCREENSHOTS, type StudioSession } from '../helpers/browser';
import { CIFAR10_MINI, SHARED } from '../helpers/fixtures';

let session: StudioSession;
let page: Page;

beforeAll(async () => {
  session = await openStudioSession('atl-e2e-models-');
  page = session.page;
  await page.goto(session.web.url);
});
afterAll(() => session?.close());

describe('Models view', () => {
  it('shows each teacher, the engine that runs it, and its layer inventory', async () => {
    await expect.poll(() => page.getByTestId('project-title').textContent()).toMatch(/Demo/);
    await page.getByTestId('models-open').click();
    await expect.poll(() => page.getByTestId('teacher-item').count()).toBe(3);
    await page.locator('[data-testid="teacher-item"][data-teacher-id="resnet20_cifar10"]').click();
    await expect.poll(() => page.getByTestId('teacher-engine').textContent(), { timeout: 30_000 }).toMatch(/onnxruntime · cpu · CPU, \d+ threads?/);
    expect(await page.getByTestId('layer-toggle').count()).toBe(11);
  });

  it('extracts the demo project features with progress, then reports them cached', async () => {
    await page.getByTestId('pooling-select').selectOption('spatial');
    await expect.poll(() => page.getByTestId('features-status').textContent()).toMatch(/0 of 96/);
    await page.getByTestId('extract-start').click();
    await expect.poll(() => page.getByTestId('extract-progress').textContent(), { timeout: 60_000 }).toMatch(/96\s*\/\s*96/);
    await expect.poll(() => page.getByTestId('features-status').textContent(), { timeout: 30_000 }).toMatch(/96 of 96/);
    await page.screenshot({ path: join(SCREENSHOTS, 'e2e-models.png') });
    const status = await session.studio.invoke('features.status', { modelId: 'resnet20_cifar10', pooling: 'spatial' });
    expect(status).toMatchObject({ images: 96, cached: 96 });
    // Nothing left to extract, and the button says so; an image imported later brings it back.
    const extract = page.getByTestId('extract-start');
    expect(await extract.isDisabled()).toBe(true);
    expect(await extract.getAttribute('title')).toMatch(/Every image has its features cached/);
    await session.studio.invoke('import.start', { paths: [join(CIFAR10_MINI, 'cat', '0000.jpg')], labelsFromFolders: false });
    await session.studio.idle();
    await expect.poll(() => page.getByTestId('features-status').textContent(), { timeout: 30_000 }).toMatch(/96 of 97/);
    expect(await extract.isDisabled()).toBe(false);
  });

  it('moves the cached count while the extraction runs, not only at its end', async () => {
    await session.studio.invoke('project.create', { name: 'CIFAR-10 mini' });
    await session.studio.invoke('import.start', { paths: [CIFAR10_MINI], labelsFromFolders: true });
    await session.studio.idle();
    await page.reload(); // opens on the new project, the Models view closed
    await expect.poll(() => page.getByTestId('project-title').textContent()).toMatch(/CIFAR-10 mini/);
    await page.getByTestId('models-open').click();
    await page.locator('[data-testid="teacher-item"][data-teacher-id="resnet20_cifar10"]').click();
    await page.getByTestId('pooling-select').selectOption('gap');
    await expect.poll(() => page.getByTestId('features-status').textContent(), { timeout: 30_000 }).toMatch(/0 of 500/);

    // Every count the page shows, with the extraction's state at that moment.
    await page.evaluate(() => {
      const seen: { cached: string; state: string }[] = [];
      (window as unknown as { seenCounts: typeof seen }).seenCounts = seen;
      new MutationObserver(() => {
        const cached = document.querySelector('[data-testid="features-status"]')?.textContent?.match(/([\d,]+) of 500/)?.[1] ?? '';
        const state = document.querySelector('[data-testid="extract-progress"]')?.getAttribute('data-state') ?? '';
        if (cached !== seen.at(-1)?.cached) seen.push({ cached, state });
      }).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
    });
    await page.getByTestId('extract-start').click();
    await expect.poll(() => page.getByTestId('features-status').textContent(), { timeout: 120_000 }).toMatch(/500 of 500/);
    const seen = await page.evaluate(() => (window as unknown as { seenCounts: { cached: string; state: string }[] }).seenCounts);
    const during = seen.filter((s) => s.state === 'running' && Number(s.cached) > 0 && Number(s.cached) < 500);
    console.log(`Cached counts shown for 500 images: ${seen.map((s) => `${s.cached} (${s.state || 'idle'})`).join(' → ')}`);
    expect(during.length, JSON.stringify(seen)).toBeGreaterThan(0);
  });

  it('imports an ONNX backbone with no sidecar by upload, with the preprocessing chosen, and shows the layers found', async () => {
    await page.getByTestId('teacher-import-preprocess').selectOption('imagenet');
    await page.getByTestId('teacher-upload').setInputFiles(join(SHARED, 'models/third-party/mobilenetv2-12-int8.onnx'));
    const item = page.locator('[data-testid="teacher-item"][data-teacher-id="mobilenetv2-12-int8"]');
    await expect.poll(() => item.count(), { timeout: 60_000 }).toBe(1);
    expect(await item.getAttribute('aria-current')).toBe('true');
    await expect.poll(() => page.getByTestId('layer-toggle').count(), { timeout: 60_000 }).toBe(26);
    expect(await page.getByTestId('models-view').textContent()).toMatch(/224×224 RGB, center-crop, \(x\/255 − mean\) \/ std, NCHW/);
    await page.screenshot({ path: join(SCREENSHOTS, 'e2e-models-onnx-import.png') });
  });

  it('says, on opening a project, which teacher its features came from is not installed and how to get it back', async () => {
    const { path } = (await session.studio.invoke('project.create', { name: 'Needs MobileNetV2' })) as { path: string };
    await session.studio.invoke('import.start', { paths: [join(CIFAR10_MINI, 'cat', '0000.jpg'), join(CIFAR10_MINI, 'dog', '0000.jpg')], labelsFromFolders: false });
    await session.studio.idle();
    await session.studio.invoke('features.extract', { modelId: 'mobilenetv2-12-int8', layers: ['472'], pooling: 'gap' });
    await session.studio.idle();
    // Removed in the Models view (an imported teacher offers it; a known one does not).
    await page.reload();
    await page.getByTestId('models-open').click();
    await page.locator('[data-testid="teacher-item"][data-teacher-id="resnet20_cifar10"]').click();
    expect(await page.getByTestId('teacher-remove').count()).toBe(0);
    await page.locator('[data-testid="teacher-item"][data-teacher-id="mobilenetv2-12-int8"]').click();
    await page.getByTestId('teacher-remove').click();
    await page.getByTestId('confirm-ok').click();
    await expect.poll(() => page.locator('[data-testid="teacher-item"][data-teacher-id="mobilenetv2-12-int8"]').count()).toBe(0);
    await session.studio.invoke('project.open', { path });
    await page.reload();
    await expect.poll(() => page.getByTestId('error-banner').allTextContents(), { timeout: 30_000 }).toEqual([
      expect.stringMatching(/cached features came from the teacher 'mobilenetv2-12-int8' .*not installed: import its model file again under the same id .*Nothing in the project was deleted/),
    ]);
  });
});
