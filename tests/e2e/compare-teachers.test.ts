/**
 * Two teachers side by side in Chromium over web mode, on the demo project: the form takes ResNet-20
 * beside the default MobileNet, the results table groups its rows by teacher (Δ against
 * MobileNet's penultimate), and the verdict names the teacher to train with and trains a head with it.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { comparisonVerdict } from '../../src/shared/verdict';
import { openStudioSession, type StudioSession } from '../helpers/browser';

const MOBILENET = 'mobilenet_v1_0.75_224';
const RESNET20 = 'resnet20_cifar10';
const STRATEGIES = ['penultimate', 'atl', 'atl-teachers'];

let session: StudioSession;
let page: Page;

beforeAll(async () => {
  session = await openStudioSession('atl-e2e-compare-teachers-');
  page = session.page;
  await page.goto(session.web.url);
});
afterAll(() => session?.close());

describe('comparing two teachers', () => {
  it('runs MobileNet and ResNet-20 on the same episodes, groups the table by teacher and names the teacher in the verdict', async () => {
    await expect.poll(() => page.getByTestId('project-title').textContent()).toMatch(/Demo/);
    await page.getByTestId('compare-open').click();
    const view = page.getByTestId('comparison-view');
    await expect.poll(() => view.getByTestId('compare-teacher').inputValue()).toBe(MOBILENET);
    // The other installed teachers are offered beside it; ResNet-20 is checked.
    const others = view.getByTestId('compare-other-teacher');
    expect(await others.evaluateAll((boxes) => boxes.map((b) => (b as HTMLInputElement).value))).toContain(RESNET20);
    await view.locator(`[data-testid="compare-other-teacher"][value="${RESNET20}"]`).check();
    for (const box of await view.getByTestId('compare-strategy').all()) await box.setChecked(STRATEGIES.includes(await box.inputValue()));
    await view.getByTestId('compare-shots').fill('1, 2');
    await view.getByTestId('compare-repeats').fill('10');
    await view.getByTestId('compare-run').click();

    await expect
      .poll(() => view.getByTestId('compare-progress').textContent(), { timeout: 20_000, interval: 50 })
      .toMatch(/Extracting .+'s features of 12 labeled images first/);
    const table = view.getByTestId('results-table');
    await expect.poll(() => table.count(), { timeout: 170_000, interval: 1000 }).toBe(1);
    expect(await view.getByTestId('compare-error').count()).toBe(0);

    // Grouped by teacher: MobileNet (the baseline), ResNet-20, then atl-teachers on both.
    const [summary] = await session.studio.invoke('compare.list', {});
    const run = await session.studio.invoke('compare.get', { id: summary.id });
    expect(run.teachers.map((t) => t.id)).toEqual([MOBILENET, RESNET20]);
    expect(await view.getByTestId('run-item').first().textContent()).toMatch(/MobileNet.* \+ ResNet-20/);
    expect(await table.getByTestId('results-teacher').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-teacher')))).toEqual([MOBILENET, RESNET20, '*']);
    expect(await table.getByTestId('results-teacher').first().textContent()).toMatch(/MobileNet.*\(baseline\)/);
    const cells = await table.getByTestId('result-cell').evaluateAll((tds) => tds.map((c) => `${c.getAttribute('data-teacher')} ${c.getAttribute('data-strategy')}/${c.getAttribute('data-shots')}`));
    expect(cells).toEqual([MOBILENET, RESNET20].flatMap((t) => ['penultimate', 'atl'].flatMap((s) => [1, 2].map((k) => `${t} ${s}/${k}`))).concat([1, 2].map((k) => `* atl-teachers/${k}`)));
    // Only MobileNet's penultimate is the baseline; ResNet-20's has a Δ against it.
    expect(await table.locator(`[data-testid="result-cell"][data-teacher="${MOBILENET}"][data-strategy="penultimate"]`).first().textContent()).toMatch(/baseline/);
    expect(await table.locator(`[data-testid="result-cell"][data-teacher="${RESNET20}"][data-strategy="penultimate"]`).first().textContent()).toMatch(/Δ [+−]\d+\.\d/);

    // The verdict names the teacher, as the shared wording does for this run.
    const expected = comparisonVerdict(run.cells, run.teachers)!;
    const verdict = view.getByTestId('verdict');
    expect((await verdict.getByTestId('verdict-text').textContent())?.trim()).toBe(expected.text.replaceAll('`', ''));
    expect(expected.text).toMatch(/ with (MobileNet|ResNet-20)/);
    expect(await verdict.getAttribute('data-teacher')).toBe(expected.teacher);
    // Its Train trains that teacher × strategy (atl-teachers: a head reading both teachers).
    await verdict.getByTestId('verdict-train').click();
    await expect.poll(() => verdict.getByTestId('verdict-trained').count(), { timeout: 60_000, interval: 250 }).toBe(1);
    const [head] = await session.studio.invoke('heads.list', {});
    expect(head.strategy).toBe(expected.strategy.replace(/\(.*$/, ''));
    expect(head.teachers.map((t) => t.id)).toEqual(expected.teacher === '*' ? [MOBILENET, RESNET20] : [expected.teacher]);
  }, 240_000);
});
