/**
 * Real images for the scale bench (bench/scale.ts), written once outside the repository:
 * the 70,000 Fashion-MNIST images of Debian's `dataset-fashion-mnist` as one-channel PNGs under
 * `<cache>/fashion-mnist/<class>/<split>-<index>.png` (`ATL_STUDIO_SCALE_CACHE`, default
 * `~/.cache/atl-studio/scale`), plus the CIFAR-10 JPEGs of ../shared/datasets read where they are.
 * Resumable: a file that exists is kept (each is written under a temporary name, then renamed, so
 * an interrupted run never leaves half a PNG). Nothing is written anywhere else.
 *   npx tsx bench/scale-data.ts
 */
import { existsSync, linkSync, mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import sharp from 'sharp';
import { FASHION_CLASSES, FASHION_DIR, FASHION_INSTALL, readIdx } from './datasets';

export const SCALE_CACHE = resolve(process.env.ATL_STUDIO_SCALE_CACHE ?? join(homedir(), '.cache/atl-studio/scale'));
export const FASHION_SCALE_DIR = join(SCALE_CACHE, 'fashion-mnist');
/** CIFAR-10 JPEGs, 32 px, read in place: real photos beside the 28 px grayscale clothes. */
export const CIFAR_DIR = resolve(import.meta.dirname, '../../shared/datasets/cifar10-mini');
/** The test split first: the bench's 10k size is then exactly that split, every class balanced. */
const SPLITS = ['t10k', 'train'] as const;
const ENCODERS = 4;

/** Where one image of a split goes: `<class>/<split>-<index>.png`, the index zero-padded to sort in file order. */
export function fashionPath(dir: string, split: string, index: number, label: number): string {
  const className = FASHION_CLASSES[label];
  if (className === undefined) throw new Error(`Fashion-MNIST label ${label} is not one of the 10 classes`);
  return join(dir, className, `${split}-${String(index).padStart(5, '0')}.png`);
}

/**
 * Writes every Fashion-MNIST image that is not there yet; returns how many it wrote. Null (saying
 * why) when the Debian package is not installed.
 */
export async function writeFashionMnist(
  dir = FASHION_SCALE_DIR,
  options: { limitPerSplit?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<number | null> {
  if (!existsSync(join(FASHION_DIR, 't10k-images-idx3-ubyte.gz'))) {
    console.error(`Fashion-MNIST is not installed (${FASHION_DIR}); to write the scale data, run (as root):\n  ${FASHION_INSTALL}`);
    return null;
  }
  for (const className of FASHION_CLASSES) mkdirSync(join(dir, className), { recursive: true });
  let written = 0;
  for (const split of SPLITS) {
    const { dims, data } = readIdx(join(FASHION_DIR, `${split}-images-idx3-ubyte.gz`));
    const { data: labels } = readIdx(join(FASHION_DIR, `${split}-labels-idx1-ubyte.gz`));
    const [count, height, width] = dims;
    if (labels.length !== count) throw new Error(`Fashion-MNIST ${split}: ${count} images but ${labels.length} labels`);
    const total = Math.min(count, options.limitPerSplit ?? count);
    let next = 0;
    const encoder = async () => {
      while (next < total) {
        const index = next++;
        const path = fashionPath(dir, split, index, labels[index]);
        if (existsSync(path)) continue;
        const png = await sharp(data.subarray(index * height * width, (index + 1) * height * width), { raw: { width, height, channels: 1 } })
          .toColourspace('b-w') // one channel, as the images are
          .png()
          .toBuffer();
        const partial = `${path}.partial-${process.pid}`;
        writeFileSync(partial, png);
        renameSync(partial, path);
        written++;
        if (index % 5000 === 0) options.onProgress?.(index, total);
      }
    };
    await Promise.all(Array.from({ length: ENCODERS }, encoder));
  }
  return written;
}

/**
 * The bench's images in a fixed order: Fashion-MNIST's test split, then its training split, then
 * the CIFAR-10 JPEGs, as `{ path, className }`. The first 10,000 are the test split, every class
 * balanced.
 */
export function scaleImages(): { path: string; className: string }[] {
  const fashion = readdirSync(FASHION_SCALE_DIR).flatMap((className) =>
    readdirSync(join(FASHION_SCALE_DIR, className))
      .filter((name) => name.endsWith('.png'))
      .map((name) => ({ path: join(FASHION_SCALE_DIR, className, name), className })),
  );
  const splitFirst = (name: string) => (name.startsWith('t10k-') ? `0${name}` : `1${name}`);
  fashion.sort((a, b) => splitFirst(basename(a.path)).localeCompare(splitFirst(basename(b.path))) || a.className.localeCompare(b.className));
  const cifar = existsSync(CIFAR_DIR)
    ? readdirSync(CIFAR_DIR).sort().flatMap((className) => readdirSync(join(CIFAR_DIR, className)).sort().map((name) => ({ path: join(CIFAR_DIR, className, name), className })))
    : [];
  return [...fashion, ...cifar];
}

/**
 * A folder of the first `size` scale images as hard links in class folders (regular files: the
 * import sees what it would see in the originals), under the scale cache; kept for the next run.
 */
export function scaleFolder(size: number): string {
  const images = scaleImages();
  if (images.length < size) throw new Error(`The scale data has ${images.length} images, fewer than ${size}: run npx tsx bench/scale-data.ts`);
  const dir = join(SCALE_CACHE, `first-${size}`);
  for (const { path, className } of images.slice(0, size)) {
    const target = join(dir, className, `${basename(dirname(dirname(path))) === basename(CIFAR_DIR) ? 'cifar-' : ''}${basename(path)}`);
    if (existsSync(target)) continue;
    mkdirSync(dirname(target), { recursive: true });
    linkSync(path, target);
  }
  return dir;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const started = performance.now();
  const written = await writeFashionMnist(FASHION_SCALE_DIR, { onProgress: (done, total) => console.error(`  ${done} / ${total}`) });
  if (written !== null) console.log(`${FASHION_SCALE_DIR}: wrote ${written} PNGs in ${((performance.now() - started) / 1000).toFixed(0)} s (the others were there)`);
}
