import Database from 'better-sqlite3';
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import sharp from 'sharp';
import { closeSync, constants, copyFileSync, mkdirSync, openSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Project } from '../../src/main/services/project';
import { writeBadFolder } from '../helpers/bad-images';
import { CIFAR10_MINI, OMNIGLOT_SMALL1, REPO, tempDir } from '../helpers/fixtures';

let dir: ReturnType<typeof tempDir>;
let project: Project;

beforeEach(() => {
  dir = tempDir();
  project = Project.create(join(dir.path, 'test.atl'));
});
afterEach(() => {
  project.close();
  dir.remove();
});

describe('import', () => {
  it('imports cifar10-mini with labels from folders: 500 images, 10 classes × 50', async () => {
    const report = await project.imports.run({ roots: [CIFAR10_MINI], labelsFromFolders: true });
    expect(report).toMatchObject({ status: 'completed', found: 500, imported: 500, duplicates: 0, failed: [] });
    const classes = project.classes.list();
    expect(classes.map((c) => c.name).sort()).toEqual(
      ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'],
    );
    expect(classes.every((c) => c.count === 50 && c.shots === 50)).toBe(true);
    // Import order is the folders' order, although files decode in parallel.
    const rows = project.images.list({ kind: 'all' }, 'import');
    expect(rows.slice(0, 3).map((r) => r.name)).toEqual(['0000.jpg', '0001.jpg', '0002.jpg']);
    expect(rows.slice(0, 50).every((r) => r.classId === classes.find((c) => c.name === 'airplane')!.id)).toBe(true);
    const image = project.images.get(rows[0].id);
    expect(image).toMatchObject({ width: 32, height: 32, format: 'jpeg', labelSource: 'human' });
    expect(image.sha256).toMatch(/^[0-9a-f]{64}$/);
    const thumb = await sharp(project.images.thumbnail(image.id).bytes).metadata();
    expect(thumb.format).toBe('webp');
  });

  it('imports omniglot-small1 with nested folder classes: 2,720 images, 136 classes × 20', async () => {
    const report = await project.imports.run({ roots: [OMNIGLOT_SMALL1], labelsFromFolders: true });
    expect(report).toMatchObject({ status: 'completed', imported: 2720, failed: [] });
    const classes = project.classes.list();
    expect(classes).toHaveLength(136);
    expect(classes.every((c) => c.count === 20)).toBe(true);
    expect(classes.map((c) => c.name)).toContain('Greek/character01');
    // Hotkeys 1–9 go to the first nine classes only.
    expect(classes.filter((c) => c.hotkey !== null).map((c) => c.hotkey)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('reports every bad file with its reason and imports the rest', async () => {
    const bad = writeBadFolder(join(dir.path, 'mixed'));
    const missing = join(dir.path, 'does-not-exist');
    const report = await project.imports.run({ roots: [bad.root, missing], labelsFromFolders: true });
    expect(report.imported).toBe(bad.good.length);
    expect(report.skipped).toBe(1); // README.txt
    const reasons = new Map(report.failed.map((f) => [f.path, f.reason]));
    for (const [path, pattern] of Object.entries(bad.bad)) expect(reasons.get(path)).toMatch(pattern);
    expect(reasons.get(missing)).toMatch(/not found/i);
    expect(report.failed).toHaveLength(Object.keys(bad.bad).length + 1);
    // The report is stored with the project.
    expect(project.imports.reports()[0].failed).toEqual(report.failed);
  });

  it('skips duplicates by content, also within one import, and a re-import adds nothing', async () => {
    const folder = join(dir.path, 'dups');
    const bad = writeBadFolder(folder);
    writeFileSync(join(folder, 'copy-of-cat.jpg'), readFileSync(bad.good[0]));
    const first = await project.imports.run({ roots: [folder], labelsFromFolders: false });
    expect(first.imported).toBe(2);
    expect(first.duplicates).toBe(1);
    const second = await project.imports.run({ roots: [folder], labelsFromFolders: false });
    expect(second).toMatchObject({ imported: 0, duplicates: 3 });
    expect(project.images.count().images).toBe(2);
  });

  it('applies EXIF orientation to the stored size', async () => {
    const folder = join(dir.path, 'exif');
    mkdirSync(folder);
    const landscape = await sharp({ create: { width: 40, height: 20, channels: 3, background: '#f00' } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toBuffer();
    writeFileSync(join(folder, 'rotated.jpg'), landscape);
    await project.imports.run({ roots: [folder], labelsFromFolders: false });
    const [row] = project.images.list({ kind: 'all' }, 'import');
    expect([row.width, row.height]).toEqual([20, 40]);
  });

  it('writes the files after a slow one without waiting for it past its window, and imports every file', async () => {
    // A 5,000 × 5,000 PNG first in the folder (hundreds of ms to decode), then 40 tiny ones.
    const folder = join(dir.path, 'slow-first');
    mkdirSync(folder);
    const side = 5000;
    const pixels = Buffer.alloc(side * side * 3);
    for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 7) % 251;
    await sharp(pixels, { raw: { width: side, height: side, channels: 3 } }).png({ compressionLevel: 1 }).toFile(join(folder, 'a-huge.png'));
    for (let i = 0; i < 40; i++) {
      await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 6 * i, g: 255 - 6 * i, b: 100 } } }).png().toFile(join(folder, `b-${String(i).padStart(2, '0')}.png`));
    }
    const report = await project.imports.run({ roots: [folder], labelsFromFolders: false, reorderWindow: 4 });
    expect(report).toMatchObject({ status: 'completed', found: 41, imported: 41, failed: [] });
    const names = project.images.list({ kind: 'all' }, 'import').map((r) => r.name);
    // The tiny files that finished while the huge one decoded went first; it followed (with a
    // window of 256, the default, it would have kept its place: see the cifar10-mini test).
    expect(names.indexOf('a-huge.png')).toBeGreaterThanOrEqual(4);
    expect(new Set(names).size).toBe(41);
  }, 60_000);

  it('can be cancelled, and importing again completes the project', async () => {
    const controller = new AbortController();
    const report = await project.imports.run({
      roots: [OMNIGLOT_SMALL1],
      labelsFromFolders: true,
      signal: controller.signal,
      onProgress: (p) => p.done >= 200 && controller.abort(),
    });
    expect(report.status).toBe('cancelled');
    expect(report.imported).toBeGreaterThan(0);
    expect(report.imported).toBeLessThan(2720);
    const resumed = await project.imports.run({ roots: [OMNIGLOT_SMALL1], labelsFromFolders: true });
    expect(resumed.imported + report.imported).toBe(2720);
    expect(project.images.count()).toEqual({ images: 2720, labeled: 2720 });
  });
});

describe('hostile or odd paths', () => {
  /** A FIFO; if an import ever blocks reading it, a writer comes after `ms` and closes it, so a failing test ends. */
  function fifo(path: string, ms = 3000): { path: string; release: () => void } {
    execFileSync('mkfifo', [path]);
    const timer = setTimeout(() => {
      try {
        closeSync(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK));
      } catch {
        // nobody was reading it: nothing to release
      }
    }, ms);
    return { path, release: () => clearTimeout(timer) };
  }

  it('refuses devices and FIFOs given as paths, without reading them, and fails the import', async () => {
    const pipe = fifo(join(dir.path, 'pipe.jpg'));
    const started = Date.now();
    const report = await project.imports.run({ roots: ['/dev/zero', pipe.path], labelsFromFolders: false });
    pipe.release();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(report.status).toBe('failed');
    expect(report.found).toBe(0);
    const reasons = new Map(report.failed.map((f) => [f.path, f.reason]));
    expect(reasons.get('/dev/zero')).toMatch(/not a regular file: a device/i);
    expect(reasons.get(pipe.path)).toMatch(/not a regular file: a named pipe/i);
  });

  it('reports devices, FIFOs and sockets found inside a folder, and imports the rest', async () => {
    const folder = join(dir.path, 'odd');
    const bad = writeBadFolder(folder);
    const pipe = fifo(join(folder, 'pipe.jpg'));
    symlinkSync('/dev/zero', join(folder, 'zero.jpg'));
    const socketPath = join(folder, 'socket.png');
    const server = createServer();
    await new Promise<void>((done) => server.listen(socketPath, done));
    try {
      const report = await project.imports.run({ roots: [folder], labelsFromFolders: false });
      expect(report.status).toBe('completed');
      expect(report.imported).toBe(bad.good.length);
      const reasons = new Map(report.failed.map((f) => [f.path, f.reason]));
      expect(reasons.get(pipe.path)).toMatch(/not a regular file: a named pipe/i);
      expect(reasons.get(socketPath)).toMatch(/not a regular file: a socket/i);
      expect(reasons.get(join(folder, 'zero.jpg'))).toMatch(/not a regular file: a device/i);
    } finally {
      pipe.release();
      server.close();
    }
  });

  it('refuses a file with more bytes than its size said (it grew while read), instead of reading on', async () => {
    // /proc files say 0 bytes and hold more: the same as a file that grows between stat and read.
    const report = await project.imports.run({ roots: ['/proc/self/status'], labelsFromFolders: false });
    expect(report.failed).toEqual([{ path: '/proc/self/status', reason: expect.stringMatching(/grew while it was read/) }]);
  });

  it('fails an import of a missing folder: nothing found, the path and its reason reported', async () => {
    const missing = join(dir.path, 'no-such-folder');
    const report = await project.imports.run({ roots: [missing], labelsFromFolders: true });
    expect(report).toMatchObject({ status: 'failed', found: 0, imported: 0, failed: [{ path: missing, reason: 'File or folder not found' }] });
    expect(project.imports.reports()[0].status).toBe('failed');
  });

  it('follows symbolic links safely: duplicates, broken links and loops are reported, folders outside are read once', async () => {
    const root = join(dir.path, 'linked');
    const outside = join(dir.path, 'outside-folder');
    const cats = readdirSync(join(CIFAR10_MINI, 'cat')).sort();
    mkdirSync(join(root, 'cat'), { recursive: true });
    mkdirSync(join(root, 'links'));
    mkdirSync(outside);
    copyFileSync(join(CIFAR10_MINI, 'cat', cats[0]), join(root, 'cat', 'a.jpg'));
    copyFileSync(join(CIFAR10_MINI, 'cat', cats[1]), join(outside, 'b.jpg'));
    symlinkSync('../cat/a.jpg', join(root, 'links', 'same-cat.jpg')); // a file already imported
    symlinkSync('../nowhere.jpg', join(root, 'links', 'broken.jpg'));
    symlinkSync('..', join(root, 'links', 'up')); // the imported folder itself: a loop
    symlinkSync('/', join(root, 'links', 'everything')); // holds the imported folder: a loop too
    symlinkSync('loop.jpg', join(root, 'links', 'loop.jpg'));
    symlinkSync('../cat', join(root, 'links', 'cat-again')); // a folder read already
    symlinkSync(outside, join(root, 'dog')); // a folder outside: read once, as 'dog'
    symlinkSync(outside, join(root, 'links', 'dog-again'));

    const report = await project.imports.run({ roots: [root], labelsFromFolders: true });
    expect(report).toMatchObject({ status: 'completed', imported: 2, duplicates: 1 });
    const reasons = new Map(report.failed.map((f) => [f.path.slice(root.length + 1), f.reason]));
    expect(reasons.get('links/broken.jpg')).toMatch(/broken link/i);
    expect(reasons.get('links/up')).toMatch(/link loop/i);
    expect(reasons.get('links/everything')).toMatch(/link loop/i);
    expect(reasons.get('links/loop.jpg')).toMatch(/link loop/i);
    expect(reasons.get('links/cat-again')).toMatch(/already read/i);
    expect(reasons.get('links/dog-again')).toMatch(/already read/i);
    expect(report.failed).toHaveLength(6);
    const images = project.images.list({ kind: 'all' }, 'import');
    const classOf = new Map(project.classes.list().map((c) => [c.id, c.name]));
    // The real file is imported under its own folder; the folder outside under the link's name.
    expect(images.map((i) => [i.name, classOf.get(i.classId!)])).toEqual([['a.jpg', 'cat'], ['b.jpg', 'dog']]);
  });
});

describe('a killed import', () => {
  it('leaves a consistent project that a re-import completes without duplicates', async () => {
    const path = join(dir.path, 'killed.atl');
    Project.create(path).close();
    const child = spawn(process.execPath, [join(REPO, 'bin/atl-studio.mjs'), 'import', path, OMNIGLOT_SMALL1, '--labels-from-folders'], {
      stdio: 'ignore',
    });
    // Kill it hard once some images are committed (the WAL is readable while it writes).
    const watcher = new Database(path, { readonly: true });
    const count = () => (watcher.prepare('SELECT COUNT(*) AS n FROM images').get() as { n: number }).n;
    for (let i = 0; i < 300 && count() < 300; i++) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const before = count();
    watcher.close();
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThan(2720);

    const reopened = Project.open(path);
    try {
      const db = new Database(path, { readonly: true });
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      // Every committed image has its label: image and label rows commit together.
      const orphans = db.prepare('SELECT COUNT(*) AS n FROM images i LEFT JOIN labels l ON l.image_id = i.id WHERE l.image_id IS NULL').get() as { n: number };
      expect(orphans.n).toBe(0);
      db.close();
      expect(reopened.imports.reports()[0].status).toBe('interrupted');
      const resumed = await reopened.imports.run({ roots: [OMNIGLOT_SMALL1], labelsFromFolders: true });
      expect(resumed.failed).toEqual([]);
      expect(reopened.images.count()).toEqual({ images: 2720, labeled: 2720 });
      expect(reopened.classes.list()).toHaveLength(136);
    } finally {
      reopened.close();
    }
  });
});
