/**
 * A configured strategy in the browser (web mode, the demo project, MobileNet): the comparison
 * form's Options add `atl(maxSize=1)` beside `atl` (a bad value is refused with its key named), the
 * results name it by its label, and the heads panel trains it and shows its parameters and the
 * studio version.
 */
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STUDIO_VERSION } from '../../src/main/services/studio-version';
import { openStudioSession, SCREENSHOTS, type StudioSession } from '../helpers/browser';

let session: StudioSession;
let page: Page;

beforeAll(async () => {
  session = await openStudioSession('atl-e2e-configured-');
  page = session.page;
  await page.goto(session.web.url);
});
afterAll(() => session?.close());

describe('a configured strategy', () => {
  it('is added from the form, compared beside its default, and trained with its parameters', async () => {
    await expect.poll(() => page.getByTestId('project-title').textContent()).toMatch(/Demo/);
    await page.getByTestId('compare-open').click();
    const view = page.getByTestId('comparison-view');
    await expect.poll(() => view.getByTestId('compare-teacher').inputValue()).toBe('mobilenet_v1_0.75_224');
    // Only penultimate and atl, to keep the run short.
    for (const box of await view.getByTestId('compare-strategy').all()) {
      if (!['penultimate', 'atl'].includes((await box.getAttribute('value'))!)) await box.uncheck();
    }

    const options = view.locator('[data-testid="strategy-options"][data-strategy="atl"]');
    await options.locator('summary').click();
    const maxSize = options.locator('[data-testid="strategy-param"][data-param="maxSize"]');
    expect(await maxSize.getAttribute('placeholder')).toBe('8');
    await maxSize.fill('0');
    await options.getByTestId('strategy-add').click();
    expect(await options.getByTestId('strategy-param-error').textContent()).toContain('atl: maxSize must be ≥ 1 (got 0)');
    expect(await view.getByTestId('configured-strategy').count()).toBe(0);
    await maxSize.fill('1');
    expect((await options.getByTestId('strategy-add').textContent())?.trim()).toBe('Add atl(maxSize=1)');
    await options.getByTestId('strategy-add').click();
    expect(await view.getByTestId('configured-strategy').getAttribute('data-label')).toBe('atl(maxSize=1)');
    await view.getByTestId('compare-form').screenshot({ path: join(SCREENSHOTS, 'compare-configured-strategy.png') });

    await view.getByTestId('compare-shots').fill('1, 2');
    await view.getByTestId('compare-repeats').fill('6');
    await view.getByTestId('compare-run').click();
    const table = view.getByTestId('results-table');
    await expect.poll(() => table.count(), { timeout: 120_000, interval: 500 }).toBe(1);
    const rows = await table.getByTestId('result-cell').evaluateAll((cells) => cells.map((c) => `${c.getAttribute('data-strategy')}/${c.getAttribute('data-shots')}`));
    expect(rows).toEqual(['penultimate/1', 'penultimate/2', 'atl/1', 'atl/2', 'atl(maxSize=1)/1', 'atl(maxSize=1)/2']);

    const panel = view.getByTestId('heads-panel');
    await panel.getByTestId('head-strategy').selectOption('atl(maxSize=1)');
    await panel.getByTestId('head-train').click();
    await expect.poll(() => panel.getByTestId('head-item').count(), { timeout: 120_000, interval: 500 }).toBe(1);
    const head = panel.getByTestId('head-item').first();
    expect(await head.getByTestId('head-strategy-label').textContent()).toBe('atl(maxSize=1)');
    await head.getByTestId('head-params').evaluate((p) => p.closest('details')?.setAttribute('open', ''));
    expect(await head.getByTestId('head-params').textContent()).toMatch(/maxSize=1,\s*guardLevel=0\.05/);
    expect(await head.getByTestId('head-version').textContent()).toContain(`ATL Studio ${STUDIO_VERSION}`);
    const [stored] = await session.studio.invoke('heads.list', {});
    expect(stored.params.maxSize).toBe(1);
  });
});
