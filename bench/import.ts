/**
 * Import throughput: the studio's whole import (scan, read, sha256, dedupe, decode, EXIF,
 * thumbnail, SQLite writes) against a reference measured in the same run: sharp alone making the
 * same thumbnails from the same files at the same concurrency. Prints a table, writes JSON.
 *   npm run bench:import [-- <dataset folder>...]
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import sharp from 'sharp';
import { THUMBNAIL_SIDE } from '../src/main/services/image-decoding';
import { Project } from '../src/main/services/project';

const SHARED = resolve(import.meta.dirname, '../../shared/datasets');
const datasets = process.argv.slice(2).length > 0 ? process.argv.slice(2) : [join(SHARED, 'omniglot-small1'), join(SHARED, 'cifar10-mini')];

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}

async function referenceThumbnails(files: string[]): Promise<number> {
  const started = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < files.length) {
      const bytes = await readFile(files[next++]);
      await sharp(bytes).rotate().resize(THUMBNAIL_SIDE, THUMBNAIL_SIDE, { fit: 'inside', withoutEnlargement: true }).webp({ quality: 80 }).toBuffer();
    }
  };
  await Promise.all(Array.from({ length: availableParallelism() * 2 }, lane));
  return (performance.now() - started) / 1000;
}

async function studioImport(root: string): Promise<{ seconds: number; imported: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'atl-bench-'));
  const project = Project.create(join(dir, 'bench.atl'));
  try {
    const started = performance.now();
    const report = await project.imports.run({ roots: [root], labelsFromFolders: true });
    return { seconds: (performance.now() - started) / 1000, imported: report.imported };
  } finally {
    project.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const rows = [];
for (const root of datasets) {
  const files = listFiles(root);
  await referenceThumbnails(files.slice(0, 50)); // warm sharp and the page cache
  const reference = await referenceThumbnails(files);
  const full = await studioImport(root);
  rows.push({
    dataset: basename(root),
    images: full.imported,
    import_s: Number(full.seconds.toFixed(2)),
    import_images_per_s: Number((full.imported / full.seconds).toFixed(1)),
    sharp_only_images_per_s: Number((files.length / reference).toFixed(1)),
    ratio_vs_sharp_only: Number((reference / full.seconds).toFixed(2)),
  });
}

console.table(rows);
const out = join(import.meta.dirname, '../bench-results');
mkdirSync(out, { recursive: true });
const result = { date: new Date().toISOString(), cpu: cpus()[0]?.model, cores: availableParallelism(), rows };
writeFileSync(join(out, 'import.json'), JSON.stringify(result, null, 2));
console.log(`Wrote ${join(out, 'import.json')}`);
