/**
 * The Models view in Debian's Chromium: the teachers, the engine in use, the layer inventory,
 * and a feature extraction of the demo project with live progress.
 */
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStudioSession, SCREENSHOTS, type StudioSession } from '../helpers/browser';

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
  });
});
