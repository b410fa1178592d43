/**
 * Comparing strategies in Debian's Chromium over web mode, on the demo project and the default
 * teacher (MobileNet): label two more images per class with the keyboard, run a comparison,
 * read its verdict, table and charts, open a misclassified image, reopen the run from the runs
 * list, train the verdict's strategy and `atl`, see a head go stale when a label changes and
 * retrain it, and cancel a run keeping what it finished.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STRATEGY_NAMES } from '../../src/shared/contract';
import { STRATEGY_INFO } from '../../src/shared/strategies';
import { comparisonVerdict } from '../../src/shared/verdict';
import { openStudioSession, SCREENSHOTS, type StudioSession } from '../helpers/browser';
import { CIFAR10_MINI, copyCifarClasses, demoShapesByFileName } from '../helpers/fixtures';

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

/** A strategy's one-line explanation as the page shows it: its `code` spans without their backticks. */
const shownInfo = (strategy: keyof typeof STRATEGY_INFO) => STRATEGY_INFO[strategy].replaceAll('`', '');

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
    // What each strategy does is written beside it, not only on hover.
    const form = view.getByTestId('compare-form');
    expect(await form.getByTestId('strategy-info').allTextContents()).toEqual(STRATEGY_NAMES.map(shownInfo));
    for (const info of await form.getByTestId('strategy-info').all()) expect(await info.isVisible()).toBe(true);
    // Splits have their own default count (each split holds every label), and episodes get theirs back.
    await view.getByTestId('compare-mode-splits').check();
    expect(await view.getByTestId('compare-repeats').inputValue()).toBe('30');
    await view.getByTestId('compare-mode-episodes').check();
    expect(await view.getByTestId('compare-repeats').inputValue()).toBe('100');
    await view.getByTestId('compare-shots').fill(SHOTS.join(', '));
    await view.getByTestId('compare-repeats').fill('20');
    await view.getByTestId('compare-run').click();

    // Progress shows while it runs (features of the labeled images first, and why), and the run is listed at once.
    await expect
      .poll(() => view.getByTestId('compare-progress').textContent(), { timeout: 20_000, interval: 50 })
      .toMatch(/Extracting features of 20 labeled images first, needed by every strategy/);
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

    // The verdict comes first, says what to train and why, as the verdict of the stored cells does.
    const verdict = view.getByTestId('verdict');
    const expected = comparisonVerdict((await session.studio.invoke('compare.get', { id: runId })).cells)!;
    expect(await verdict.getAttribute('data-strategy')).toBe(expected.strategy);
    expect((await verdict.getByTestId('verdict-text').textContent())?.trim()).toBe(expected.text.replaceAll('`', ''));
    expect(await verdict.getByTestId('verdict-train').textContent()).toMatch(new RegExp(`Train ${expected.strategy}`));
    const [verdictTop, tableTop] = await Promise.all([verdict.boundingBox(), table.boundingBox()]);
    expect(verdictTop!.y).toBeLessThan(tableTop!.y);
    // Each row of the results says what its strategy does.
    expect(await table.getByTestId('strategy-info').allTextContents()).toEqual(STRATEGY_NAMES.map(shownInfo));
    await page.screenshot({ path: join(SCREENSHOTS, 'e2e-compare-dark.png') });
  });

  it('opens a misclassified image in the preview, and comes back to the run with Esc', async () => {
    const view = page.getByTestId('comparison-view');
    const mistake = view.getByTestId('mistake').first();
    await expect.poll(() => mistake.count()).toBe(1);
    const imageId = Number(await mistake.getAttribute('data-image-id'));
    const { name } = await session.studio.invoke('images.get', { id: imageId });
    await mistake.click();
    const preview = page.getByTestId('preview');
    await expect.poll(() => preview.count()).toBe(1);
    await expect.poll(() => preview.getByTestId('preview-path').textContent()).toContain(name);
    await page.screenshot({ path: join(SCREENSHOTS, 'e2e-compare-mistake-preview.png') });
    await page.keyboard.press('Escape');
    await expect.poll(() => preview.count()).toBe(0);
    expect(await view.getByTestId('verdict').count()).toBe(1);
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

  it("trains the verdict's strategy from the verdict, with its progress there", async () => {
    const view = page.getByTestId('comparison-view');
    const verdict = view.getByTestId('verdict').first();
    const strategy = (await verdict.getAttribute('data-strategy'))!;
    await verdict.getByTestId('verdict-train').click();
    await expect.poll(() => verdict.getByTestId('verdict-trained').count(), { timeout: 120_000, interval: 500 }).toBe(1);
    expect(await verdict.getByTestId('verdict-train-error').count()).toBe(0);
    const [stored] = await session.studio.invoke('heads.list', {});
    expect(stored).toMatchObject({ strategy, modelId: 'mobilenet_v1_0.75_224', staleReason: null });
    await expect.poll(() => page.getByTestId('heads-panel').getByTestId('head-item').count()).toBe(1);
  });

  it('trains a head with atl and lists it with its cross-validated accuracy', async () => {
    const panel = page.getByTestId('heads-panel');
    await panel.getByTestId('head-strategy').selectOption('atl');
    expect(await panel.getByTestId('head-strategy-info').textContent()).toContain(shownInfo('atl'));
    await panel.getByTestId('head-train').click();
    const head = panel.getByTestId('head-item');
    await expect.poll(() => head.count(), { timeout: 120_000, interval: 1000 }).toBe(2);
    expect(await head.first().textContent()).toMatch(/atl/);
    expect((await head.first().getByTestId('head-accuracy').textContent())?.trim()).toMatch(/^\d{1,3}\.\d(\u00a0±\u00a0\d+\.\d)?\u00a0%/);
    expect(await panel.getByTestId('head-error').count()).toBe(0);
    const [stored] = await session.studio.invoke('heads.list', {});
    expect(stored).toMatchObject({ strategy: 'atl', modelId: 'mobilenet_v1_0.75_224', cvAccuracy: expect.any(Number) });
    await page.screenshot({ path: join(SCREENSHOTS, 'e2e-compare-head.png') });
  });

  it("marks the heads stale when a label changes, in the panel and the grid's head chip, and retrains one in one click", async () => {
    const view = page.getByTestId('comparison-view');
    await page.keyboard.press('Escape');
    await expect.poll(() => view.count()).toBe(0);
    const classes = await session.studio.invoke('classes.list', {});
    const first = classes.find((c) => c.hotkey === 1)!;
    const tile = page.locator('[data-testid="tile"][data-class-id=""]').first();
    const imageId = await tile.getAttribute('data-image-id');
    await tile.click();
    await page.keyboard.press('1');
    await expect.poll(() => page.locator(`[data-testid="tile"][data-image-id="${imageId}"]`).getAttribute('data-class-id')).toBe(String(first.id));
    await expect.poll(() => page.getByTestId('head-chip-stale').count()).toBe(1);

    await page.getByTestId('compare-open').click();
    const panel = page.getByTestId('heads-panel');
    await expect.poll(() => panel.getByTestId('head-stale').count()).toBe(2);
    expect(await panel.getByTestId('head-stale').first().textContent()).toContain(`${first.name}: 5 → 6 labels`);
    await panel.getByTestId('head-stale').first().scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(SCREENSHOTS, 'e2e-compare-stale.png') });

    await panel.getByTestId('head-retrain').first().click();
    await expect.poll(() => panel.getByTestId('head-item').count(), { timeout: 120_000, interval: 500 }).toBe(3);
    expect(await panel.getByTestId('head-item').first().getByTestId('head-stale').count()).toBe(0);
    expect(await panel.getByTestId('head-error').count()).toBe(0);
    const [retrained] = await session.studio.invoke('heads.list', {});
    expect(retrained).toMatchObject({ strategy: 'atl', modelId: 'mobilenet_v1_0.75_224', staleReason: null });
    expect(retrained.classes.find((c) => c.id === first.id)!.labels).toBe(6);
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
    await expect.poll(() => view.getByTestId('compare-progress').textContent(), { timeout: 30_000, interval: 50 }).toMatch(/episode ([3-9]|\d\d+) of 2000/);

    // Training while it runs is refused, and the reason shows beside the button that was clicked.
    const verdict = view.getByTestId('verdict').first();
    await verdict.getByTestId('verdict-train').click();
    await expect.poll(() => verdict.getByTestId('verdict-train-error').textContent()).toMatch(/A job is running/);

    await view.getByTestId('compare-cancel').click();
    await expect.poll(() => view.getByTestId('compare-progress').getAttribute('data-state'), { timeout: 30_000 }).toBe('cancelled');
    await expect.poll(() => view.getByTestId('run-item').first().getAttribute('data-status')).toBe('cancelled');
    expect(await view.getByTestId('run-item').count()).toBe(2);
    // What it finished is kept and shown: the 1-shot episodes done before the cancel.
    const result = view.locator('[data-testid="comparison-result"][data-status="cancelled"]');
    await expect.poll(() => result.count()).toBe(1);
    expect(await result.getByTestId('run-message').textContent()).toMatch(/Cancelled: the results hold the episodes finished before the cancel/);
    expect(await result.getByTestId('results-table').locator('thead th').allTextContents()).toEqual(['Strategy', '1-shot']);
    expect(await result.getByTestId('result-cell').count()).toBe(STRATEGY_NAMES.length);
    expect(await result.getByTestId('run-used').textContent()).toMatch(/1-shot: 4-way, \d+ queries, \d+ episodes/);
    await page.screenshot({ path: join(SCREENSHOTS, 'e2e-compare-cancelled.png') });
  });

  it("fits a 10-class head's confusion matrix in its panel at 1400×900", async () => {
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByTestId('comparison-view').count()).toBe(0);
    // CIFAR-10, 5 labeled images per class, in a project of its own.
    const images = join(session.studio.settings.home, 'cifar10-5');
    copyCifarClasses(images, readdirSync(CIFAR10_MINI), 5);
    await session.studio.invoke('project.create', { name: 'ten classes' });
    await session.studio.invoke('import.start', { paths: [images], labelsFromFolders: true });
    await session.studio.idle();
    await session.studio.invoke('heads.train', { modelId: 'mobilenet_v1_0.75_224', strategy: 'penultimate' });
    await session.studio.idle();
    await expect.poll(() => page.getByTestId('project-title').textContent()).toMatch(/ten classes/);

    await page.getByTestId('compare-open').click();
    const matrix = page.getByTestId('heads-panel').getByTestId('head-confusion');
    await expect.poll(() => matrix.count()).toBe(1);
    await matrix.scrollIntoViewIfNeeded();
    expect(await matrix.locator('tbody tr').count()).toBe(10);
    const fit = await matrix.evaluate((table) => {
      const item = table.closest('[data-testid="head-item"]')!.getBoundingClientRect();
      const box = table.getBoundingClientRect();
      const aside = table.closest('aside')!;
      return { right: box.right, itemRight: item.right, asideOverflow: aside.scrollWidth - aside.clientWidth };
    });
    expect(fit.right).toBeLessThanOrEqual(fit.itemRight);
    expect(fit.asideOverflow).toBe(0);
    await page.screenshot({ path: join(SCREENSHOTS, 'e2e-compare-head-10-classes.png') });
  });
});
