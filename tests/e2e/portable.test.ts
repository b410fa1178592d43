/**
 * Taking a project elsewhere from the UI (issue 14), in Debian's Chromium over web mode, on a
 * project of real CIFAR-10 images (3 classes × 6, labeled from their folders): the labeled data
 * set exported as class folders (original bytes, manifest.csv) and refused over a file the studio
 * did not write; a portable copy (.atlpack, with the images) saved from the project bar; and that
 * copy opened as a new project from the welcome screen, after a damaged pack and an existing
 * output file were refused in the dialog.
 */
import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, openSync, readdirSync, readFileSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labeledImages } from '../../src/main/app/export-data';
import { readTarIndex } from '../../src/main/services/tar-archive';
import { openStudioSession, SCREENSHOTS, type StudioSession } from '../helpers/browser';
import { copyCifarClasses, tempDir } from '../helpers/fixtures';

const CLASSES = ['cat', 'dog', 'bird'];
const PER_CLASS = 6;
const dir = tempDir('atl-e2e-portable-');
const data = join(dir.path, 'data');
const projectFile = join(dir.path, 'original.atl');
const pack = join(dir.path, 'copy.atlpack');

let session: StudioSession;
let page: Page;

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
/** sha256 → class of every imported file: what the export and the unpacked project must hold. */
const truth = new Map<string, string>();

beforeAll(async () => {
  copyCifarClasses(data, CLASSES, PER_CLASS);
  for (const c of CLASSES) for (const f of readdirSync(join(data, c))) truth.set(sha256(join(data, c, f)), c);
  session = await openStudioSession('atl-e2e-portable-', async (studio) => {
    await studio.invoke('project.create', { name: 'Portable', path: projectFile });
    await studio.invoke('import.start', { paths: [data], labelsFromFolders: true });
    await studio.idle();
  });
  page = session.page;
  await page.goto(session.web.url);
});
afterAll(async () => {
  await session?.close();
  dir.remove();
});

/** The job's progress panel of dialog `testid` once the job is over (done, cancelled or failed). */
async function finished(testid: string): Promise<string> {
  const progress = page.getByTestId(`${testid}-progress`);
  await expect.poll(() => progress.getAttribute('data-state'), { timeout: 60_000 }).toMatch(/done|cancelled|failed/);
  return (await progress.getAttribute('data-state'))!;
}

describe('taking the project elsewhere from the UI', () => {
  const exported = join(dir.path, 'exported');

  it('exports the labeled data set as class folders of the original bytes with manifest.csv', async () => {
    await expect.poll(() => page.getByTestId('tile').count(), { timeout: 60_000 }).toBe(truth.size);
    await page.getByTestId('data-export-open').click();
    const dialog = page.getByTestId('data-export');
    expect(await dialog.getByTestId('data-export-format').inputValue()).toBe('folders');
    await dialog.getByTestId('data-export-path').fill(exported);
    await dialog.getByTestId('data-export-run').click();
    expect(await finished('data-export')).toBe('done');
    expect(await dialog.getByTestId('data-export-progress').textContent()).toMatch(/18/);
    await page.screenshot({ path: join(SCREENSHOTS, 'e2e-portable-data-export.png') });

    expect(readdirSync(exported).sort()).toEqual(['.atl-export.json', 'bird', 'cat', 'dog', 'manifest.csv']);
    const [header, ...rows] = readFileSync(join(exported, 'manifest.csv'), 'utf8').trim().split('\n').map((line) => line.split(','));
    expect(header.slice(0, 4)).toEqual(['path', 'class', 'source', 'sha256']);
    expect(rows).toHaveLength(truth.size);
    const seen = new Map<string, string>();
    for (const [path, className, source, sha] of rows) {
      expect(path.startsWith(`${className}/`)).toBe(true);
      expect(source).toBe('human');
      expect(sha256(join(exported, path))).toBe(sha); // the original bytes, as the manifest says
      seen.set(sha, className);
    }
    expect(seen).toEqual(truth);
    for (const c of CLASSES) expect(readdirSync(join(exported, c))).toHaveLength(PER_CLASS);
  });

  it('refuses to export into a folder holding a file the studio did not write, says why, and leaves it untouched', async () => {
    const dialog = page.getByTestId('data-export');
    const notes = join(exported, 'notes.txt');
    writeFileSync(notes, 'mine, not the studio’s\n');
    const before = readdirSync(exported).sort();
    await dialog.getByTestId('data-export-run').click();
    const error = dialog.getByTestId('data-export-error');
    await expect.poll(() => error.textContent(), { timeout: 30_000 }).toMatch(/did not write/);
    expect(await error.textContent()).toMatch(/notes\.txt.*Nothing was changed/);
    expect(await dialog.getByTestId('data-export-progress').count()).toBe(0); // the failure replaces the last run's "Finished"
    await page.screenshot({ path: join(SCREENSHOTS, 'e2e-portable-data-export-refused.png') });
    expect(readFileSync(notes, 'utf8')).toBe('mine, not the studio’s\n');
    expect(readdirSync(exported).sort()).toEqual(before);
    expect(readFileSync(join(exported, 'manifest.csv'), 'utf8').trim().split('\n')).toHaveLength(truth.size + 1);
    await dialog.getByRole('button', { name: 'Cancel' }).last().click();
    expect(await dialog.count()).toBe(0);
  });

  it('saves a portable copy with its images from the project bar, its progress shown', async () => {
    await page.getByTestId('pack-open').click();
    const dialog = page.getByTestId('pack');
    expect(await dialog.getByTestId('pack-path').inputValue()).toMatch(/portable\.atlpack$/); // named after the project
    await dialog.getByTestId('pack-path').fill(pack);
    await dialog.getByTestId('pack-option').check();
    await dialog.getByTestId('pack-run').click();
    expect(await finished('pack')).toBe('done');
    const progress = await dialog.getByTestId('pack-progress').textContent();
    expect(progress).toMatch(/Finished/);
    expect(progress).toMatch(/100(\.0)?\s*%/);
    await page.screenshot({ path: join(SCREENSHOTS, 'e2e-portable-pack.png') });

    const entries = (await readTarIndex(pack)).map((e) => e.name);
    expect(entries).toContain('project.atl');
    expect(entries.at(-1)).toBe('atl-pack.json');
    expect(entries.filter((n) => n.startsWith('images/'))).toHaveLength(truth.size);
    await dialog.getByRole('button', { name: 'Close' }).last().click();
  });

  it('refuses a damaged pack and an existing project file in the "Open a portable copy" dialog, writing nothing', async () => {
    // One byte of the packed project changed: its sha256 no longer matches the manifest's.
    const damaged = join(dir.path, 'damaged.atlpack');
    copyFileSync(pack, damaged);
    const entry = (await readTarIndex(damaged)).find((e) => e.name === 'project.atl')!;
    const fd = openSync(damaged, 'r+');
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, entry.offset + Math.floor(entry.bytes / 2));
    writeSync(fd, Buffer.from([byte[0] ^ 0xff]), 0, 1, entry.offset + Math.floor(entry.bytes / 2));
    closeSync(fd);

    await page.getByTestId('unpack-open').click();
    const dialog = page.getByTestId('unpack');
    expect(await dialog.getByTestId('unpack-run').isDisabled()).toBe(true); // no pack chosen yet
    await dialog.getByTestId('unpack-source').fill(damaged);
    expect(await dialog.getByTestId('unpack-path').inputValue()).toMatch(/[\\/]damaged\.atl$/); // named after the pack
    const damagedOut = join(dir.path, 'from-damaged.atl');
    await dialog.getByTestId('unpack-path').fill(damagedOut);
    await dialog.getByTestId('unpack-run').click();
    const error = dialog.getByTestId('unpack-error');
    await expect.poll(() => error.textContent(), { timeout: 30_000 }).toMatch(/is damaged: project\.atl does not match its sha256/);
    await page.screenshot({ path: join(SCREENSHOTS, 'e2e-portable-unpack-damaged.png') });
    expect(existsSync(damagedOut)).toBe(false);
    expect(existsSync(join(dir.path, 'from-damaged-images'))).toBe(false);

    const originalBytes = sha256(projectFile);
    await dialog.getByTestId('unpack-source').fill(pack);
    await dialog.getByTestId('unpack-path').fill(projectFile);
    await dialog.getByTestId('unpack-run').click();
    await expect.poll(() => error.textContent(), { timeout: 30_000 }).toMatch(/original\.atl exists already/);
    expect(sha256(projectFile)).toBe(originalBytes);
    expect(await page.getByTestId('project-title').getAttribute('title')).toBe(projectFile); // still the open project
    await dialog.getByRole('button', { name: 'Cancel' }).last().click();

    // The call checks its input as every call does: both paths, nothing else.
    await expect(session.studio.invoke('project.unpack', { file: pack, out: '' })).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(session.studio.invoke('project.unpack', { file: pack, out: damagedOut, withImages: true } as never)).rejects.toMatchObject({ code: 'invalid_input' });
  });

  it('opens the portable copy from the welcome screen as a new project with the same images and labels', async () => {
    await page.getByTestId('project-close').click();
    await page.getByTestId('unpack-open').click();
    const dialog = page.getByTestId('unpack');
    const out = join(dir.path, 'unpacked.atl');
    await dialog.getByTestId('unpack-source').fill(pack);
    await dialog.getByTestId('unpack-path').fill(out);
    await page.screenshot({ path: join(SCREENSHOTS, 'e2e-portable-unpack.png') });
    await dialog.getByTestId('unpack-run').click();

    // Once unpacked, the dialog closes and the new project opens.
    await expect.poll(() => page.getByTestId('project-title').getAttribute('title'), { timeout: 60_000 }).toBe(out);
    expect(await dialog.count()).toBe(0);
    expect(await page.getByTestId('project-title').textContent()).toBe('Portable');
    await expect.poll(() => page.getByTestId('tile').count(), { timeout: 30_000 }).toBe(truth.size);
    const classes = await page.getByTestId('class-item').evaluateAll((items) =>
      items.map((li) => [li.querySelector('.name')?.textContent?.trim(), li.getAttribute('data-count')]),
    );
    expect(classes.sort()).toEqual(CLASSES.map((c) => [c, String(PER_CLASS)]).sort());
    await page.screenshot({ path: join(SCREENSHOTS, 'e2e-portable-unpacked.png') });

    // The project points at its unpacked images (named by sha256), each labeled as its original was.
    const images = join(dir.path, 'unpacked-images');
    expect(readdirSync(images)).toHaveLength(truth.size);
    const project = session.studio.requireProject();
    expect(project.path).toBe(out);
    const labeled = labeledImages(project, 'human');
    expect(labeled).toHaveLength(truth.size);
    for (const image of labeled) {
      expect(dirname(image.path)).toBe(images);
      expect(sha256(image.path)).toBe(image.sha256);
      expect(image.class).toBe(truth.get(image.sha256));
    }
    // The grid shows the same: each tile's file (<sha256>.jpg) under its original class.
    const byClassId = new Map((await session.studio.invoke('classes.list', {})).map((c) => [c.id, c.name]));
    const tiles = await page.getByTestId('tile').evaluateAll((nodes) =>
      nodes.map((n) => ({ path: (n.getAttribute('title') ?? '').split(' — ')[0], classId: Number(n.getAttribute('data-class-id')) })),
    );
    for (const tile of tiles) expect(byClassId.get(tile.classId)).toBe(truth.get(tile.path.replace(/\.jpg$/, '')));
    expect(readdirSync(dir.path)).toContain('original.atl'); // the original project is still there
  });
});
