/**
 * The whole path a new user takes, in Debian's Chromium over web mode, with a screenshot at every
 * step (test-results/walk-*.png): the demo opens on first launch → "New project" from inside it →
 * import a folder of real CIFAR-10 images with labels from folders (3 classes × 6 labeled, plus 12
 * unsorted images left unlabeled) → extract features → compare strategies → read the verdict →
 * train the strategy it recommends → predict → accept a prediction → label next → export as ONNX
 * with the runtime included → run the exported predict.mjs with node, offline (no npm install), on
 * an image, and find the class the studio predicted for it.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStudioSession, SCREENSHOTS, type StudioSession } from '../helpers/browser';
import { CIFAR10_MINI, tempDir } from '../helpers/fixtures';
import { STRATEGY_NAMES } from '../../src/shared/contract';
import { STRATEGY_INFO } from '../../src/shared/strategies';

const run = promisify(execFile);

/** Three classes that MobileNet tells apart well even at 32 × 32. */
const CLASSES = ['airplane', 'frog', 'truck'];
const LABELED_PER_CLASS = 6;
const UNSORTED_PER_CLASS = 4;

let session: StudioSession;
let page: Page;
const data = tempDir('atl-e2e-walk-data-');
const out = tempDir('atl-e2e-walk-out-');
/** The import folder: one subfolder per class (labels from folders), and unsorted images at its top. */
const imagesDir = join(data.path, 'my-images');
/** The true class of each unsorted image, by file name. */
const truthOf = new Map<string, string>();

beforeAll(async () => {
  for (const name of CLASSES) {
    mkdirSync(join(imagesDir, name), { recursive: true });
    const files = readdirSync(join(CIFAR10_MINI, name)).sort();
    for (const file of files.slice(0, LABELED_PER_CLASS)) copyFileSync(join(CIFAR10_MINI, name, file), join(imagesDir, name, file));
    for (const file of files.slice(LABELED_PER_CLASS, LABELED_PER_CLASS + UNSORTED_PER_CLASS)) {
      const unsorted = `unsorted-${String(truthOf.size + 1).padStart(2, '0')}.jpg`;
      copyFileSync(join(CIFAR10_MINI, name, file), join(imagesDir, unsorted));
      truthOf.set(unsorted, name);
    }
  }
  session = await openStudioSession('atl-e2e-walk-');
  page = session.page;
  // Every step polls for what it waits on; a missing control fails its step fast instead of stalling the next ones.
  page.setDefaultTimeout(10_000);
});
afterAll(async () => {
  await session?.close();
  data.remove();
  out.remove();
});

/** One screenshot per step, named "walk-<step number>-<what>.png" so that the files sort in the order of the walk. */
async function shot(name: string) {
  await page.screenshot({ path: join(SCREENSHOTS, `walk-${name}.png`) });
}

const tile = (imageId: number) => page.locator(`[data-testid="tile"][data-image-id="${imageId}"]`);
const allImages = () => session.studio.invoke('images.list', { filter: { kind: 'all' }, sort: 'import' });
/** The project's classes by name, with their ids and number keys. */
async function classesByName() {
  const classes = await session.studio.invoke('classes.list', {});
  return new Map(classes.map((c) => [c.name, c]));
}

describe('a new user, from the demo to a classifier running outside the studio', () => {
  it('opens the demo project on first launch', async () => {
    await page.goto(session.web.url);
    await expect.poll(() => page.getByTestId('project-title').textContent()).toMatch(/Demo/);
    await expect.poll(() => page.getByTestId('tile').count()).toBeGreaterThan(10);
    await shot('01-demo');
  });

  const PROJECT = 'Planes, frogs and trucks';

  it('creates a new project from the project bar, without closing the demo first', async () => {
    await page.getByRole('button', { name: /new project/i }).click();
    const dialog = page.getByRole('dialog', { name: /new project/i });
    await dialog.getByRole('textbox', { name: /project name/i }).fill(PROJECT);
    await shot('02-new-project');
    await dialog.getByRole('button', { name: /create project/i }).click();
    await expect.poll(() => page.getByTestId('project-title').textContent()).toBe(PROJECT);
    expect(await page.getByTestId('tile').count()).toBe(0);
  });

  it('imports a folder, with labels from its subfolders', async () => {
    await page.getByTestId('import-open').click();
    await page.getByTestId('import-path').fill(imagesDir);
    await page.getByTestId('import-labels-from-folders').check();
    await shot('03-import-form');
    await page.getByTestId('import-start').click();
    const total = CLASSES.length * (LABELED_PER_CLASS + UNSORTED_PER_CLASS);
    await expect.poll(() => page.getByTestId('import-report').textContent(), { timeout: 60_000 }).toMatch(new RegExp(`Imported\\D*${total}`));
    await shot('04-import-report');
    await page.getByTestId('import-close').click();

    await expect.poll(() => page.getByTestId('tile').count()).toBe(total);
    await expect
      .poll(() => page.getByTestId('class-item').evaluateAll((items) => items.map((i) => i.getAttribute('data-count'))))
      .toEqual(CLASSES.map(() => String(LABELED_PER_CLASS)));
    expect([...(await classesByName()).keys()].sort()).toEqual(CLASSES);
    expect((await allImages()).filter((r) => r.classId === null).map((r) => basename(r.name)).sort()).toEqual([...truthOf.keys()].sort());
    await shot('05-grid');
  });

  it('extracts the features with the default teacher in the Models view', async () => {
    await page.getByTestId('models-open').click();
    await expect.poll(() => page.getByTestId('features-status').textContent(), { timeout: 60_000 }).toMatch(/0 of 30 images cached/);
    await page.getByTestId('extract-start').click();
    await expect.poll(() => page.getByTestId('features-status').textContent(), { timeout: 90_000, interval: 500 }).toMatch(/30 of 30 images cached/);
    // Every image cached: nothing left to extract, and the button says so (models.test.ts sees it come back).
    expect.soft(await page.getByTestId('extract-start').isDisabled()).toBe(true);
    expect.soft(await page.getByTestId('extract-start').getAttribute('title')).toMatch(/Every image has its features cached/);
    // ONNX Runtime on the CPU is the usual case without a GPU: information, with the reason kept, not a warning.
    const engine = page.getByTestId('teacher-engine');
    if (/onnxruntime · cpu/.test((await engine.textContent())!)) {
      expect.soft(await engine.getAttribute('data-kind')).toBe('info');
      expect.soft(await engine.textContent()).toMatch(/Running on CPU \(ONNX Runtime\)\. For a GPU: .*CUDA/);
    }
    await shot('06-extracted');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByTestId('models-view').count()).toBe(0);
  });

  it('compares the strategies on the labels', async () => {
    await page.getByTestId('compare-open').click();
    const view = page.getByTestId('comparison-view');
    await expect.poll(() => view.getByTestId('compare-teacher').inputValue()).toBe('mobilenet_v1_0.75_224');
    await view.getByTestId('compare-mode-episodes').check();
    await view.getByTestId('compare-shots').fill('1, 3');
    await view.getByTestId('compare-repeats').fill('20');
    await view.getByTestId('compare-run').click();
    await expect.poll(() => view.getByTestId('results-table').count(), { timeout: 120_000, interval: 1000 }).toBe(1);
    expect(await view.getByTestId('compare-error').count()).toBe(0);
    expect(await view.getByTestId('comparison-result').getAttribute('data-status')).toBe('completed');
    expect(await view.getByTestId('run-used').textContent()).toMatch(/3-way/);
    // What each strategy does, in the form and the table: strategy names as code, never raw backticks.
    const infos = view.getByTestId('strategy-info');
    // Each strategy's line once in the form and once in the table; the names its line mentions, as code.
    const mentioned = STRATEGY_NAMES.flatMap((name) => [...STRATEGY_INFO[name].matchAll(/`([^`]+)`/g)].map((m) => m[1]));
    expect.soft(await infos.count()).toBe(2 * STRATEGY_NAMES.length);
    expect.soft((await infos.allTextContents()).filter((text) => text.includes('`'))).toEqual([]);
    expect.soft(await view.locator('[data-testid="strategy-info"] code').allTextContents()).toEqual([...mentioned, ...mentioned]);
    await shot('07-comparison');
  });

  it('reads a plain verdict, and trains the strategy it recommends with one click', async () => {
    const result = page.getByTestId('comparison-view').getByTestId('comparison-result');
    const train = result.getByRole('button', { name: /^Train `?[\w-]+`?$/ });
    const recommended = /^Train `?([\w-]+)`?$/.exec((await train.textContent())!.trim())![1];
    // The verdict names the same strategy, and says why in words.
    expect(await result.textContent()).toMatch(new RegExp(`Train \`?${recommended}\`?: (no strategy is reliably better|\\+\\d+\\.\\d points over)`));
    expect.soft(await result.getByTestId('verdict').textContent()).not.toContain('`');
    // The heads panel offers the recommended strategy too (it offered `atl` whatever the verdict).
    const strategyMenu = page.getByTestId('heads-panel').getByTestId('head-strategy');
    expect.soft(await strategyMenu.inputValue()).toBe(recommended);
    await shot('08-verdict');
    await train.click();

    const panel = page.getByTestId('heads-panel');
    await expect.poll(() => panel.getByTestId('head-item').count(), { timeout: 120_000, interval: 500 }).toBe(1);
    expect(await panel.getByTestId('head-error').count()).toBe(0);
    const [stored] = await session.studio.invoke('heads.list', {});
    expect(stored.strategy).toBe(recommended);
    // The panel names the strategy just trained, and says what it does without raw backticks.
    expect.soft(await panel.getByTestId('head-strategy').inputValue()).toBe(recommended);
    expect.soft(await panel.getByTestId('head-strategy-info').textContent()).not.toContain('`');
    await shot('09-trained');
  });

  it('predicts every image with the head, and the grid shows the predictions', async () => {
    const panel = page.getByTestId('heads-panel');
    await panel.getByTestId('head-predict').click();
    await expect.poll(() => panel.getByTestId('head-active').count(), { timeout: 120_000, interval: 500 }).toBe(1);
    expect(await panel.getByTestId('predict-error').count()).toBe(0);
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByTestId('comparison-view').count()).toBe(0);
    await expect.poll(() => page.getByTestId('predicted-count').textContent()).toBe('30/30 predicted');

    const classes = await classesByName();
    const unlabeled = (await allImages()).filter((r) => r.classId === null);
    let right = 0;
    for (const row of unlabeled) {
      expect(row.predictedClassId, row.name).not.toBeNull();
      if (classes.get(truthOf.get(basename(row.name))!)!.id === row.predictedClassId) right++;
    }
    // 12 images, 3 classes: chance is 4 right.
    expect(right, `${right} of ${unlabeled.length} unsorted images predicted right`).toBeGreaterThanOrEqual(7);
    await expect.poll(() => page.locator('[data-testid="tile"] [data-testid="tile-prediction"]').count()).toBe(unlabeled.length);
    await shot('10-predicted');
  });

  it('accepts one prediction with A', async () => {
    const [target] = (await allImages()).filter((r) => r.classId === null);
    await tile(target.id).click();
    await page.keyboard.press('a');
    await expect.poll(() => tile(target.id).getAttribute('data-source')).toBe('prediction');
    expect(await tile(target.id).getAttribute('data-class-id')).toBe(String(target.predictedClassId));
    expect.soft(await tile(target.id).getByTestId('tile-accepted').getAttribute('aria-label')).toBe('accepted prediction');
    // The class name stays whole beside the mark (it was cut to "air…" beside "✓ accepted").
    const name = tile(target.id).locator('[data-testid="tile-label"] .leaf');
    expect.soft(await name.evaluate((el) => [el.textContent, el.scrollWidth <= el.clientWidth])).toEqual([
      (await session.studio.invoke('classes.list', {})).find((c) => c.id === target.predictedClassId)!.name,
      true,
    ]);
    // The class panel says what its numbers are: 7 labeled = 6 shots (by hand) + 1 accepted prediction.
    const row = page.locator(`[data-testid="class-item"][data-class-id="${target.predictedClassId}"]`);
    const total = LABELED_PER_CLASS + 1;
    expect.soft(await row.getByTestId('class-count').textContent()).toBe(String(total));
    expect.soft(await row.getByTestId('class-shots').textContent()).toMatch(new RegExp(`^\\s*${LABELED_PER_CLASS} shots\\s\\+ 1 accepted\\s*$`));
    expect.soft(await row.getByTestId('class-shots').evaluate((el) => el.scrollWidth <= el.clientWidth)).toBe(true);
    expect
      .soft(await row.getByTestId('class-count').getAttribute('title'))
      .toMatch(new RegExp(`^${total} images have this label: ${LABELED_PER_CLASS} labeled by hand .*, 1 accepted prediction$`));
    await shot('11-accepted');
  });

  it('labels the first image the Label next panel suggests, with its number key', async () => {
    await page.getByTestId('label-next-toggle').click();
    const panel = page.getByTestId('label-next');
    expect(await panel.getByTestId('label-next-mode').textContent()).toMatch(/least sure/);
    await expect.poll(() => panel.getByTestId('suggestion').count(), { timeout: 60_000, interval: 500 }).toBeGreaterThan(0);
    // Reasons wrap, but never between a number and its "%" ("frog (44 ⏎ %)"): a no-break space joins them.
    const reasons = (await panel.getByTestId('suggestion').allTextContents()).join('\n');
    expect.soft(reasons).toMatch(/\d\u00a0%/);
    expect.soft(reasons).not.toMatch(/\d[ \t\n]+%/);
    // Beside the panel, at 1400 × 900, the grid's toolbar keeps to one line and the head chip is whole.
    const toolbarRows = await page.getByTestId('grid-toolbar').evaluate((bar) => {
      const middles = [...bar.children].map((c) => c.getBoundingClientRect()).filter((r) => r.width > 0).map((r) => Math.round(r.top + r.height / 2));
      return new Set(middles).size;
    });
    expect.soft(toolbarRows, 'toolbar lines').toBe(1);
    const chipName = page.getByTestId('head-chip-name');
    expect.soft(await chipName.evaluate((el) => [el.textContent, el.scrollWidth <= el.clientWidth])).toEqual([
      (await session.studio.invoke('heads.list', {}))[0].strategy,
      true,
    ]);
    expect.soft(await page.getByTestId('predicted-count').evaluate((el) => el.scrollWidth <= el.clientWidth)).toBe(true);
    const first = panel.getByTestId('suggestion').first();
    const id = Number(await first.getAttribute('data-image-id'));
    await first.click();
    await expect.poll(() => page.getByTestId('grid').getAttribute('aria-activedescendant')).toBe(`tile-${id}`);
    await shot('12-label-next');

    const row = (await allImages()).find((r) => r.id === id)!;
    expect(row.classId).toBeNull();
    const truth = (await classesByName()).get(truthOf.get(basename(row.name))!)!;
    await page.keyboard.press(String(truth.hotkey));
    await expect.poll(() => tile(id).getAttribute('data-class-id')).toBe(String(truth.id));
    expect(await tile(id).getAttribute('data-source')).toBe('human');
    await expect.poll(() => panel.locator(`[data-testid="suggestion"][data-image-id="${id}"]`).count(), { timeout: 60_000, interval: 500 }).toBe(0);
    await shot('13-labeled-next');
  });

  const exportDir = join(out.path, 'planes-frogs-trucks-onnx');

  it('exports the head as ONNX with the runtime included', async () => {
    await page.getByTestId('compare-open').click();
    await page.getByTestId('heads-panel').getByTestId('head-export').click();
    const dialog = page.getByTestId('export-dialog');
    await dialog.getByTestId('export-format').selectOption('onnx');
    await dialog.getByTestId('export-path').fill(exportDir);
    await dialog.getByRole('checkbox', { name: /runtime/i }).check();
    await dialog.getByTestId('export-run').click();
    await expect.poll(() => dialog.getByTestId('export-result').count(), { timeout: 120_000, interval: 500 }).toBe(1);
    expect(await dialog.getByTestId('export-error').count()).toBe(0);
    for (const name of ['model.onnx', 'labels.json', 'predict.mjs', 'node_modules/onnxruntime-node']) expect(existsSync(join(exportDir, name)), name).toBe(true);
    expect(await dialog.getByTestId('export-next').textContent()).toMatch(/node predict\.mjs .*no install needed/);
    await shot('14-exported');
  });

  it('runs the exported predict.mjs with node, offline, and it predicts what the studio predicted', async () => {
    // An unlabeled image the studio has predicted, classified again outside it by the export alone.
    const classes = await session.studio.invoke('classes.list', {});
    const row = (await allImages()).find((r) => r.classId === null && r.predictedClassId !== null)!;
    const studioClass = classes.find((c) => c.id === row.predictedClassId)!.name;
    const image = join(imagesDir, basename(row.name));
    // No node_modules above the export (it sits in the temp folder, far from this repository's): only what it holds can resolve.
    for (let folder = exportDir; folder !== dirname(folder); ) {
      folder = dirname(folder);
      expect(existsSync(join(folder, 'node_modules')), join(folder, 'node_modules')).toBe(false);
    }
    const { stdout } = await run(process.execPath, ['predict.mjs', image], {
      cwd: exportDir,
      env: { PATH: process.env.PATH, HOME: out.path, NODE_PATH: '' },
      timeout: 60_000,
    });
    const [result] = JSON.parse(stdout) as { path: string; class: string; confidence: number }[];
    expect(result.path).toBe(image);
    expect(result.class).toBe(studioClass);
    expect(result.confidence).toBeCloseTo(row.confidence!, 2);
  });
});
