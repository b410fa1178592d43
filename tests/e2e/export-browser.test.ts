/**
 * The exported browser page gives the studio's answers: each export (ONNX and TF.js, of a
 * penultimate and an all-layers head, on MobileNet and on ResNet-20, and an all-layers head on
 * ResNet-20 imported as a user's ONNX with ImageNet preprocessing, which center-crops the photos in
 * the graph) is served over HTTP, its
 * `window.atlPredict` classifies real images that Chromium decodes itself (CIFAR-10 JPEGs, two
 * photos, an EXIF-rotated JPEG and a PNG with transparency), and every answer is compared with
 * `atl-studio predict --json`: same class, |Δ confidence| ≤ 1e-4 (5e-3 for the PNG with transparency,
 * whose flattening the canvas rounds its own way). TF.js runs on WebGL (SwiftShader
 * when headless, where Chromium has it) and on WebAssembly; the test prints which ran.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Studio } from '../../src/main/app/studio';
import type { ExportFormat, StrategyName } from '../../src/shared/contract';
import { CHROMIUM } from '../helpers/browser';
import { CIFAR10_MINI, REPO, SHARED, tempDir } from '../helpers/fixtures';

const run = promisify(execFile);
const PHOTOS = join(SHARED, 'datasets/photos');
const CLASSES = ['cat', 'ship', 'truck'];
/** The PNG with transparency (see writeTrickyImages). */
const FADING = 'chelsea-fading.png';
const LABELED_PER_CLASS = 6;
/** ResNet-20's file imported as a user's own with 'imagenet' preprocessing: it center-crops. */
const CROPPING_TEACHER = 'cropping_resnet20';
const HEADS: { teacher: string; strategy: StrategyName }[] = [
  { teacher: 'mobilenet_v1_0.75_224', strategy: 'penultimate' },
  { teacher: 'mobilenet_v1_0.75_224', strategy: 'all-layers' },
  { teacher: 'resnet20_cifar10', strategy: 'penultimate' },
  { teacher: 'resnet20_cifar10', strategy: 'all-layers' },
  { teacher: CROPPING_TEACHER, strategy: 'all-layers' },
];
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.mjs': 'text/javascript',
  '.js': 'text/javascript',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
};

interface Answer {
  class: string;
  confidence: number;
}

let dir: ReturnType<typeof tempDir>;
let studio: Studio;
let server: Server;
let origin: string;
let browser: Browser;
/** The images the pages classify, as served (images/…) and on disk. */
let images: string[];
/** Per export folder (served at /<name>/): format and the CLI's answers, by image file name. */
const exports: { name: string; format: ExportFormat; expected: Map<string, Answer> }[] = [];

/** A static file server for `root`, as a web developer would use (any would do). */
function serve(root: string): Promise<Server> {
  const s = createServer((request, response) => {
    const path = normalize(join(root, decodeURIComponent(new URL(request.url!, 'http://x').pathname)));
    if (!path.startsWith(root)) return void response.writeHead(403).end();
    try {
      const body = readFileSync(path);
      response.writeHead(200, { 'content-type': CONTENT_TYPES[extname(path)] ?? 'application/octet-stream' }).end(body);
    } catch {
      response.writeHead(404).end();
    }
  });
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve(s)));
}

/** Images that need more than a plain decode: an EXIF-rotated JPEG and a PNG with transparency. */
async function writeTrickyImages(folder: string): Promise<void> {
  await sharp(join(PHOTOS, 'coffee.png')).jpeg({ quality: 90 }).withMetadata({ orientation: 6 }).toFile(join(folder, 'coffee-rotated.jpg'));
  const { data, info } = await sharp(join(PHOTOS, 'chelsea.png')).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  // Alpha falls from opaque (left) to transparent (right): flattened onto white, the cat fades out.
  for (let y = 0; y < info.height; y++) for (let x = 0; x < info.width; x++) data[(y * info.width + x) * 4 + 3] = Math.round(255 * (1 - x / info.width));
  await sharp(data, { raw: { width: info.width, height: info.height, channels: 4 } }).png().toFile(join(folder, FADING));
}

beforeAll(async () => {
  dir = tempDir('export-browser');
  const site = join(dir.path, 'site');
  const training = join(dir.path, 'training');
  mkdirSync(join(site, 'images'), { recursive: true });
  for (const c of CLASSES) {
    const files = readdirSync(join(CIFAR10_MINI, c)).sort();
    mkdirSync(join(training, c), { recursive: true });
    for (const f of files.slice(0, LABELED_PER_CLASS)) copyFileSync(join(CIFAR10_MINI, c, f), join(training, c, f));
    for (const f of files.slice(40, 42)) copyFileSync(join(CIFAR10_MINI, c, f), join(site, 'images', `${c}-${f}`));
  }
  for (const photo of ['chelsea.png', 'coffee.png']) copyFileSync(join(PHOTOS, photo), join(site, 'images', photo));
  await writeTrickyImages(join(site, 'images'));
  images = readdirSync(join(site, 'images')).sort();

  const home = join(dir.path, 'home');
  studio = new Studio({ home, front: 'web' });
  const userModel = join(dir.path, `${CROPPING_TEACHER}.onnx`);
  copyFileSync(join(SHARED, 'models/resnet20_cifar10/resnet20_cifar10.onnx'), userModel);
  await studio.invoke('models.import', { path: userModel, preprocess: 'imagenet' });
  await studio.invoke('project.create', { name: 'export-browser' });
  await studio.invoke('import.start', { paths: [training], labelsFromFolders: true });
  await studio.idle();
  const projectPath = studio.requireProject().path;
  for (const { teacher, strategy } of HEADS) {
    await studio.invoke('heads.train', { modelId: teacher, strategy });
    await studio.idle();
    const headId = Math.max(...(await studio.invoke('heads.list', {})).map((h) => h.id));
    const printed = (await run(process.execPath, [join(REPO, 'bin/atl-studio.mjs'), 'predict', projectPath, join(site, 'images'), '--head', String(headId), '--json'], { env: { ...process.env, ATL_STUDIO_HOME: home } })).stdout;
    const expected = new Map((JSON.parse(printed) as (Answer & { path: string })[]).map((r) => [r.path.split('/').pop()!, r]));
    for (const format of ['onnx', 'tfjs'] as const) {
      const name = `${teacher}-${strategy}-${format}`;
      await studio.invoke('export.head', { headId, format, dir: join(site, name) });
      exports.push({ name, format, expected });
    }
  }
  server = await serve(site);
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // SwiftShader gives headless Chromium WebGL, so the TF.js page's WebGL path runs too.
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--no-first-run'] });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  server?.close();
  await studio?.dispose();
  dir?.remove();
});

/** Opens an export's page and classifies every image with window.atlPredict. */
async function predictInBrowser(name: string, query = ''): Promise<{ backend: string; results: ({ url: string } & Answer)[] }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  try {
    await page.goto(`${origin}/${name}/predict-browser.html${query}`);
    await page.waitForFunction(() => (window as unknown as { atlReady?: boolean }).atlReady === true || document.getElementById('status')?.textContent?.startsWith('Error'), null, { timeout: 60_000 }).catch(() => {
      throw new Error(`the page did not get ready: ${errors.join('; ') || 'no error reported'}`);
    });
    const urls = images.map((f) => `/images/${f}`);
    return await page.evaluate(async (list) => {
      const w = window as unknown as { atlPredict(urls: string[]): Promise<({ url: string } & Answer)[]>; atlBackend: string };
      return { backend: w.atlBackend, results: await w.atlPredict(list) };
    }, urls);
  } finally {
    await page.close();
  }
}

function compare(name: string, expected: Map<string, Answer>, backend: string, results: ({ url: string } & Answer)[]): void {
  expect(results.map((r) => r.url.split('/').pop())).toEqual(images);
  const worst = { opaque: 0, fading: 0 };
  for (const r of results) {
    const file = r.url.split('/').pop()!;
    const truth = expected.get(file)!;
    expect(r.class, `${name}: ${r.url}`).toBe(truth.class);
    const delta = Math.abs(r.confidence - truth.confidence);
    if (file === FADING) worst.fading = Math.max(worst.fading, delta);
    else worst.opaque = Math.max(worst.opaque, delta);
    expect(delta, `${name}: ${file}`).toBeLessThanOrEqual(file === FADING ? 5e-3 : 1e-4);
  }
  console.log(`Browser parity ${name} (${backend}, ${results.length} images): max |Δ confidence| ${worst.opaque.toExponential(2)} (opaque), ${worst.fading.toExponential(2)} (${FADING})`);
}

describe('the exported browser page', () => {
  it('gives the answers of atl-studio predict in Chromium: ONNX (onnxruntime-web wasm) and TF.js (WebGL and wasm), penultimate and all-layers heads, MobileNet, ResNet-20 and a center-crop teacher', async () => {
    for (const { name, format, expected } of exports) {
      const { backend, results } = await predictInBrowser(name);
      compare(name, expected, backend, results);
      if (format === 'tfjs' && backend !== 'tfjs wasm') {
        const wasm = await predictInBrowser(name, '?backend=wasm');
        expect(wasm.backend).toBe('tfjs wasm');
        compare(name, expected, wasm.backend, wasm.results);
      }
    }
  });

  it('shows the class and confidence of images a person picks on the page', async () => {
    const { name, expected } = exports.find((e) => e.format === 'onnx')!;
    const page = await browser.newPage();
    try {
      await page.goto(`${origin}/${name}/predict-browser.html`);
      await page.waitForFunction(() => (window as unknown as { atlReady?: boolean }).atlReady === true, null, { timeout: 60_000 });
      const picked = images.filter((f) => f !== FADING).slice(0, 3);
      await page.locator('#pick').setInputFiles(picked.map((f) => join(dir.path, 'site/images', f)));
      // A row appears when its image starts, its class and confidence when classified.
      await expect.poll(() => page.locator('#results tr:has(td:nth-child(3))').count(), { timeout: 30_000 }).toBe(picked.length);
      const rows = await page.locator('#results tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].slice(1).map((td) => td.textContent)));
      expect(rows).toEqual(picked.map((f) => [expected.get(f)!.class, expected.get(f)!.confidence.toFixed(3)]));
    } finally {
      await page.close();
    }
  });
});
