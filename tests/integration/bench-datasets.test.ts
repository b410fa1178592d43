/**
 * The bench's development and held-out data sets (bench/datasets.ts) are different images: no
 * held-out image is byte-identical to a development image, and the sets written from Debian's
 * packages have the size the docs state. Sets this machine cannot have are skipped, saying so.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanLabeledFolder } from '../../src/main/services/dataset';

const cache = mkdtempSync(join(tmpdir(), 'atl-bench-data-'));
process.env.ATL_STUDIO_DATA_CACHE = cache;
const { DEVELOPMENT, HELD_OUT } = await import('../../bench/datasets');
afterAll(() => rmSync(cache, { recursive: true, force: true }));

const folders = new Map<string, string | null>();
beforeAll(async () => {
  for (const dataset of [...DEVELOPMENT, ...HELD_OUT]) folders.set(dataset.id, await dataset.prepare());
}, 300_000);

async function hashes(folder: string): Promise<Set<string>> {
  return new Set((await scanLabeledFolder(folder)).images.map((i) => createHash('sha256').update(readFileSync(i.path)).digest('hex')));
}

describe('bench data sets', () => {
  it('written under ATL_STUDIO_DATA_CACHE, with the classes and images the docs state', async (ctx) => {
    const expected: Record<string, { classes: number; images: number }> = {
      'fashion-mnist-subset': { classes: 10, images: 1000 },
      'fashion-mnist-train-subset': { classes: 10, images: 1000 },
      'uci-digits': { classes: 10, images: 1797 },
    };
    const present = Object.keys(expected).filter((id) => folders.get(id));
    if (present.length === 0) ctx.skip('neither dataset-fashion-mnist nor python3-sklearn is installed');
    for (const id of present) {
      expect(folders.get(id)).toBe(join(cache, id));
      const { images } = await scanLabeledFolder(folders.get(id)!);
      expect({ classes: new Set(images.map((i) => i.className)).size, images: images.length }, id).toEqual(expected[id]);
    }
  });

  it('no held-out image is one of the development images', async (ctx) => {
    const heldOut = HELD_OUT.filter((d) => folders.get(d.id));
    if (heldOut.length === 0) ctx.skip('no held-out set can be had on this machine');
    const development = new Set<string>();
    for (const d of DEVELOPMENT) if (folders.get(d.id)) for (const h of await hashes(folders.get(d.id)!)) development.add(h);
    for (const dataset of heldOut) {
      const shared = [...(await hashes(folders.get(dataset.id)!))].filter((h) => development.has(h));
      expect(shared, dataset.id).toEqual([]);
    }
  });
});
