/**
 * The grid at scale, measured in headless Chromium as a hand uses it (issue 15): opening the project
 * (time to the first painted tiles, bytes of the image list), a jump to the end (End key) and a
 * scrollbar drag to the middle (from the key's event and from the scroll until every visible
 * thumbnail is painted), and a fast wheel scroll from the top to three quarters down, rows that
 * neither the End key nor the drag loaded: 200 wheel events paced over 10 s (how long they take to
 * be delivered, frame times meanwhile, thumbnail requests issued, time until the visible thumbnails
 * are painted once it stops).
 *   npx tsx bench/grid-scroll.ts [--sizes 10000,100000]
 * The projects are made once under ~/.cache/atl-studio/grid/: the first 10,000 Fashion-MNIST PNGs
 * (bench/scale-data.ts) imported, then their rows repeated (new sha256) up to the size, so that a
 * 100k project takes seconds, not an hour of import; one in ten labeled and every image predicted.
 * bench:scale calls `measureGridScroll` on its own projects.
 */
import Database from 'better-sqlite3';
import { cpSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { importImages } from '../src/main/app/import-images';
import { Studio } from '../src/main/app/studio';
import { Project } from '../src/main/services/project';
import { startWebServer } from '../src/main/web/server';
import { scaleFolder, writeFashionMnist } from './scale-data';

const REPO = join(import.meta.dirname, '..');

export interface GridFigures {
  /** From navigation to the first visible thumbnails painted. */
  openSeconds: number;
  /** Bytes of every image-list answer read while opening. */
  listBytes: number;
  /** End key: from its keydown event until every visible thumbnail is painted. */
  endKeySeconds: number;
  /** scrollTop set to the middle, as a scrollbar drag does: until every visible thumbnail is painted. */
  dragSeconds: number;
  /** 200 wheel events paced over 10 s: from the first sent to the last delivered. */
  wheelDeliverySeconds: number;
  framesP95Ms: number;
  framesMaxMs: number;
  /** Thumbnail requests the browser issued during the wheel scroll and until it painted the end. */
  wheelThumbRequests: number;
  /** The thumbnails those requests asked for (one request asks for many). */
  wheelThumbsAsked: number;
  /** At the end of the wheel scroll: until every visible thumbnail is painted. */
  afterWheelSeconds: number;
}

const WHEEL_EVENTS = 200;
const WHEEL_SPAN_MS = 10_000;
/** A figure not reached within this is reported as this (the page is broken or hopelessly slow). */
const PAINT_TIMEOUT_MS = 30_000;

/**
 * In the page: seconds until every tile in the view shows its thumbnail, polled every frame, from
 * `since` (a page expression for a performance.now() time: by default now). A string: tsx would
 * wrap a function's inner names with a helper the page does not have.
 */
const visibleThumbsPainted = (timeoutMs: number, since = 'performance.now()') => `new Promise((resolve) => {
  const start = ${since};
  const check = () => {
    const grid = document.querySelector('[data-testid="grid"]');
    const view = grid.getBoundingClientRect();
    const tiles = [...grid.querySelectorAll('[data-testid="tile"]')].filter((tile) => {
      const r = tile.getBoundingClientRect();
      return r.bottom > view.top && r.top < view.bottom;
    });
    const painted = tiles.length > 0 && tiles.every((tile) => {
      // A thumbnail is drawn into its tile's canvas once decoded (src/renderer/src/lib/thumbnail-bitmaps.ts).
      const canvas = tile.querySelector('canvas');
      return canvas !== null && canvas.width > 0;
    });
    const elapsed = performance.now() - start;
    if (painted || elapsed > ${timeoutMs}) resolve(elapsed / 1000);
    else requestAnimationFrame(check);
  };
  requestAnimationFrame(check);
})`;

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const round = (value: number, digits = 3) => Number(value.toFixed(digits));

/** Measures the grid of the studio at `url` (its project open, the page at 1440×900 or what it is given). */
export async function measureGridOnPage(page: Page, url: string): Promise<GridFigures> {
  let listBytes = 0;
  let [thumbRequests, thumbsAsked] = [0, 0];
  page.on('request', (request) => {
    // /media/thumbs/<ids joined by commas>: many thumbnails a request.
    const ids = /\/media\/thumbs?\/([^?]*)/.exec(request.url())?.[1];
    if (ids === undefined) return;
    thumbRequests++;
    thumbsAsked += decodeURIComponent(ids).split(',').length;
  });
  page.on('response', async (response) => {
    if (!response.url().includes('/api/call/images.')) return;
    listBytes += (await response.body().catch(() => Buffer.alloc(0))).length;
  });

  const opened = Date.now();
  await page.goto(url);
  await page.getByTestId('tile').first().waitFor({ timeout: PAINT_TIMEOUT_MS });
  await page.evaluate<number>(visibleThumbsPainted(PAINT_TIMEOUT_MS));
  const openSeconds = (Date.now() - opened) / 1000;
  await settle(500);

  const grid = page.getByTestId('grid');
  await grid.focus();
  // From the key's event, not from when the press returns: a busy page answers it late.
  await page.evaluate(`document.addEventListener('keydown', (event) => (window.endPressedAt = event.timeStamp), { capture: true, once: true })`);
  await page.keyboard.press('End');
  const endKeySeconds = await page.evaluate<number>(visibleThumbsPainted(PAINT_TIMEOUT_MS, 'window.endPressedAt'));
  await settle(300);

  await page.evaluate(`(() => {
    const grid = document.querySelector('[data-testid="grid"]');
    grid.scrollTop = grid.scrollHeight / 2;
    window.draggedAt = performance.now();
  })()`);
  const dragSeconds = await page.evaluate<number>(visibleThumbsPainted(PAINT_TIMEOUT_MS, 'window.draggedAt'));
  await grid.evaluate((el) => (el.scrollTop = 0));
  await page.evaluate<number>(visibleThumbsPainted(PAINT_TIMEOUT_MS));
  await settle(500);

  // The fast scroll: enough per event to cross three quarters of the list in 200 events, as a flick
  // on a long list does. Not to the end: End loaded the thumbnails there.
  const box = (await grid.boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  const scrollHeight = await grid.evaluate((el) => el.scrollHeight - el.clientHeight);
  const delta = Math.ceil((0.75 * scrollHeight) / WHEEL_EVENTS);
  await page.evaluate(`(() => {
    window.frameGaps = [];
    window.recording = true;
    let last = performance.now();
    const frame = (now) => {
      window.frameGaps.push(now - last);
      last = now;
      if (window.recording) requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  })()`);
  [thumbRequests, thumbsAsked] = [0, 0];
  const wheelStart = Date.now();
  for (let i = 0; i < WHEEL_EVENTS; i++) {
    const due = wheelStart + (i * WHEEL_SPAN_MS) / (WHEEL_EVENTS - 1);
    if (Date.now() < due) await settle(due - Date.now());
    await page.mouse.wheel(0, delta); // resolves once the page took the event
  }
  const wheelDeliverySeconds = (Date.now() - wheelStart) / 1000;
  const afterWheelSeconds = await page.evaluate<number>(visibleThumbsPainted(PAINT_TIMEOUT_MS));
  const gaps = await page.evaluate<number[]>('window.recording = false, window.frameGaps.slice(1)');
  return {
    openSeconds: round(openSeconds),
    listBytes,
    endKeySeconds: round(endKeySeconds),
    dragSeconds: round(dragSeconds),
    wheelDeliverySeconds: round(wheelDeliverySeconds),
    framesP95Ms: round(percentile(gaps, 95), 1),
    framesMaxMs: round(Math.max(0, ...gaps), 1),
    wheelThumbRequests: thumbRequests,
    wheelThumbsAsked: thumbsAsked,
    afterWheelSeconds: round(afterWheelSeconds),
  };
}

/**
 * Opens the project at `projectPath` in a studio served on a free port and measures its grid in
 * headless Chromium (1440×900). `rendererDir`: a copy of the built renderer, so that a build
 * running meanwhile does not change it under the page.
 */
export async function measureGridScroll(projectPath: string, rendererDir = join(REPO, 'out/renderer')): Promise<Record<string, number>> {
  const home = mkdtempSync(join(tmpdir(), 'atl-grid-bench-'));
  const studio = new Studio({ home, front: 'web' });
  const web = await startWebServer({ studio, rendererDir });
  // Debian's Chromium, as the e2e tests drive it (tests/helpers/browser.ts, which tsx cannot load).
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
  try {
    await studio.invoke('project.open', { path: projectPath });
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    return { ...(await measureGridOnPage(page, web.url)) };
  } finally {
    await browser.close();
    await web.close();
    await studio.dispose();
    rmSync(home, { recursive: true, force: true });
  }
}

const GRID_CACHE = join(homedir(), '.cache/atl-studio/grid');
const IMPORTED = 10_000;

/**
 * A project of `size` images for the grid (kept under ~/.cache/atl-studio/grid/): 10,000 real
 * Fashion-MNIST images imported, their rows repeated with a new sha256 each up to `size`, one in
 * ten labeled and every image predicted (`predictEveryImage`), as a grid looks once a head ran.
 */
export async function gridProject(size: number): Promise<string> {
  mkdirSync(GRID_CACHE, { recursive: true });
  const path = join(GRID_CACHE, `grid-${size}-predicted.atl`);
  if (existsSync(path)) return path;
  const building = path.replace(/\.atl$/, '.building.atl');
  rmSync(building, { force: true });
  const project = Project.create(building);
  try {
    await importImages(project, { paths: [scaleFolder(Math.min(size, IMPORTED))], labelsFromFolders: true }, { signal: new AbortController().signal, report: () => {} });
  } finally {
    project.close();
  }
  repeatImageRows(building, size);
  predictEveryImage(building);
  renameSync(building, path);
  return path;
}

/**
 * Keeps the labels of one image in ten and gives every image a prediction of an active head, as
 * predicting does: tiles with a predicted class and its confidence cost the grid more than labeled
 * ones (their drawing slowed a fast scroll by half once). The head is a stand-in with empty
 * weights: the grid shows its predictions and never runs it.
 */
function predictEveryImage(path: string): void {
  const db = new Database(path);
  try {
    db.transaction(() => {
      const empty = Buffer.alloc(8);
      const head = db
        .prepare(
          `INSERT INTO heads (name, created_at, strategy, model_id, teacher_name, teacher_sha256, teacher_key, classes, candidates, weighting, means, coef, intercept, cv_splits)
           VALUES ('grid bench', datetime('now'), 'penultimate', '-', '-', '-', '-', '[]', '[]', 'none', ?, ?, ?, 0)`,
        )
        .run(empty, empty, empty).lastInsertRowid;
      db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('active_head', ?)").run(String(head));
      const classes = (db.prepare('SELECT id FROM classes ORDER BY id').all() as { id: number }[]).map((c) => c.id);
      const predict = db.prepare(`INSERT INTO predictions (head_id, image_id, class_id, confidence, probabilities) VALUES (?, ?, ?, ?, x'')`);
      for (const id of db.prepare('SELECT id FROM images').pluck().all() as number[]) {
        predict.run(head, id, classes[(id * 7) % classes.length], 0.3 + ((id * 13) % 70) / 100);
      }
      db.prepare('DELETE FROM labels WHERE image_id % 10 != 0').run();
    })();
  } finally {
    db.close();
  }
}

/**
 * Grows the (closed) project at `path` to `size` images by repeating its rows with a new sha256
 * each, unlabeled: a large list in seconds, for the grid's bench and tests.
 */
export function repeatImageRows(path: string, size: number): void {
  const db = new Database(path);
  try {
    const repeat = db.prepare(
      `INSERT INTO images (sha256, original_path, file_name, width, height, format, bytes, imported_at, import_id, thumbnail)
       SELECT sha256 || '-' || ?, original_path, file_name, width, height, format, bytes, imported_at, import_id, thumbnail
         FROM images ORDER BY id LIMIT ?`,
    );
    const imported = (db.prepare('SELECT count(*) AS n FROM images').get() as { n: number }).n;
    for (let copy = 1, left = size - imported; left > 0; copy++, left -= imported) db.transaction(() => repeat.run(copy, Math.min(left, imported)))();
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
}

async function main(): Promise<void> {
  const at = process.argv.indexOf('--sizes');
  const sizes = (at > 0 ? process.argv[at + 1] : '10000,100000').split(',').map(Number);
  // The real images the projects are made of, written once (bench:scale does the same first).
  if ((await writeFashionMnist()) === null) process.exit(1);
  const renderer = mkdtempSync(join(tmpdir(), 'atl-grid-renderer-'));
  cpSync(join(REPO, 'out/renderer'), renderer, { recursive: true });
  const results: Record<string, Record<string, number>> = {};
  try {
    for (const size of sizes) {
      const path = await gridProject(size);
      results[size] = await measureGridScroll(path, renderer);
      console.log(`${size} images:`, results[size]);
    }
  } finally {
    rmSync(renderer, { recursive: true, force: true });
  }
  const out = join(REPO, 'bench-results');
  mkdirSync(out, { recursive: true });
  const result = { date: new Date().toISOString(), cpu: cpus()[0]?.model, cores: availableParallelism(), results };
  writeFileSync(join(out, 'grid-scroll.json'), `${JSON.stringify(result, null, 2)}\n`);
}

if (process.argv[1]?.endsWith('grid-scroll.ts')) await main();
