/**
 * The Label-next panel on a pool large enough to take a while (omniglot-small1, 2,720 unlabeled
 * images whose features are not extracted yet, issue 15): the ranking shows its progress, Cancel
 * stops it and says so, and Refresh ranks again from the features kept, to 20 suggestions.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStudioSession, type StudioSession } from '../helpers/browser';
import { OMNIGLOT_SMALL1 } from '../helpers/fixtures';

let session: StudioSession;
let page: Page;
/** The features the progress said it had when Cancel was clicked. */
let shownAtCancel = 0;

beforeAll(async () => {
  session = await openStudioSession('atl-e2e-label-next-', async (studio) => {
    await studio.invoke('project.create', { name: 'Omniglot, unlabeled' });
    await studio.invoke('import.start', { paths: [OMNIGLOT_SMALL1], labelsFromFolders: false });
    await studio.idle();
  });
  page = session.page;
  await page.goto(session.web.url);
});
afterAll(() => session?.close());

/** The images whose features the ranking's progress says it has, of how many. */
async function featuresShown(): Promise<{ have: number; of: number } | null> {
  const message = await page.getByTestId('label-next-progress').locator('.message').textContent({ timeout: 1000 }).catch(() => null);
  const match = /features of (\d+) of (\d+) images/.exec(message ?? '');
  return match ? { have: Number(match[1]), of: Number(match[2]) } : null;
}

describe('Label next on a large pool', () => {
  it('shows the ranking as it goes, and Cancel stops it and says so', async () => {
    await expect.poll(() => page.getByTestId('image-count').textContent()).toMatch(/2,?720/);
    await page.getByTestId('label-next-toggle').click();
    const panel = page.getByTestId('label-next');
    // Under way: the features of the pool are extracted first, and the count goes up.
    await expect.poll(async () => (await featuresShown())?.have ?? 0, { timeout: 60_000, interval: 200 }).toBeGreaterThan(0);
    const before = (await featuresShown())!;
    expect(before.of).toBe(2720);
    // Far enough that a ranking started over would show fewer at its first report (it reports every batch).
    await expect.poll(async () => (await featuresShown())?.have ?? 0, { timeout: 60_000, interval: 200 }).toBeGreaterThanOrEqual(300);
    expect(await panel.getByTestId('label-next-progress').getAttribute('data-state')).toBe('running');

    shownAtCancel = (await featuresShown())!.have;
    await panel.getByTestId('label-next-cancel').click();
    await expect.poll(() => panel.getByTestId('label-next-cancelled').count(), { timeout: 10_000 }).toBe(1);
    expect(await panel.getByTestId('label-next-progress').count()).toBe(0);
    expect(await panel.getByTestId('suggestion').count()).toBe(0);
    expect(await panel.getByTestId('label-next-cancelled').textContent()).toMatch(/Ranking cancelled\. Refresh to rank again/);
  });

  it('ranks again on Refresh, from the features the cancelled ranking kept, to 20 suggestions', async () => {
    const panel = page.getByTestId('label-next');
    await panel.getByTestId('label-next-refresh').click();
    // Its first report already counts the features the cancelled ranking had extracted.
    await expect.poll(featuresShown, { timeout: 30_000, interval: 50 }).not.toBeNull();
    expect((await featuresShown())!.have).toBeGreaterThanOrEqual(shownAtCancel);
    await expect.poll(() => panel.getByTestId('suggestion').count(), { timeout: 180_000, interval: 500 }).toBe(20);
    expect(await panel.getByTestId('label-next-cancelled').count()).toBe(0);
  });
});
