/**
 * The data and teachers of every experiment, in one place.
 *
 * DEVELOPMENT sets: every hyper-parameter of the strategies was chosen on episodes of these
 * (`bench/tune-*.ts`). HELD_OUT sets: they played no part in any choice; `docs/results.md`
 * reports them apart. Sets that Debian packages provide are written out once as PNG files under
 * a cache folder outside the repository (`ATL_STUDIO_DATA_CACHE`, default
 * `~/.cache/atl-studio/datasets`), with the same bytes every time.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import sharp from 'sharp';

const ROOT = resolve(import.meta.dirname, '..');
const SHARED = resolve(ROOT, '../shared/datasets');
export const DATA_CACHE = resolve(process.env.ATL_STUDIO_DATA_CACHE ?? join(homedir(), '.cache/atl-studio/datasets'));
/** One feature cache file per data set, shared by every bench script (it is keyed by teacher, layer and pooling inside). */
export function featureCachePath(datasetId: string): string {
  // The cache folder may not exist yet on a fresh machine (sets read from ../shared never write it).
  mkdirSync(DATA_CACHE, { recursive: true });
  return join(DATA_CACHE, `features-${datasetId}.sqlite`);
}

export const FASHION_DIR = '/usr/share/datasets/fashion-mnist';
export const FASHION_INSTALL = 'apt-get install -y dataset-fashion-mnist';
/** Fashion-MNIST's labels 0–9; folder-safe (the official 'T-shirt/top' would make a nested class). */
export const FASHION_CLASSES = ['T-shirt-top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle-boot'];
const FASHION_PER_CLASS = 100;
const DIGITS_CSV = '/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz';
const DIGITS_INSTALL = 'apt-get install -y python3-sklearn';

export type DataRole = 'development' | 'held-out';

export interface BenchDataset {
  id: string;
  role: DataRole;
  /** What the docs say about it: source, resolution, license. */
  about: string;
  /** How far it is from the development sets (held-out sets only). */
  independence?: string;
  /** The folder of class folders, or null (with the reason printed) when it cannot be had here. */
  prepare: () => Promise<string | null>;
}

export interface BenchTeacher {
  id: string;
  name: string;
  /** The data set it was trained on, if one of ours: that run is in domain. */
  domain?: string;
}

export const TEACHERS: BenchTeacher[] = [
  { id: 'resnet56_cifar10', name: 'ResNet-56 (CIFAR-10)', domain: 'cifar10-mini' },
  { id: 'mobilenet_v1_0.75_224', name: 'MobileNet v1 0.75 (ImageNet)' },
];

export const DEVELOPMENT: BenchDataset[] = [
  { id: 'cifar10-mini', role: 'development', about: 'CIFAR-10 photos, 32 px', prepare: async () => join(SHARED, 'cifar10-mini') },
  {
    id: 'fashion-mnist-subset',
    role: 'development',
    about: `Fashion-MNIST test split, first ${FASHION_PER_CLASS} images per class (Debian \`dataset-fashion-mnist\`, MIT), 28 px grayscale`,
    prepare: () => fashionSubset('t10k', 'fashion-mnist-subset'),
  },
  { id: 'omniglot-small1', role: 'development', about: 'Omniglot characters, 105 px binary strokes', prepare: async () => join(SHARED, 'omniglot-small1') },
];

export const HELD_OUT: BenchDataset[] = [
  {
    id: 'uci-digits',
    role: 'held-out',
    about:
      'UCI optical recognition of handwritten digits, the 1 797 images scikit-learn ships (Debian `python3-sklearn`; Alpaydin & Kaynak 1998, CC BY 4.0), ' +
      '8×8 px, 17 gray levels',
    independence: 'another source, other writers, other classes (digits) than every development set; handwriting like Omniglot',
    prepare: uciDigits,
  },
  {
    id: 'fashion-mnist-train-subset',
    role: 'held-out',
    about: `Fashion-MNIST training split, first ${FASHION_PER_CLASS} images per class (Debian \`dataset-fashion-mnist\`, MIT), 28 px grayscale`,
    independence:
      'other images than the development subset (the training split, not the test split) but the same source, classes and style: ' +
      'it shows whether a choice overfitted those images, not whether it carries over to another domain',
    prepare: () => fashionSubset('train', 'fashion-mnist-train-subset'),
  },
];

export const DATASETS: BenchDataset[] = [...DEVELOPMENT, ...HELD_OUT];

/**
 * Writes a data set's folder once: into a temporary folder renamed when complete, so an
 * interrupted run never leaves half a set that a later run would take as whole.
 */
async function writeOnce(id: string, write: (dir: string) => Promise<void>): Promise<string> {
  const dir = join(DATA_CACHE, id);
  if (existsSync(dir)) return dir;
  const partial = `${dir}.partial-${process.pid}`;
  mkdirSync(partial, { recursive: true });
  try {
    await write(partial);
    renameSync(partial, dir);
  } catch (error) {
    rmSync(partial, { recursive: true, force: true });
    throw error;
  }
  console.error(`Wrote ${dir}`);
  return dir;
}

/** A grayscale image as a one-channel PNG in `dir/className/name.png`. */
async function writeGray(dir: string, className: string, name: string, pixels: Uint8Array, width: number, height: number): Promise<void> {
  mkdirSync(join(dir, className), { recursive: true });
  await sharp(pixels, { raw: { width, height, channels: 1 } })
    .toColourspace('b-w') // keep one channel: sharp would otherwise write RGB
    .png()
    .toFile(join(dir, className, `${name}.png`));
}

/** Decodes IDX bytes (big-endian header: magic with the dimension count, then each dimension). */
export function parseIdx(bytes: Uint8Array, name = 'IDX data'): { dims: number[]; data: Uint8Array } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4 || view.getUint16(0) !== 0 || bytes[2] !== 0x08) throw new Error(`${name}: not an unsigned-byte IDX file`);
  const dims = Array.from({ length: bytes[3] }, (_, i) => view.getUint32(4 + 4 * i));
  const data = bytes.subarray(4 + 4 * dims.length);
  const expected = dims.reduce((n, d) => n * d, 1);
  if (data.length !== expected) throw new Error(`${name}: ${data.length} bytes of data, its header says ${expected}`);
  return { dims, data };
}

/** A gzipped IDX file, as Debian ships them. */
export const readIdx = (path: string) => parseIdx(gunzipSync(readFileSync(path)), path);

/** The first images of each class of one Fashion-MNIST split, in file order, as PNGs in a folder per class. */
async function fashionSubset(split: 't10k' | 'train', id: string): Promise<string | null> {
  const images = join(FASHION_DIR, `${split}-images-idx3-ubyte.gz`);
  const labels = join(FASHION_DIR, `${split}-labels-idx1-ubyte.gz`);
  if (!existsSync(images) || !existsSync(labels)) {
    console.error(`Fashion-MNIST is not installed (${images} missing); skipping ${id}. To include it, run (as root):\n  ${FASHION_INSTALL}`);
    return null;
  }
  return writeOnce(id, async (dir) => {
    const { dims, data } = readIdx(images);
    const { data: label } = readIdx(labels);
    const [, height, width] = dims;
    const taken = FASHION_CLASSES.map(() => 0);
    for (let i = 0; i < label.length && taken.some((n) => n < FASHION_PER_CLASS); i++) {
      const c = label[i];
      if (taken[c]++ >= FASHION_PER_CLASS) continue;
      await writeGray(dir, FASHION_CLASSES[c], `${split}-${String(i).padStart(5, '0')}`, data.subarray(i * height * width, (i + 1) * height * width), width, height);
    }
  });
}

/** scikit-learn's copy of the UCI digits: one CSV row per image, 64 pixels in 0..16 then the digit. */
async function uciDigits(): Promise<string | null> {
  if (!existsSync(DIGITS_CSV)) {
    console.error(`scikit-learn's digits are not installed (${DIGITS_CSV} missing); skipping uci-digits. To include them, run (as root):\n  ${DIGITS_INSTALL}`);
    return null;
  }
  return writeOnce('uci-digits', async (dir) => {
    const rows = gunzipSync(readFileSync(DIGITS_CSV)).toString('utf8').trim().split('\n');
    for (const [i, row] of rows.entries()) {
      const values = row.split(',').map(Number);
      if (values.length !== 65) throw new Error(`${DIGITS_CSV} row ${i + 1}: ${values.length} values, expected 65`);
      const pixels = Uint8Array.from(values.slice(0, 64), (v) => Math.round((255 * v) / 16));
      await writeGray(dir, String(values[64]), `digit-${String(i).padStart(4, '0')}`, pixels, 8, 8);
    }
  });
}

/** Writes every data set this machine can have (`npx tsx bench/datasets.ts`): what a bench run would otherwise do first. */
if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  for (const dataset of DATASETS) {
    const dir = await dataset.prepare();
    console.log(`${dataset.role.padEnd(11)} ${dataset.id.padEnd(28)} ${dir ?? 'not available here'}`);
  }
}
