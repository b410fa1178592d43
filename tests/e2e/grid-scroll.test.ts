/**
 * The grid under a hand that moves fast (issue 15), on omniglot-small1 (2,720 images): thumbnails
 * are asked for only near the view once scrolling settles, a jump paints the visible tiles, and
 * closing the project while thumbnails load answers no request with an error.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStudioSession, type StudioSession } from '../helpers/browser';
import { OMNIGLOT_SMALL1 } from '../helpers/fixtures';

let session: StudioSession;
let page: Page;
const statuses: { url: string; status: number }[] = [];
const consoleErrors: string[] = [];

beforeAll(async () => {
  session = await openStudioSession('atl-e2e-grid-scroll-', async (studio) => {
    await studio.invoke('project.create', { name: 'Omniglot' });
    await studio.invoke('import.start', { paths: [OMNIGLOT_SMALL1], labelsFromFolders: true });
    await studio.idle();
  });
  page = session.page;
  page.on('response', (response) => {
    if (response.url().includes('/media/')) statuses.push({ url: response.url(), status: response.status() });
  });
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  await page.goto(session.web.url);
});
afterAll(() => session?.close());

/** Ids of the tiles in the grid's view whose thumbnail is not painted yet. */
function unpaintedInView(): Promise<string[]> {
  return page.getByTestId('grid').evaluate((grid) => {
    const view = grid.getBoundingClientRect();
    return [...grid.querySelectorAll<HTMLElement>('[data-testid="tile"]')]
      .filter((tile) => tile.getBoundingClientRect().bottom > view.top && tile.getBoundingClientRect().top < view.bottom)
      .filter((tile) => !(tile.querySelector('img')?.complete && tile.querySelector('img')!.naturalWidth > 0))
      .map((tile) => tile.dataset.imageId!);
  });
}

const thumbId = (url: string) => Number(/\/media\/thumb\/(\d+)/.exec(url)?.[1]);

describe('grid under a fast hand', () => {
  it('asks for no thumbnail of the tiles a fast scroll flew past, and paints the view where it stops', async () => {
    await expect.poll(() => page.getByTestId('image-count').textContent()).toMatch(/2,?720/);
    await expect.poll(unpaintedInView).toEqual([]);
    const rendered = await page.getByTestId('tile').count();
    const asked: number[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/media/thumb/')) asked.push(thumbId(request.url()));
    });
    const box = (await page.getByTestId('grid').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    // 40 wheel steps of 1,200 px, 25 ms apart: the list flies past (2,720 images are ~40,000 px).
    for (let i = 0; i < 40; i++) {
      await page.mouse.wheel(0, 1200);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await expect.poll(unpaintedInView, { timeout: 10_000 }).toEqual([]);
    const shown = await page.getByTestId('tile').evaluateAll((tiles) => tiles.map((t) => Number(t.dataset.imageId)));
    // What was asked for: the first steps' tiles (a scroll is not fast until its second event) and where it stopped.
    const flownPast = asked.filter((id) => !shown.includes(id));
    expect(flownPast.length).toBeLessThanOrEqual(rendered);
    expect(asked.length).toBeLessThan(3 * rendered);
  });

  it('paints every tile in view after a jump to the end', async () => {
    await page.getByTestId('grid').focus();
    await page.keyboard.press('End');
    await expect.poll(() => page.locator('[data-testid="tile"][aria-selected="true"]').getAttribute('data-index')).toBe('2719');
    await expect.poll(unpaintedInView, { timeout: 10_000 }).toEqual([]);
  });

  it('closing the project while thumbnails load answers no request with an error', async () => {
    await page.getByTestId('grid').evaluate((el) => (el.scrollTop = 0));
    // Scroll in big steps so that many thumbnails are on their way, then close at once.
    const grid = page.getByTestId('grid');
    await grid.evaluate(async (el) => {
      for (let i = 1; i <= 10; i++) {
        el.scrollTop = (el.scrollHeight * i) / 10;
        await new Promise((resolve) => requestAnimationFrame(resolve));
      }
    });
    const projectPath = session.studio.project!.path;
    await session.studio.invoke('project.close', {});
    // A thumbnail the page asks for after the close, before it hears of it: quietly nothing.
    const late = await page.evaluate((url) => fetch(url).then((r) => r.status), `/media/thumb/1?project=${encodeURIComponent(projectPath)}`);
    expect(late).toBe(204);
    await expect.poll(() => page.getByTestId('grid').count(), { timeout: 10_000 }).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(statuses.filter((s) => s.status >= 500)).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });
});
