/**
 * Configured strategies end to end, on real CIFAR-10 images and a real teacher (ResNet-20): a
 * strategy with its own parameters compared beside its default and trained as a head, through the
 * contract as every front calls it and through `atl-studio train`; what the project file keeps
 * (every parameter, the studio version), and how rows stored before that read.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Studio } from '../../src/main/app/studio';
import { STUDIO_VERSION } from '../../src/main/services/studio-version';
import type { ComparisonConfig } from '../../src/shared/contract';
import { defaultParams } from '../../src/shared/strategies';
import { copyCifarClasses, REPO, tempDir } from '../helpers/fixtures';

const CLASSES = ['cat', 'ship', 'truck'];
const PER_CLASS = 6;
const MODEL = 'resnet20_cifar10';
const CLI = join(REPO, 'bin/atl-studio.mjs');

let dir: ReturnType<typeof tempDir>;
let images: string;
let studio: Studio;
let projectPath: string;

/** The project file's rows, read with SQLite itself (not through the services). */
function rows<T>(sql: string): T[] {
  const db = new Database(projectPath, { readonly: true });
  try {
    return db.prepare(sql).all() as T[];
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  dir = tempDir();
  images = join(dir.path, 'images');
  copyCifarClasses(images, CLASSES, PER_CLASS);
  studio = new Studio({ home: join(dir.path, 'home'), front: 'web' });
  projectPath = (await studio.invoke('project.create', { name: 'configured' })).path;
  await studio.invoke('import.start', { paths: [images], labelsFromFolders: true });
  await studio.idle();
}, 120_000);
afterAll(async () => {
  await studio.dispose();
  dir.remove();
});

describe('a configured strategy in a comparison', () => {
  const config: ComparisonConfig = {
    modelId: MODEL,
    strategies: ['atl', { name: 'atl', params: { maxSize: 1 } }, { name: 'head2toe', params: { keepFraction: 0.05 } }],
    mode: 'episodes',
    shots: [3],
    ways: 3,
    queries: 3,
    repeats: 6,
    testFraction: 0.25,
    seed: 1,
  };

  it('runs beside its default, labeled by the parameters that differ, and the run stores every parameter and the studio version', async () => {
    const { runId } = await studio.invoke('compare.start', { config, name: 'configured' });
    await studio.idle();
    const run = await studio.invoke('compare.get', { id: runId });
    expect(run.status).toBe('completed');
    expect(run.cells.map((c) => c.strategy)).toEqual(['penultimate', 'atl', 'atl(maxSize=1)', 'head2toe(keepFraction=0.05)']);
    // maxSize = 1: one candidate per episode, so the fractions of episodes sum to 1.
    const one = run.cells.find((c) => c.strategy === 'atl(maxSize=1)')!;
    expect(Object.values(one.layersChosen).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(run.mistakes.every((m) => run.cells.some((c) => c.strategy === m.strategy))).toBe(true);

    const expected = [
      { name: 'atl', params: defaultParams('atl') },
      { name: 'atl', params: { ...defaultParams('atl'), maxSize: 1 } },
      { name: 'head2toe', params: { ...defaultParams('head2toe'), keepFraction: 0.05 } },
    ];
    expect(run.strategies).toEqual(expected);
    expect(run.studioVersion).toBe(STUDIO_VERSION);
    // The configuration as asked for is kept as it was.
    expect(run.config.strategies).toEqual(config.strategies);
    const [stored] = rows<{ strategies: string; studio_version: string }>(`SELECT strategies, studio_version FROM comparison_runs WHERE id = ${runId}`);
    expect(JSON.parse(stored.strategies)).toEqual(expected);
    expect(stored.studio_version).toBe(STUDIO_VERSION);
    expect(studio.requireProject().comparisons.episodeAccuracies(runId, 'atl(maxSize=1)', 3)).toHaveLength(6);
  });

  it('a run stored before parameters were kept reads its strategies from its configuration, with the defaults, version unknown', async () => {
    const [latest] = await studio.invoke('compare.list', {});
    const db = new Database(projectPath);
    db.prepare('UPDATE comparison_runs SET strategies = NULL, studio_version = NULL WHERE id = ?').run(latest.id);
    db.close();
    const old = await studio.invoke('compare.get', { id: latest.id });
    expect(old.strategies).toEqual([
      { name: 'atl', params: defaultParams('atl') },
      { name: 'atl', params: { ...defaultParams('atl'), maxSize: 1 } },
      { name: 'head2toe', params: { ...defaultParams('head2toe'), keepFraction: 0.05 } },
    ]);
    expect(old.studioVersion).toBeNull();
  });

  it('refuses an unknown parameter or a bad value before storing a run, naming the key', async () => {
    const before = (await studio.invoke('compare.list', {})).length;
    await expect(studio.invoke('compare.start', { config: { ...config, strategies: [{ name: 'atl', params: { maxLayers: 2 } }] } })).rejects.toThrow(
      /atl has no parameter "maxLayers"/,
    );
    await expect(studio.invoke('compare.start', { config: { ...config, strategies: [{ name: 'penultimate', params: { C: -1 } }] } })).rejects.toThrow(
      /penultimate: C must be > 0 \(got -1\)/,
    );
    expect(await studio.invoke('compare.list', {})).toHaveLength(before);
  });
});

describe('a configured strategy trained as a head', () => {
  it('stores every parameter and the studio version; the head uses them (maxSize = 1: one candidate)', async () => {
    const { jobId } = await studio.invoke('heads.train', { modelId: MODEL, strategy: { name: 'atl', params: { maxSize: 1, C: 0.5 } } });
    expect(jobId).toEqual(expect.any(String));
    await studio.idle();
    const [head] = await studio.invoke('heads.list', {});
    expect(head).toMatchObject({ strategy: 'atl', params: { ...defaultParams('atl'), maxSize: 1, C: 0.5 }, studioVersion: STUDIO_VERSION });
    expect(head.name).toMatch(/^atl\(C=0\.5,maxSize=1\) · /);
    expect(head.candidates).toHaveLength(1);
    const [stored] = rows<{ params: string; studio_version: string }>(`SELECT params, studio_version FROM heads WHERE id = ${head.id}`);
    expect(JSON.parse(stored.params)).toEqual(head.params);
    expect(stored.studio_version).toBe(STUDIO_VERSION);
  });

  it('a head stored before parameters were kept reads as its strategy with the defaults, version unknown', async () => {
    await studio.invoke('heads.train', { modelId: MODEL, strategy: 'penultimate' });
    await studio.idle();
    const [head] = await studio.invoke('heads.list', {});
    // As migration 7 leaves the rows it finds.
    const db = new Database(projectPath);
    db.prepare('UPDATE heads SET params = NULL, studio_version = NULL WHERE id = ?').run(head.id);
    db.close();
    const [old] = await studio.invoke('heads.list', {});
    expect(old).toMatchObject({ id: head.id, strategy: 'penultimate', params: defaultParams('penultimate'), studioVersion: null });
  });

  it('is refused with a bad parameter, naming the key', async () => {
    await expect(studio.invoke('heads.train', { modelId: MODEL, strategy: { name: 'head2toe', params: { keepFraction: 2 } } })).rejects.toThrow(
      /head2toe: keepFraction must be ≤ 1 \(got 2\)/,
    );
  });
});

describe('atl-studio train --strategy with parameters', () => {
  const run = promisify(execFile);
  async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: { ...process.env, ATL_STUDIO_HOME: join(dir.path, 'cli-home') } });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }

  it('trains with name(key=value,…), prints and stores every parameter; refuses an unknown one', async () => {
    const path = join(dir.path, 'cli.atl');
    await cli('create', path);
    await cli('import', path, images, '--labels-from-folders', '--json');
    const trained = await cli('train', path, '--strategy', 'atl(maxSize=1, C=0.25)', '--model', MODEL, '--json');
    expect(trained.code).toBe(0);
    const head = JSON.parse(trained.stdout);
    expect(head).toMatchObject({ strategy: 'atl', params: { ...defaultParams('atl'), maxSize: 1, C: 0.25 }, studio_version: STUDIO_VERSION });
    expect(head.candidates).toHaveLength(1);
    const db = new Database(path, { readonly: true });
    const stored = db.prepare('SELECT params, studio_version FROM heads WHERE id = ?').get(head.id) as { params: string; studio_version: string };
    db.close();
    expect(JSON.parse(stored.params)).toEqual(head.params);
    expect(stored.studio_version).toBe(STUDIO_VERSION);

    const unknown = await cli('train', path, '--strategy', 'atl(maxLayers=2)', '--model', MODEL);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/atl has no parameter "maxLayers" \(it takes epsilon, maxSize/);
    const badName = await cli('train', path, '--strategy', 'magic(maxSize=2)', '--model', MODEL);
    expect(badName.stderr).toMatch(/--strategy is penultimate, /);
  }, 120_000);
});
