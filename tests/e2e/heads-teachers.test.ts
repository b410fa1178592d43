/**
 * A head on several teachers from the heads panel, in Chromium over web mode, on the demo project:
 * ResNet-20 checked beside the form's MobileNet, atl-teachers trains a head that reads both, the
 * panel says so, and the head predicts every image.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStudioSession, type StudioSession } from '../helpers/browser';

const MOBILENET = 'mobilenet_v1_0.75_224';
const RESNET20 = 'resnet20_cifar10';

let session: StudioSession;
let page: Page;

beforeAll(async () => {
  session = await openStudioSession('atl-e2e-heads-teachers-');
  page = session.page;
  await page.goto(session.web.url);
});
afterAll(() => session?.close());

describe('a head on several teachers', () => {
  it('trains atl-teachers on MobileNet and ResNet-20 from the heads panel, shows both teachers, and predicts with it', async () => {
    await expect.poll(() => page.getByTestId('project-title').textContent()).toMatch(/Demo/);
    await page.getByTestId('compare-open').click();
    const panel = page.getByTestId('heads-panel');
    await expect.poll(() => page.getByTestId('compare-teacher').inputValue()).toBe(MOBILENET);
    await panel.locator(`[data-testid="head-teacher"][value="${RESNET20}"]`).check();
    await panel.getByTestId('head-strategy').selectOption('atl-teachers');
    expect(await panel.getByTestId('head-strategy-info').textContent()).toMatch(/with MobileNet.* \+ ResNet-20/);
    await panel.getByTestId('head-train').click();
    await expect.poll(() => panel.getByTestId('head-item').count(), { timeout: 120_000, interval: 500 }).toBe(1);
    expect(await panel.getByTestId('head-error').count()).toBe(0);
    const [head] = await session.studio.invoke('heads.list', {});
    expect(head).toMatchObject({ strategy: 'atl-teachers', modelId: MOBILENET });
    expect(head.teachers.map((t) => t.id)).toEqual([MOBILENET, RESNET20]);
    expect(await panel.getByTestId('head-teachers-read').textContent()).toMatch(/MobileNet.* \+ ResNet-20/);

    await panel.getByTestId('head-predict').click();
    await expect.poll(() => panel.getByTestId('head-active').count(), { timeout: 120_000, interval: 500 }).toBe(1);
    const status = await session.studio.invoke('predictions.status', {});
    expect(status.head?.id).toBe(head.id);
    expect(status.predicted).toBe(status.images);
  }, 240_000);
});
