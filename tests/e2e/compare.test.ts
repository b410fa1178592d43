/**
 * Comparing strategies in Debian's Chromium over web mode, on the demo project and the default
 * teacher (MobileNet): label two more images per class with the keyboard, run a comparison,
 * read its table and charts, reopen it from the runs list, and train a head with `atl`.
 */
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STRATEGY_NAMES } from '../../src/shared/contract';
import { openStudioSession, SCREENSHOTS, type StudioSession } from '../helpers/browser';
import { demoShapesByFileName } from '../helpers/fixtures';

let session: StudioSession;
let page: Page;
/** The demo images' true shapes, by file name: the demo draws them from a fixed seed. */
let shapeOf: Map<string, string>;

beforeAll(async () => {
  shapeOf = await demoShapesByFileName();
  session = await openStudioSession('atl-e2e-compare-');
  page = session.page;
  await page.goto(session.web.url);
});
afterAll(() => session?.close());

const SHOTS = [1, 3];

/** Every result cell as the table shows it: strategy, shots and the mean's text. */
function readTable(table: Locator) {
  return table.getByTestId('result-cell').evaluateAll((cells) =>
    cells.map((c) => ({
      strategy: c.getAttribute('data-strategy'),
      shots: Number(c.getAttribute('data-shots')),
      mean: c.querySelector('[data-testid="result-mean"]')?.textContent ?? '',
    })),
  );
}

/** Size of a chart's canvas and how many of its pixels are drawn. */
function canvasInfo(testid: string) {
  return page
    .getByTestId('comparison-view')
    .getByTestId(testid)
    .first()
    .locator('canvas')
    .evaluate((canvas: HTMLCanvasElement) => {
      const pixels = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      let drawn = 0;
      for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) drawn++;
      const box = canvas.getBoundingClientRect();
      return { width: box.width, height: box.height, drawn };
    });
}

describe('comparing strategies', () => {
  it('labels two more images per class with the keyboard', async () => {
    await expect.poll(() => page.getByTestId('project-title').textContent()).toMatch(/Demo/);
    await expect.poll(() => page.getByTestId('class-item').count()).toBe(4);
    await expect.poll(() => page.getByTestId('tile').count()).toBeGreaterThan(30);
    const classes = await session.studio.invoke('classes.list', {});
    expect(classes.map((c) => c.count)).toEqual([3, 3, 3, 3]);

    const tiles = await page.getByTestId('tile').evaluateAll((nodes) =>
      nodes.map((n) => ({ id: Number(n.getAttribute('data-image-id')), classId: n.getAttribute('data-class-id'), name: (n.getAttribute('title') ?? '').split(' — ')[0] })),
    );
    for (const c of classes) {
      const picks = tiles.filter((t) => t.classId === '' && shapeOf.get(t.name) === c.name).slice(0, 2);
      expect(picks).toHaveLength(2);
      for (const pick of picks) {
        const tile = page.locator(`[data-testid="tile"][data-image-id="${pick.id}"]`);
        await tile.click();
        await page.keyboard.press(String(c.hotkey));
        await expect.poll(() => tile.getAttribute('data-class-id')).toBe(String(c.id));
      }
    }
    await expect
      .poll(() => page.getByTestId('class-item').evaluateAll((items) => items.map((i) => i.getAttribute('data-count'))))
      .toEqual(['5', '5', '5', '5']);
  });

  let runId = 0;

  it('runs a comparison with progress, and shows every strategy × shot count', async () => {
    await page.getByTestId('compare-open').click();
    const view = page.getByTestId('comparison-view');
    await expect.poll(() => view.getByTestId('compare-teacher').inputValue()).toBe('mobilenet_v1_0.75_224');
    expect(await view.getByTestId('compare-strategy').evaluateAll((boxes) => boxes.map((b) => (b as HTMLInputElement).checked))).toEqual(
      STRATEGY_NAMES.map(() => true),
    );
    await view.getByTestId('compare-mode-episodes').check();
    await view.getByTestId('compare-shots').fill(SHOTS.join(', '));
    await view.getByTestId('compare-repeats').fill('20');
    await view.getByTestId('compare-run').click();

    // Progress shows while it runs (features of the labeled images first), and the run is listed at once.
    await expect.poll(() => view.getByTestId('compare-progress').textContent(), { timeout: 20_000, interval: 50 }).toMatch(/Extracting/);
    await expect.poll(() => view.getByTestId('run-item').count(), { timeout: 10_000 }).toBe(1);
    const table = view.getByTestId('results-table');
    await expect.poll(() => table.count(), { timeout: 170_000, interval: 1000 }).toBe(1);
    expect(await view.getByTestId('compare-error').count()).toBe(0);

    const cells = await readTable(table);
    expect(cells).toHaveLength(STRATEGY_NAMES.length * SHOTS.length);
    for (const strategy of STRATEGY_NAMES)
      for (const shots of SHOTS) {
        const cell = cells.find((c) => c.strategy === strategy && c.shots === shots);
        expect(cell?.mean, `${strategy} ${shots}-shot`).toMatch(/^\d{1,3}\.\d$/);
        const mean = Number(cell?.mean);
        expect(mean).toBeGreaterThanOrEqual(0);
        expect(mean).toBeLessThanOrEqual(100);
      }
    // Column headers name the shot counts; ways shrink to the 4 classes there are.
    expect(await table.locator('thead th').allTextContents()).toEqual(['Strategy', '1-shot', '3-shot']);
    expect(await view.getByTestId('run-used').textContent()).toMatch(/4-way/);
    expect(await view.getByTestId('comparison-result').getAttribute('data-status')).toBe('completed');

    for (const chart of ['chart-accuracy', 'chart-profile', 'chart-chosen', 'chart-confusion']) {
      const info = await canvasInfo(chart);
      expect(info.width, chart).toBeGreaterThan(100);
      expect(info.height, chart).toBeGreaterThan(100);
      expect(info.drawn, `${chart} has drawn pixels`).toBeGreaterThan(500);
    }
    expect(await view.getByTestId('mistakes-gallery').count()).toBe(1);

    runId = Number(await view.getByTestId('run-item').first().getAttribute('data-run-id'));
    expect(await view.getByTestId('run-item').first().getAttribute('data-status')).toBe('completed');
    await page.screenshot({ path: join(SCREENSHOTS, 'e2e-compare-dark.png') });
  });

  it('reopens the run from the runs list, in the light theme too', async () => {
    const view = page.getByTestId('comparison-view');
    const before = await readTable(view.getByTestId('results-table'));
    await page.keyboard.press('Escape');
    await expect.poll(() => view.count()).toBe(0);
    await page.getByTestId('theme-toggle').click();
    await expect.poll(() => page.evaluate(() => document.documentElement.dataset.theme)).toBe('light');

    await page.getByTestId('compare-open').click();
    const item = view.locator(`[data-testid="run-item"][data-run-id="${runId}"]`);
    await expect.poll(() => item.count()).toBe(1);
    await item.getByTestId('run-open').click();
    await expect.poll(() => view.getByTestId('results-table').count()).toBe(1);
    expect(await readTable(view.getByTestId('results-table'))).toEqual(before);
    expect((await canvasInfo('chart-accuracy')).drawn).toBeGreaterThan(500);
    await page.screenshot({ path: join(SCREENSHOTS, 'e2e-compare-light.png') });
  });

  it('trains a head with atl and lists it with its cross-validated accuracy', async () => {
    const panel = page.getByTestId('heads-panel');
    await panel.getByTestId('head-strategy').selectOption('atl');
    await panel.getByTestId('head-train').click();
    const head = panel.getByTestId('head-item');
    await expect.poll(() => head.count(), { timeout: 120_000, interval: 1000 }).toBe(1);
    expect(await head.textContent()).toMatch(/atl/);
    expect((await head.getByTestId('head-accuracy').textContent())?.trim()).toMatch(/^\d{1,3}\.\d( ± \d+\.\d)? %/);
    expect(await panel.getByTestId('head-error').count()).toBe(0);
    const [stored] = await session.studio.invoke('heads.list', {});
    expect(stored).toMatchObject({ strategy: 'atl', modelId: 'mobilenet_v1_0.75_224', cvAccuracy: expect.any(Number) });
    await page.screenshot({ path: join(SCREENSHOTS, 'e2e-compare-head.png') });
  });

  it('says why a run cannot start, and cancels a running one', async () => {
    const view = page.getByTestId('comparison-view');
    await view.getByTestId('compare-shots').fill('30');
    await view.getByTestId('compare-run').click();
    await expect.poll(() => view.getByTestId('compare-error').textContent()).toMatch(/30-shot/);
    expect(await view.getByTestId('run-item').count()).toBe(1);

    await view.getByTestId('compare-shots').fill('1, 2, 3');
    await view.getByTestId('compare-repeats').fill('2000');
    await view.getByTestId('compare-run').click();
    expect(await view.getByTestId('compare-error').count()).toBe(0);
    await view.getByTestId('compare-cancel').click();
    await expect.poll(() => view.getByTestId('compare-progress').getAttribute('data-state'), { timeout: 30_000 }).toBe('cancelled');
    await expect.poll(() => view.getByTestId('run-item').first().getAttribute('data-status')).toBe('cancelled');
    expect(await view.getByTestId('run-item').count()).toBe(2);
  });
});
