/**
 * Predict, accept and label next in Debian's Chromium over web mode, on the demo project (4 shapes
 * × 24 images, 3 labeled each) and the default teacher (MobileNet): the label-next queue at a cold
 * start, a head trained from the heads panel, its predictions in the grid (mostly the true
 * shapes), the "Predicted:" filter, accepting one prediction with A and undoing it, a suggestion
 * focused in the grid and labeled, and the head exported as ONNX through the export dialog.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStudioSession, SCREENSHOTS, type StudioSession } from '../helpers/browser';
import { demoShapesByFileName, tempDir } from '../helpers/fixtures';

let session: StudioSession;
let page: Page;
/** The demo images' true shapes, by file name: the demo draws them from a fixed seed. */
let shapeOf: Map<string, string>;
const out = tempDir('atl-e2e-predict-out-');

beforeAll(async () => {
  shapeOf = await demoShapesByFileName();
  session = await openStudioSession('atl-e2e-predict-');
  page = session.page;
  await page.goto(session.web.url);
});
afterAll(async () => {
  await session?.close();
  out.remove();
});

const tile = (imageId: number) => page.locator(`[data-testid="tile"][data-image-id="${imageId}"]`);

/** What every tile in the DOM shows: ids, label, prediction, source, confidence text and file name. */
function readTiles() {
  return page.getByTestId('tile').evaluateAll((nodes) =>
    nodes.map((n) => ({
      id: Number(n.getAttribute('data-image-id')),
      classId: n.getAttribute('data-class-id'),
      predictedClassId: n.getAttribute('data-predicted-class-id'),
      source: n.getAttribute('data-source'),
      prediction: n.querySelector('[data-testid="tile-prediction"]')?.textContent?.trim() ?? null,
      confidence: n.querySelector('[data-testid="tile-confidence"]')?.textContent?.trim() ?? null,
      name: (n.getAttribute('title') ?? '').split(' — ')[0],
    })),
  );
}

let classByName: Map<string, { id: number; hotkey: number | null }>;

describe('predicting, accepting and labeling next', () => {
  it('suggests what to label at a cold start, before any head exists (diversity only)', async () => {
    await expect.poll(() => page.getByTestId('project-title').textContent()).toMatch(/Demo/);
    await expect.poll(() => page.getByTestId('tile').count()).toBeGreaterThan(30);
    const classes = await session.studio.invoke('classes.list', {});
    classByName = new Map(classes.map((c) => [c.name, { id: c.id, hotkey: c.hotkey }]));
    expect(await page.getByTestId('head-status').textContent()).toMatch(/No head trained/);

    await page.getByTestId('label-next-toggle').click();
    const panel = page.getByTestId('label-next');
    expect(await panel.getByTestId('label-next-mode').textContent()).toMatch(/diversity only/);
    await expect.poll(() => panel.getByTestId('suggestion').count(), { timeout: 120_000, interval: 500 }).toBe(20);
    await page.getByTestId('label-next-toggle').click();
    expect(await panel.count()).toBe(0);
  });

  it('trains a head in the heads panel, with per-class precision, recall and confusion', async () => {
    await page.getByTestId('compare-open').click();
    const panel = page.getByTestId('heads-panel');
    await panel.getByTestId('head-strategy').selectOption('penultimate');
    await panel.getByTestId('head-train').click();
    const head = panel.getByTestId('head-item');
    await expect.poll(() => head.count(), { timeout: 120_000, interval: 500 }).toBe(1);
    expect(await head.textContent()).toMatch(/penultimate/);
    const rows = await head.getByTestId('head-quality-row').evaluateAll((trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent?.trim())));
    expect(rows.map((r) => r[0])).toEqual(['circle', 'square', 'triangle', 'star']);
    for (const [, precision, recall] of rows) {
      expect(precision).toMatch(/^(\d{1,3}\.\d\u00a0%|—)$/);
      expect(recall).toMatch(/^\d{1,3}\.\d\u00a0%$/); // every class has held-out labels
    }
    // The matrix: 4 × 4 counts, summing to what the head was cross-validated on.
    const counts = await head.getByTestId('head-confusion').locator('tbody td').allTextContents();
    expect(counts).toHaveLength(16);
    const [stored] = await session.studio.invoke('heads.list', {});
    expect(counts.map(Number)).toEqual(stored.cvConfusion?.flat());
  });

  it('predicts every image with the head and makes it the active head', async () => {
    const panel = page.getByTestId('heads-panel');
    await panel.getByTestId('head-predict').click();
    await expect.poll(() => panel.getByTestId('head-active').count(), { timeout: 120_000, interval: 500 }).toBe(1);
    expect(await panel.getByTestId('predict-error').count()).toBe(0);
    await expect.poll(() => panel.getByTestId('predictions-export').textContent()).toMatch(/96/);
    await page.screenshot({ path: join(SCREENSHOTS, 'e2e-predict-heads.png') });
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByTestId('comparison-view').count()).toBe(0);
    await expect.poll(() => page.getByTestId('predicted-count').textContent()).toBe('96/96 predicted');
  });

  it('shows predicted classes with confidence on unlabeled tiles, mostly the true shapes', async () => {
    await expect.poll(async () => (await readTiles()).filter((t) => t.predictedClassId !== '').length).toBeGreaterThan(30);
    const tiles = await readTiles();
    const unlabeled = tiles.filter((t) => t.classId === '');
    expect(unlabeled.length).toBeGreaterThan(30);
    let right = 0;
    for (const t of unlabeled) {
      expect(t.predictedClassId, t.name).not.toBe('');
      expect(t.confidence, t.name).toMatch(/^\d{1,3}\u00a0%$/);
      expect(t.source).toBe('');
      const shape = shapeOf.get(t.name)!;
      expect(t.prediction).toMatch(/^(circle|square|triangle|star)$/);
      if (classByName.get(shape)?.id === Number(t.predictedClassId)) right++;
    }
    expect(right / unlabeled.length, `${right} of ${unlabeled.length} predicted right`).toBeGreaterThan(0.6);
    // Labeled tiles show their label, not a prediction chip.
    for (const t of tiles.filter((t) => t.classId !== '')) {
      expect(t.source).toBe('human');
      expect(t.prediction).toBeNull();
    }
    // Drawn without dashed borders: a hundred of them repainted every frame slowed a fast scroll by half (issue 15).
    const borders = await page.locator('[data-testid="tile"].predicted').first().evaluate((tile) => {
      const chip = tile.querySelector('[data-testid="tile-prediction"]')!;
      return [getComputedStyle(tile).borderTopStyle, getComputedStyle(chip).borderTopStyle];
    });
    expect(borders).toEqual(['solid', 'solid']);
    await page.screenshot({ path: join(SCREENSHOTS, 'e2e-predict-grid.png') });
  });

  it('filters by "Predicted: circle", and sorts least confident first', async () => {
    const circle = classByName.get('circle')!.id;
    await page.getByTestId('filter-select').selectOption(`predicted:${circle}`);
    const expected = await session.studio.invoke('images.list', { filter: { kind: 'predicted', classId: circle }, sort: 'import' });
    expect(expected.length).toBeGreaterThan(5);
    await expect.poll(() => page.getByTestId('image-count').textContent()).toBe(`${expected.length} images`);
    const tiles = await readTiles();
    expect(tiles.map((t) => t.id).sort((a, b) => a - b)).toEqual(expected.map((r) => r.id).sort((a, b) => a - b));
    for (const t of tiles) {
      expect(t.classId).toBe('');
      expect(t.predictedClassId).toBe(String(circle));
      expect(t.prediction).toBe('circle');
    }

    await page.getByTestId('sort-select').selectOption('confidence');
    await expect
      .poll(async () => (await readTiles()).map((t) => Number(t.confidence?.replace('%', ''))))
      .toEqual([...expected].sort((a, b) => a.confidence! - b.confidence!).map((r) => Math.round(r.confidence! * 100)));
    await page.screenshot({ path: join(SCREENSHOTS, 'e2e-predict-filter.png') });
    await page.getByTestId('sort-select').selectOption('import');
    await page.getByTestId('filter-select').selectOption('all');
    await expect.poll(() => page.getByTestId('image-count').textContent()).toBe('96 images');
  });

  it('accepts the focused prediction with A (an accepted label, not a human one), and Ctrl+Z reverts it', async () => {
    const target = (await readTiles()).find((t) => t.classId === '')!;
    await tile(target.id).click();
    await page.keyboard.press('a');
    await expect.poll(() => tile(target.id).getAttribute('data-source')).toBe('prediction');
    expect(await tile(target.id).getAttribute('data-class-id')).toBe(target.predictedClassId);
    expect(await tile(target.id).getByTestId('tile-accepted').getAttribute('aria-label')).toBe('accepted prediction');
    const [row] = (await session.studio.invoke('images.list', { filter: { kind: 'all' }, sort: 'import' })).filter((r) => r.id === target.id);
    expect(row).toMatchObject({ classId: Number(target.predictedClassId), source: 'prediction' });
    // The cursor moved on, as after a number key.
    expect(await tile(target.id).evaluate((n) => n.classList.contains('focused'))).toBe(false);

    await page.keyboard.press('Control+z');
    await expect.poll(() => tile(target.id).getAttribute('data-class-id')).toBe('');
    expect(await tile(target.id).getAttribute('data-source')).toBe('');
    expect(await tile(target.id).getAttribute('data-predicted-class-id')).toBe(target.predictedClassId);
  });

  it('accepts every prediction listed with Shift+A after a confirmation, in one undo step', async () => {
    const all = () => session.studio.invoke('images.list', { filter: { kind: 'all' }, sort: 'import' });
    const open = (await all()).filter((r) => r.classId === null);
    expect(open.length).toBeGreaterThan(20);
    await page.keyboard.press('Shift+A');
    const dialog = page.getByTestId('confirm-dialog');
    await expect.poll(() => dialog.textContent()).toMatch(new RegExp(`Accept ${open.length} predictions`));
    await dialog.getByTestId('confirm-ok').click();
    await expect.poll(async () => (await all()).filter((r) => r.source === 'prediction').length).toBe(open.length);
    await expect.poll(async () => (await readTiles()).every((t) => t.classId !== '')).toBe(true);
    expect((await all()).filter((r) => r.source === 'human')).toHaveLength(12);

    await page.keyboard.press('Control+z');
    await expect.poll(async () => (await all()).filter((r) => r.classId === null).length).toBe(open.length);
    await expect.poll(async () => (await readTiles()).filter((t) => t.source === 'prediction').length).toBe(0);
  });

  it('lists 20 suggestions to label next; a click focuses one in the grid, ready for its number key', async () => {
    // From a filter that hides it: the grid goes back to all images.
    await page.getByTestId('filter-select').selectOption(`class:${classByName.get('star')!.id}`);
    await page.getByTestId('label-next-toggle').click();
    const panel = page.getByTestId('label-next');
    expect(await panel.getByTestId('label-next-mode').textContent()).toMatch(/least sure/);
    await expect.poll(() => panel.getByTestId('suggestion').count(), { timeout: 120_000, interval: 500 }).toBe(20);
    expect(await panel.getByTestId('suggestion').first().getAttribute('title')).toMatch(/uncertain between/);

    const pick = panel.getByTestId('suggestion').nth(3);
    const id = Number(await pick.getAttribute('data-image-id'));
    await pick.click();
    await expect.poll(() => page.getByTestId('grid').getAttribute('aria-activedescendant')).toBe(`tile-${id}`);
    expect(await page.getByTestId('filter-select').inputValue()).toBe('all');
    expect(await tile(id).getAttribute('aria-selected')).toBe('true');
    expect(await tile(id).getAttribute('data-class-id')).toBe('');
    await page.screenshot({ path: join(SCREENSHOTS, 'e2e-predict-label-next.png') });

    const name = (await tile(id).getAttribute('title'))!.split(' — ')[0];
    const truth = classByName.get(shapeOf.get(name)!)!;
    await page.keyboard.press(String(truth.hotkey));
    await expect.poll(() => tile(id).getAttribute('data-class-id')).toBe(String(truth.id));
    expect(await tile(id).getAttribute('data-source')).toBe('human');
    // The queue is asked again once labels change: the labeled image leaves it.
    await expect.poll(() => panel.locator(`[data-testid="suggestion"][data-image-id="${id}"]`).count(), { timeout: 60_000, interval: 500 }).toBe(0);
    await expect.poll(() => panel.getByTestId('suggestion').count(), { timeout: 60_000 }).toBe(20);
  });

  it('shows the prediction in the preview, in the light theme too', async () => {
    await page.getByTestId('theme-toggle').click();
    await expect.poll(() => page.evaluate(() => document.documentElement.dataset.theme)).toBe('light');
    await page.screenshot({ path: join(SCREENSHOTS, 'e2e-predict-light.png') });
    const target = (await readTiles()).find((t) => t.classId === '')!;
    await tile(target.id).click();
    await page.keyboard.press(' ');
    const preview = page.getByTestId('preview');
    await expect.poll(() => preview.getByTestId('preview-prediction').textContent()).toMatch(/predicted (circle|square|triangle|star) · \d{1,3}\u00a0%/);
    await page.screenshot({ path: join(SCREENSHOTS, 'e2e-predict-preview.png') });
    await page.keyboard.press('Escape');
    await expect.poll(() => preview.count()).toBe(0);
  });

  it('exports the head as ONNX through the export dialog, and the predictions as CSV', async () => {
    await page.getByTestId('compare-open').click();
    const panel = page.getByTestId('heads-panel');
    await panel.getByTestId('head-export').click();
    const dialog = page.getByTestId('export-dialog');
    await dialog.getByTestId('export-format').selectOption('onnx');
    const dir = join(out.path, 'head-onnx');
    await dialog.getByTestId('export-path').fill(dir);
    await dialog.getByTestId('export-run').click();
    await expect.poll(() => dialog.getByTestId('export-file').count(), { timeout: 120_000, interval: 500 }).toBeGreaterThan(0);
    expect(await dialog.getByTestId('export-error').count()).toBe(0);
    const listed = await dialog.getByTestId('export-file').evaluateAll((items) => items.map((i) => i.getAttribute('data-name')));
    for (const name of ['model.onnx', 'labels.json', 'model-card.md', 'predict.mjs']) {
      expect(listed).toContain(name);
      expect(existsSync(join(dir, name)), name).toBe(true);
    }
    expect(statSync(join(dir, 'model.onnx')).size).toBeGreaterThan(100_000);
    expect(await dialog.getByTestId('export-result').textContent()).toMatch(/model\.onnx\s*\d+(\.\d)? MB/);
    expect(await dialog.getByTestId('export-next').textContent()).toMatch(/npm install.*then node predict\.mjs/);
    await page.screenshot({ path: join(SCREENSHOTS, 'e2e-predict-export.png') });

    // A folder holding the user's own file is refused, the file named, and left as it was.
    const users = join(out.path, 'users-folder');
    mkdirSync(users);
    writeFileSync(join(users, 'package.json'), '{ "name": "mine" }\n');
    await dialog.getByTestId('export-path').fill(users);
    await dialog.getByTestId('export-run').click();
    await expect.poll(() => dialog.getByTestId('export-error').count(), { timeout: 60_000, interval: 500 }).toBe(1);
    expect(await dialog.getByTestId('export-error').textContent()).toMatch(/package\.json.*new or empty folder/);
    expect(readdirSync(users)).toEqual(['package.json']);
    expect(readFileSync(join(users, 'package.json'), 'utf8')).toBe('{ "name": "mine" }\n');

    // With the runtime included: node_modules/ in the export, and the next step needs no install.
    const offline = join(out.path, 'head-onnx-offline');
    await dialog.getByTestId('export-path').fill(offline);
    await dialog.getByRole('checkbox', { name: /runtime/i }).check();
    await dialog.getByTestId('export-run').click();
    await expect.poll(() => dialog.getByTestId('export-result').count(), { timeout: 120_000, interval: 500 }).toBe(1);
    expect(await dialog.getByTestId('export-file').evaluateAll((items) => items.map((i) => i.getAttribute('data-name')))).toContain('node_modules/');
    expect(existsSync(join(offline, 'node_modules/onnxruntime-node/package.json'))).toBe(true);
    expect(await dialog.getByTestId('export-next').textContent()).toMatch(/node predict\.mjs .*no install/);
    await page.screenshot({ path: join(SCREENSHOTS, 'e2e-predict-export-runtime.png') });
    await dialog.getByRole('button', { name: 'Close', exact: true }).last().click();
    await expect.poll(() => dialog.count()).toBe(0);

    await panel.getByTestId('predictions-export').click();
    const file = join(out.path, 'predictions.csv');
    await dialog.getByTestId('export-format').selectOption('csv');
    await dialog.getByTestId('export-path').fill(file);
    await dialog.getByTestId('export-run').click();
    await expect.poll(() => dialog.getByTestId('export-file').count(), { timeout: 30_000 }).toBe(1);
    expect(existsSync(file)).toBe(true);
  });
});
