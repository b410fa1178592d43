/**
 * `images.page`: the grid reads a large project page by page. Pages read one after the other are
 * the whole list, in its order, for every filter and sort; `total` is the whole list's length; a
 * page beyond the end is empty; bounds are checked before any read.
 */
import Database from 'better-sqlite3';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Studio } from '../../src/main/app/studio';
import { SHARED_FOLDER_ENDS } from '../../src/main/services/image-service';
import type { ImageFilter, ImageRow, ImageSort } from '../../src/shared/contract';
import { MAX_IMAGE_PAGE } from '../../src/shared/image-pages';
import { CIFAR10_MINI, tempDir } from '../helpers/fixtures';

let dir: ReturnType<typeof tempDir>;
let studio: Studio;

beforeAll(async () => {
  dir = tempDir('atl-image-pages-');
  studio = new Studio({ home: join(dir.path, 'home'), front: 'web' });
  await studio.invoke('project.create', { name: 'pages', path: join(dir.path, 'pages.atl') });
  // Two classes labeled from their folders, a third imported unlabeled: 150 images.
  const labeled = join(dir.path, 'labeled');
  for (const c of ['cat', 'dog']) cpSync(join(CIFAR10_MINI, c), join(labeled, c), { recursive: true });
  await studio.invoke('import.start', { paths: [labeled], labelsFromFolders: true });
  await studio.idle();
  await studio.invoke('import.start', { paths: [join(CIFAR10_MINI, 'ship')], labelsFromFolders: false });
  await studio.idle();
}, 60_000);
afterAll(async () => {
  await studio.dispose();
  dir.remove();
});

async function allPages(filter: ImageFilter, sort: ImageSort, limit: number): Promise<{ totals: number[]; rows: ImageRow[] }> {
  const totals: number[] = [];
  const rows: ImageRow[] = [];
  for (let offset = 0; ; offset += limit) {
    const page = await studio.invoke('images.page', { filter, sort, offset, limit });
    totals.push(page.total);
    rows.push(...page.rows);
    if (page.rows.length < limit) return { totals, rows };
  }
}

describe('images.page', () => {
  it('pages through the same list as images.list, for every filter and sort', async () => {
    const [cat] = await studio.invoke('classes.list', {});
    expect(cat).toBeDefined();
    const filters: ImageFilter[] = [{ kind: 'all' }, { kind: 'unlabeled' }, { kind: 'class', classId: cat.id }];
    for (const filter of filters) {
      for (const sort of ['import', 'name'] as const) {
        const list = await studio.invoke('images.list', { filter, sort });
        const { totals, rows } = await allPages(filter, sort, 32);
        expect(rows, `${filter.kind} by ${sort}`).toEqual(list);
        expect(new Set(totals)).toEqual(new Set([list.length]));
      }
    }
    expect((await studio.invoke('images.list', { filter: { kind: 'all' }, sort: 'import' })).length).toBe(150);
    expect((await studio.invoke('images.page', { filter: { kind: 'unlabeled' }, sort: 'import', offset: 0, limit: 10 })).total).toBe(50);
  });

  it('finds the folder every image shares (read with each page) by two searches of the index of paths, not by a scan', () => {
    // A scan of the table reads every row with its thumbnail: 50-130 ms per page at 100,000 images; of the index, 6-47 ms.
    const db = new Database(join(dir.path, 'pages.atl'), { readonly: true });
    try {
      const plan = db.prepare(`EXPLAIN QUERY PLAN ${SHARED_FOLDER_ENDS}`).all() as { detail: string }[];
      expect(plan.map((step) => step.detail)).toEqual([
        'SCAN CONSTANT ROW',
        'SCALAR SUBQUERY 1',
        'SEARCH images USING COVERING INDEX images_original_path',
        'SCALAR SUBQUERY 2',
        'SEARCH images USING COVERING INDEX images_original_path',
      ]);
    } finally {
      db.close();
    }
  });

  it('answers an empty page beyond the end, with the total', async () => {
    expect(await studio.invoke('images.page', { filter: { kind: 'all' }, sort: 'import', offset: 150, limit: 10 })).toEqual({ total: 150, rows: [] });
  });

  it(`refuses a limit under 1 or over ${MAX_IMAGE_PAGE}, a negative offset, and unknown keys`, async () => {
    const base = { filter: { kind: 'all' as const }, sort: 'import' as const };
    for (const input of [
      { ...base, offset: 0, limit: 0 },
      { ...base, offset: 0, limit: MAX_IMAGE_PAGE + 1 },
      { ...base, offset: -1, limit: 10 },
      { ...base, offset: 0.5, limit: 10 },
      { ...base, offset: 0, limit: 10, extra: true },
    ]) {
      await expect(studio.invoke('images.page', input as never), JSON.stringify(input)).rejects.toThrow(/invalid|Invalid|expected|Unrecognized/i);
    }
  });
});
