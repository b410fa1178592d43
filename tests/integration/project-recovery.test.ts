/**
 * A damaged project file (one page of its images table overwritten, as a failing disk does) is
 * reported as damaged, and `atl-studio recover` saves what it still holds into a new file.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Project } from '../../src/main/services/project';
import { Studio } from '../../src/main/app/studio';
import { corruptLeafPage } from '../helpers/damaged-project';
import { CIFAR10_MINI, REPO, tempDir } from '../helpers/fixtures';

const run = promisify(execFile);
const CLI = join(REPO, 'bin/atl-studio.mjs');

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: { ...process.env, ATL_STUDIO_HOME: dir.path } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

let dir: ReturnType<typeof tempDir>;
let damaged: string;
let damagedBytes: Buffer;

beforeAll(async () => {
  dir = tempDir();
  damaged = join(dir.path, 'damaged.atl');
  const project = Project.create(damaged, 'cifar');
  await project.imports.run({ roots: [CIFAR10_MINI], labelsFromFolders: true });
  project.close();
  corruptLeafPage(damaged, 'images');
  damagedBytes = readFileSync(damaged);
}, 120_000);
afterAll(() => dir.remove());

describe('a damaged project file', () => {
  it('is reported as damaged by the CLI, with the recover command to run, and exits non-zero', async () => {
    const info = await cli('info', damaged);
    expect(info.code).not.toBe(0);
    expect(info.stderr).toContain(`${damaged} is damaged (`);
    expect(info.stderr).toContain(`atl-studio recover "${damaged}" --out "${join(dir.path, 'damaged-recovered.atl')}"`);
    expect(info.stderr).not.toMatch(/not an ATL Studio project/);
  });

  it('is recovered into a new project that opens and holds every readable row; the damaged file is unchanged', async () => {
    const out = join(dir.path, 'recovered.atl');
    const recovered = await cli('recover', damaged, '--out', out, '--json');
    expect(recovered.stderr).toBe('');
    expect(recovered.code).toBe(0);
    const report = JSON.parse(recovered.stdout) as { tables: { table: string; copied: number; unreadable: number | null; dropped: number }[] };
    const images = report.tables.find((t) => t.table === 'images')!;
    // One leaf page of 32×32 thumbnails holds a few rows: those are lost, the rest saved.
    expect(images.unreadable).toBeGreaterThan(0);
    expect(images.unreadable).toBeLessThan(20);
    expect(images.copied + images.unreadable!).toBe(500);
    const labels = report.tables.find((t) => t.table === 'labels')!;
    expect(labels).toMatchObject({ copied: images.copied, dropped: images.unreadable });
    expect(report.tables.find((t) => t.table === 'classes')).toMatchObject({ copied: 10, unreadable: 0 });

    const project = Project.open(out);
    try {
      expect(project.name).toBe('cifar');
      expect(project.images.count()).toEqual({ images: images.copied, labeled: images.copied });
      expect(project.classes.list().reduce((sum, c) => sum + c.count, 0)).toBe(images.copied);
      expect(project.imports.reports()[0]).toMatchObject({ status: 'completed', imported: 500 });
    } finally {
      project.close();
    }
    expect(readFileSync(damaged).equals(damagedBytes)).toBe(true);

    const text = await cli('recover', damaged, '--out', join(dir.path, 'again.atl'));
    expect(text.stdout).toMatch(new RegExp(`images: ${images.copied} saved, ${images.unreadable} could not be read`));
    expect(text.stdout).toMatch(new RegExp(`labels: ${images.copied} saved, ${images.unreadable} left out as what they belong to was lost`));
  });

  it('keeps the rows between two damaged pages of a table', async () => {
    const twice = join(dir.path, 'twice.atl');
    const project = Project.create(twice);
    await project.imports.run({ roots: [CIFAR10_MINI], labelsFromFolders: true });
    project.close();
    corruptLeafPage(twice, 'images', 1 / 3);
    corruptLeafPage(twice, 'images', 2 / 3);
    const recovered = await cli('recover', twice, '--out', join(dir.path, 'twice-recovered.atl'), '--json');
    const images = (JSON.parse(recovered.stdout) as { tables: { table: string; copied: number; unreadable: number }[] }).tables.find((t) => t.table === 'images')!;
    // Only the two pages' few rows are lost, not the third of the table between them.
    expect(images.unreadable).toBeGreaterThan(0);
    expect(images.unreadable).toBeLessThan(40);
    expect(images.copied + images.unreadable).toBe(500);
  });

  it('in its feature cache opens (the recomputable cache is not checked at open) and is reported as damaged when the cache is read', async () => {
    const images = join(dir.path, 'cats');
    mkdirSync(images);
    for (const f of readdirSync(join(CIFAR10_MINI, 'cat')).slice(0, 40)) copyFileSync(join(CIFAR10_MINI, 'cat', f), join(images, f));
    const path = join(dir.path, 'cache.atl');
    const studio = new Studio({ home: join(dir.path, 'home'), front: 'web' });
    try {
      await studio.invoke('project.create', { name: 'cache', path });
      await studio.invoke('import.start', { paths: [images], labelsFromFolders: false });
      await studio.idle();
      await studio.invoke('features.extract', { modelId: 'resnet20_cifar10', layers: 'all', pooling: 'gap' });
      await studio.idle();
      await studio.invoke('project.close', {});
      corruptLeafPage(path, 'feature_cache');
      await studio.invoke('project.open', { path });
      const response = await studio.call('features.status', { modelId: 'resnet20_cifar10', pooling: 'gap' });
      expect(response).toMatchObject({ ok: false, error: { code: 'damaged' } });
      expect(!response.ok && response.error.message).toContain(`${path} is damaged (`);
      expect(!response.ok && response.error.message).toContain(`atl-studio recover "${path}"`);
    } finally {
      await studio.dispose();
    }
  });

  it('is never recovered over an existing file, nor over itself', async () => {
    const mine = join(dir.path, 'mine.atl');
    writeFileSync(mine, 'my own file');
    const refused = await cli('recover', damaged, '--out', mine);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/already exists/);
    expect(readFileSync(mine, 'utf8')).toBe('my own file');
    const itself = await cli('recover', damaged, '--out', damaged);
    expect(itself.code).not.toBe(0);
    expect(itself.stderr).toMatch(/must not be the damaged file/);
    expect(readFileSync(damaged).equals(damagedBytes)).toBe(true);
  });
});
