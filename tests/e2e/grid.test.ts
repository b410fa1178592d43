/**
 * The grid with a real dataset (omniglot-small1, 2,720 images, 136 classes): only the visible
 * tiles are in the page, scrolling reaches the last image, filters narrow the view, and a path
 * too long for its tile gives way at its start; a fast scroll asks for no thumbnail of the tiles
 * it flew past, a jump paints the tiles in view, and closing the project while thumbnails load
 * answers no request with an error (issue 15).
 */
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repeatImageRows } from '../../bench/grid-scroll';
import { THUMBNAILS_PER_REQUEST } from '../../src/shared/thumbnail-batch';
import { openStudioSession, SCREENSHOTS, type StudioSession } from '../helpers/browser';
import { OMNIGLOT_SMALL1 } from '../helpers/fixtures';

let session: StudioSession;
let page: Page;
const mediaStatuses: { url: string; status: number }[] = [];
const consoleErrors: string[] = [];
/** The grid's list reads, in order: the method and the rows asked for. */
const listReads: { method: string; offset?: number; limit?: number }[] = [];

beforeAll(async () => {
  session = await openStudioSession('atl-e2e-grid-', async (studio) => {
    await studio.invoke('project.create', { name: 'Omniglot' });
    await studio.invoke('import.start', { paths: [OMNIGLOT_SMALL1], labelsFromFolders: true });
    await studio.idle();
  });
  page = session.page;
  page.on('response', (response) => {
    if (response.url().includes('/media/')) mediaStatuses.push({ url: response.url(), status: response.status() });
  });
  page.on('request', (request) => {
    const method = /\/api\/call\/(images\.(?:list|page))/.exec(request.url())?.[1];
    if (method) listReads.push({ method, ...(JSON.parse(request.postData() ?? '{}') as { offset?: number; limit?: number }) });
  });
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  await page.goto(session.web.url);
});
afterAll(() => session?.close());

describe('thumbnail grid', () => {
  it('keeps only the visible tiles in the page and scrolls to the last image', async () => {
    await expect.poll(() => page.getByTestId('image-count').textContent()).toMatch(/2,?720/);
    const rendered = await page.getByTestId('tile').count();
    expect(rendered).toBeGreaterThan(10);
    expect(rendered).toBeLessThan(300);
    const rows = await session.studio.invoke('images.list', { filter: { kind: 'all' }, sort: 'import' });
    const last = rows[rows.length - 1].id;
    await page.getByTestId('grid').evaluate((grid) => grid.scrollTo({ top: grid.scrollHeight }));
    await expect.poll(() => page.locator(`[data-testid="tile"][data-image-id="${last}"]`).count()).toBe(1);
    expect(await page.getByTestId('tile').count()).toBeLessThan(300);
  });

  it('reads the list page by page: a first page, then the rest behind it, never the whole list at once', async () => {
    // Opening the 2,720-image project: 2,000 rows first (the count is the whole list's at once), then the other 720.
    expect(listReads.slice(0, 2)).toEqual([
      { method: 'images.page', filter: { kind: 'all' }, sort: 'import', offset: 0, limit: 2000 },
      { method: 'images.page', filter: { kind: 'all' }, sort: 'import', offset: 2000, limit: 2000 },
    ]);
    expect(listReads.filter((r) => r.method === 'images.list')).toEqual([]);
  });

  it('filters by class and by unlabeled', async () => {
    const classes = await session.studio.invoke('classes.list', {});
    const greek = classes.find((c) => c.name === 'Greek/character01')!;
    await page.getByTestId('filter-select').selectOption(`class:${greek.id}`);
    await expect.poll(() => page.getByTestId('tile').count()).toBe(20);
    const classIds = await page.getByTestId('tile').evaluateAll((tiles) => [...new Set(tiles.map((t) => t.getAttribute('data-class-id')))]);
    expect(classIds).toEqual([String(greek.id)]);
    await page.getByTestId('filter-select').selectOption('unlabeled');
    await expect.poll(() => page.getByTestId('tile').count()).toBe(0);
  });

  it('cuts a long path at its start, keeping the folder and file name readable', async () => {
    await page.getByTestId('filter-select').selectOption('all');
    const path = page.getByTestId('tile-path').first();
    await expect.poll(() => path.textContent()).toMatch(/^Balinese\/character01\/\d{4}_\d{2}\.png$/);
    // The text is wider than its box: its start lies left of the box, its end inside it.
    const edges = await path.evaluate((box) => {
      const text = box.firstElementChild!.getBoundingClientRect();
      const shown = box.getBoundingClientRect();
      return { overflows: box.scrollWidth > box.clientWidth, startHidden: text.left < shown.left, endShown: text.right <= shown.right + 0.5 };
    });
    expect(edges).toEqual({ overflows: true, startHidden: true, endShown: true });
    await page.screenshot({ path: join(SCREENSHOTS, 'e2e-grid-paths.png') });
  });

  it("asks for a view's thumbnails a few at a time in one request, and draws in each tile its own thumbnail", async () => {
    const requests: number[][] = [];
    const onRequest = (request: { url(): string }) => void (thumbIds(request.url()).length > 0 && requests.push(thumbIds(request.url())));
    page.on('request', onRequest);
    await page.getByTestId('grid').evaluate((el) => (el.scrollTop = el.scrollHeight / 2));
    await expect.poll(unpaintedInView).toEqual([]);
    page.off('request', onRequest);
    // The view's thumbnails, then the rows just beyond it: a round of requests each.
    const rendered = new Set(await page.getByTestId('tile').evaluateAll((tiles) => tiles.map((t) => Number(t.dataset.imageId))));
    const forHere = requests.filter((ids) => ids.some((id) => rendered.has(id)));
    expect(forHere.length).toBeGreaterThan(0);
    expect(forHere.length).toBeLessThanOrEqual(Math.ceil(rendered.size / THUMBNAILS_PER_REQUEST) + 1);
    expect(Math.max(...requests.map((ids) => ids.length))).toBeLessThanOrEqual(THUMBNAILS_PER_REQUEST);
    // Each canvas holds the pixels of its image's thumbnail, asked for alone and decoded apart.
    const drawn = await page.getByTestId('grid').evaluate(async (grid) => {
      const tiles = [...grid.querySelectorAll<HTMLElement>('[data-testid="tile"]')].filter((tile) => tile.querySelector('canvas') !== null);
      return Promise.all(
        tiles.slice(0, 8).map(async (tile) => {
          const canvas = tile.querySelector('canvas')!;
          const shown = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
          const alone = await createImageBitmap(await (await fetch(`/media/thumb/${tile.dataset.imageId}`)).blob());
          const reference = new OffscreenCanvas(alone.width, alone.height).getContext('2d')!;
          reference.drawImage(alone, 0, 0);
          const expected = reference.getImageData(0, 0, alone.width, alone.height).data;
          const difference = shown.length === expected.length ? Math.max(...shown.map((value, k) => Math.abs(value - expected[k]))) : Infinity;
          return { id: tile.dataset.imageId, difference, inked: shown.some((value, k) => k % 4 !== 3 && value < 128) };
        }),
      );
    });
    expect(drawn).toHaveLength(8);
    // WebCodecs (the grid's decoder) and the image decoder round WebP's colours a level apart at most;
    // another image's thumbnail differs by most of the range (ink against paper).
    expect(drawn.filter((tile) => tile.difference > 2 || !tile.inked)).toEqual([]);
  });
});

/** Ids of the tiles in the grid's view whose thumbnail is not painted yet. */
function unpaintedInView(): Promise<string[]> {
  return page.getByTestId('grid').evaluate((grid) => {
    const view = grid.getBoundingClientRect();
    return [...grid.querySelectorAll<HTMLElement>('[data-testid="tile"]')]
      .filter((tile) => tile.getBoundingClientRect().bottom > view.top && tile.getBoundingClientRect().top < view.bottom)
      .filter((tile) => !((tile.querySelector('canvas')?.width ?? 0) > 0))
      .map((tile) => tile.dataset.imageId!);
  });
}

/** The images a grid's thumbnail request asks for (`/media/thumbs/3,4,5`); none for another request. */
const thumbIds = (url: string) => (/\/media\/thumbs\/([\d,]+)/.exec(url)?.[1].split(',') ?? []).map(Number);

// Issue 15: thumbnails only near the view once scrolling settles, and a quiet close. Last: it closes the project.
describe('grid under a fast hand', () => {
  it('asks for no thumbnail of the tiles a fast scroll flew past, and paints the view where it stops', async () => {
    await page.getByTestId('grid').evaluate((el) => (el.scrollTop = 0));
    await expect.poll(unpaintedInView).toEqual([]);
    const rendered = await page.getByTestId('tile').count();
    const asked: number[] = [];
    page.on('request', (request) => {
      asked.push(...thumbIds(request.url()));
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
    // Asked for besides where it stopped: the first steps' tiles (a scroll is not fast until its
    // second event), at most twice a page of tiles; each tile it flew past, before the queue.
    const flownPast = asked.filter((id) => !shown.includes(id));
    expect(flownPast.length).toBeLessThanOrEqual(2 * rendered);
    expect(asked.length).toBeLessThan(3 * rendered);
  });

  it('End right after opening goes to the last image, although the list still streams in behind its first page', async () => {
    // The reads after the first page held back 1.5 s, as a list of 100,000 streams in for seconds.
    const held: number[] = [];
    const list = '**/api/call/images.page';
    await page.route(list, async (route) => {
      const { offset } = JSON.parse(route.request().postData() ?? '{}') as { offset: number };
      if (offset > 0) {
        held.push(offset);
        await new Promise((resolve) => setTimeout(resolve, 1500));
      }
      await route.continue();
    });
    try {
      await page.reload();
      await page.getByTestId('tile').first().waitFor();
      await page.getByTestId('grid').focus();
      await page.keyboard.press('End'); // 2,000 of 2,720 rows read: End must not stop at the 2,000th
      await expect.poll(() => page.locator('[data-testid="tile"][aria-selected="true"]').getAttribute('data-index'), { timeout: 10_000 }).toBe('2719');
      expect([...new Set(held)]).toEqual([2000]); // by the stream, and maybe for the view too
      await expect.poll(unpaintedInView, { timeout: 10_000 }).toEqual([]);
    } finally {
      await page.unrouteAll({ behavior: 'wait' });
    }
  });

  it('paints every tile in view after a jump to the end', async () => {
    await page.getByTestId('grid').focus();
    await page.keyboard.press('End');
    await expect.poll(() => page.locator('[data-testid="tile"][aria-selected="true"]').getAttribute('data-index')).toBe('2719');
    await expect.poll(unpaintedInView, { timeout: 10_000 }).toEqual([]);
  });

  it('End and a drag on a long list read the rows they land on at once, not the rows between, which stream in behind', async () => {
    // 12,000 images: six blocks of 2,000 rows. The stream's reads (several blocks at once) are held until the end of the test.
    const path = session.studio.project!.path;
    await session.studio.invoke('project.close', {});
    repeatImageRows(path, 12_000);
    await session.studio.invoke('project.open', { path });
    const list = '**/api/call/images.page';
    let release = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    await page.route(list, async (route) => {
      const { limit } = JSON.parse(route.request().postData() ?? '{}') as { limit: number };
      if (limit > 2000) await released;
      await route.continue();
    });
    try {
      listReads.length = 0;
      await page.reload();
      await expect.poll(() => page.getByTestId('image-count').textContent()).toMatch(/12,?000/);
      await page.getByTestId('tile').first().waitFor();
      await page.getByTestId('grid').focus();
      await page.keyboard.press('End');
      await expect.poll(() => page.locator('[data-testid="tile"][aria-selected="true"]').getAttribute('data-index'), { timeout: 10_000 }).toBe('11999');
      await expect.poll(unpaintedInView, { timeout: 10_000 }).toEqual([]);
      expect(listReads).toContainEqual({ method: 'images.page', filter: { kind: 'all' }, sort: 'import', offset: 10_000, limit: 2000 });
      // A drag to the middle: the block of rows 6,000 to 7,999 is read for the view.
      await page.getByTestId('grid').evaluate((el) => (el.scrollTop = el.scrollHeight / 2));
      await expect.poll(unpaintedInView, { timeout: 10_000 }).toEqual([]);
      expect(listReads).toContainEqual({ method: 'images.page', filter: { kind: 'all' }, sort: 'import', offset: 6000, limit: 2000 });
    } finally {
      release();
      await page.unrouteAll({ behavior: 'wait' }); // once the held reads went on
    }
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
    const [errorsBefore, statusesBefore] = [consoleErrors.length, mediaStatuses.length];
    await session.studio.invoke('project.close', {});
    // A thumbnail the page asks for after the close, before it hears of it: quietly nothing.
    const late = await page.evaluate((url) => fetch(url).then((r) => r.status), `/media/thumbs/1,2?project=${encodeURIComponent(projectPath)}`);
    expect(late).toBe(204);
    await expect.poll(() => page.getByTestId('grid').count(), { timeout: 10_000 }).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(mediaStatuses.slice(statusesBefore).filter((s) => s.status >= 400)).toEqual([]);
    expect(consoleErrors.slice(errorsBefore)).toEqual([]);
  });
});
