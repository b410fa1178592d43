/**
 * The scale bench's plumbing at a tiny size, so that it cannot rot: real Fashion-MNIST PNGs and
 * CIFAR JPEGs, ResNet-20, every job run once and reported (the figures themselves come from
 * `npm run bench:scale`).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createTeacherService } from '../../src/main/app/composition-root';

const cache = mkdtempSync(join(tmpdir(), 'atl-scale-bench-'));
process.env.ATL_STUDIO_SCALE_CACHE = cache;
const { scaleFolder, scaleImages, writeFashionMnist } = await import('../../bench/scale-data');
const { runScale } = await import('../../bench/scale');
afterAll(() => rmSync(cache, { recursive: true, force: true }));

describe('bench:scale', () => {
  it('loads the grid measurement without importing itself back (its top-level await would wait on itself: exit 13)', () => {
    const imports = [...readFileSync(join(import.meta.dirname, '../../bench/grid-scroll.ts'), 'utf8').matchAll(/from '(\.[^']+)'/g)].map((m) => m[1]);
    expect(imports).toContain('./scale-data');
    expect(imports).not.toContain('./scale');
  });

  it('runs every job on 120 images and reports each with its time and memory', async (ctx) => {
    if ((await writeFashionMnist(join(cache, 'fashion-mnist'), { limitPerSplit: 60 })) === null) ctx.skip('dataset-fashion-mnist is not installed');
    // The test split comes first: the first 60 images are its first 60, all classes.
    expect(scaleImages().slice(0, 60).every((i) => i.path.includes('t10k-'))).toBe(true);
    expect(scaleFolder(120)).toBe(join(cache, 'first-120'));

    const teachers = createTeacherService();
    try {
      const rows = await runScale({ size: 120, teacher: 'resnet20_cifar10', labels: 40, log: () => undefined }, teachers);
      const jobs = Object.fromEntries(rows.map((r) => [r.job, r]));
      expect(Object.keys(jobs)).toEqual([
        'import',
        'open + info',
        'grid first page',
        'list all images',
        'list one class',
        'list unlabeled',
        'extract, cancelled at a third',
        'extract, resumed',
        'train penultimate on 40 labels',
        'train atl on 40 labels',
        'train atl on 40 labels, cancelled after a split',
        'compare penultimate, atl on 40 labels (1 split, 20 % held out)',
        'predict every image (penultimate head)',
        'label next: 20 of the unlabeled pool',
        'label next, cancelled halfway through the ranking',
        'list by confidence',
      ]);
      expect(jobs.import.note).toBe('120 imported, 0 failed');
      expect(jobs['list unlabeled'].note).toBe('80 rows');
      // Cancelled a third of the way, then resumed from what the first run kept.
      const [cancelled, resumed] = [jobs['extract, cancelled at a third'], jobs['extract, resumed']];
      const kept = Number(/^(\d+) of 120 extracted, cancelled: true$/.exec(cancelled.note!)?.[1]);
      expect(kept).toBeGreaterThanOrEqual(40);
      expect(kept).toBeLessThan(120);
      expect(resumed.note).toBe(`${kept} cached (the cancelled run kept ${kept}), ${120 - kept} extracted, 0 failed`);
      expect(jobs['train atl on 40 labels, cancelled after a split'].note).toMatch(/^cancelled, stopped \d+\.\d\d s after the cancel$/);
      expect(jobs['predict every image (penultimate head)'].note).toBe('120 predicted');
      expect(jobs['label next, cancelled halfway through the ranking'].note).toMatch(/^cancelled, stopped \d+\.\d\d s after the cancel$/);
      for (const row of rows) expect(row.peakRssMb, row.job).toBeGreaterThan(0);
    } finally {
      await teachers.dispose();
    }
  });
});
