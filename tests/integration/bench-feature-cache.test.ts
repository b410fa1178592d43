/**
 * The bench's feature cache opens on a fresh machine, where its folder (ATL_STUDIO_DATA_CACHE) does
 * not exist yet: a data set read from ../shared never writes it (bench/teachers.ts failed so).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { FeatureCache } from '../../src/main/features/feature-cache';

const parent = mkdtempSync(join(tmpdir(), 'atl-bench-cache-'));
const cache = join(parent, 'not-yet', 'datasets');
process.env.ATL_STUDIO_DATA_CACHE = cache;
const { featureCachePath } = await import('../../bench/datasets');
afterAll(() => rmSync(parent, { recursive: true, force: true }));

it('opens in a cache folder that does not exist yet', () => {
  expect(existsSync(cache)).toBe(false);
  const path = featureCachePath('cifar10-mini');
  const features = FeatureCache.openFile(path);
  features.close();
  expect(existsSync(path)).toBe(true);
});
