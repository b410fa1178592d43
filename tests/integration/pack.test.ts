/**
 * Portable projects on real data: a CIFAR-10 project with a ResNet-20 head packed in one studio
 * home and unpacked into another that has no teacher (no ../shared either): the teacher is
 * installed, `predict` gives the same answers from the cached features, the images come along.
 * Hostile and damaged packs are refused with a clear error and write nothing.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packProject, unpackProject } from '../../src/main/app/pack';
import { classifyImages, planPrediction } from '../../src/main/app/predict';
import { Studio } from '../../src/main/app/studio';
import { ModelStore } from '../../src/main/models/model-store';
import { StudioTeacherService, type TeacherService } from '../../src/main/models/teacher-service';
import { Project } from '../../src/main/services/project';
import { readTarIndex, readTarEntry, TarWriter } from '../../src/main/services/tar-archive';
import { copyCifarClasses, REPO, SHARED, tempDir } from '../helpers/fixtures';

const run = promisify(execFile);
let dir: ReturnType<typeof tempDir>;
let studio: Studio;
let headId: number;
let packed: string;
const opened: TeacherService[] = [];

const job = () => ({ signal: new AbortController().signal, report: () => undefined });
/** A studio home with no teacher but those installed in it (no ATL_STUDIO_MODELS, no ../shared). */
function bareHome(name: string): TeacherService {
  const teachers = new StudioTeacherService(new ModelStore(join(dir.path, name), []));
  void teachers.store.modelsDir; // the home's models folder exists, as in a studio home in use
  opened.push(teachers);
  return teachers;
}
/** What is in the folder, hidden files included, nested folders flattened. */
const listing = (folder: string) => (readdirSync(folder, { recursive: true }) as string[]).sort();

async function predictions(project: Project, teachers: TeacherService) {
  const plan = await planPrediction(project, teachers, headId);
  const { results } = await classifyImages(project, plan, undefined, job());
  return results.map((r) => `${r.class} ${r.confidence}`);
}

beforeAll(async () => {
  dir = tempDir('atl-pack-');
  const data = join(dir.path, 'data');
  copyCifarClasses(data, ['cat', 'dog'], 8);
  studio = new Studio({ home: join(dir.path, 'home-a'), front: 'web' });
  await studio.invoke('project.create', { name: 'portable', path: join(dir.path, 'portable.atl') });
  await studio.invoke('import.start', { paths: [data], labelsFromFolders: true });
  await studio.idle();
  await studio.invoke('heads.train', { modelId: 'resnet20_cifar10', strategy: 'atl' });
  await studio.idle();
  headId = (await studio.invoke('heads.list', {}))[0].id;
  await studio.invoke('predictions.run', { headId });
  await studio.idle();
  packed = join(dir.path, 'portable.atlpack');
  const result = await packProject(studio.requireProject(), studio.teachers, { path: packed, withImages: true }, job());
  expect(result).toMatchObject({ images: 16, missingImages: [], cancelled: false, teachers: [{ id: 'resnet20_cifar10' }] });
}, 120_000);
afterAll(async () => {
  await studio.dispose();
  for (const teachers of opened) await teachers.dispose();
  dir.remove();
});

describe('pack and unpack', () => {
  it('unpacks into another studio home: installs the teacher, predict gives the same answers from the cached features, images come along', async () => {
    const manifest = JSON.parse((await readTarEntry(packed, (await readTarIndex(packed)).at(-1)!)).toString());
    expect(manifest).toMatchObject({ format: 'atl-studio-pack', formatVersion: 1, studioVersion: '0.1.0', projectName: 'portable' });
    expect(manifest.teachers[0]).toMatchObject({ id: 'resnet20_cifar10', files: ['model.json', 'resnet20_cifar10.onnx'] });

    const home = bareHome('home-b');
    expect(home.store.list().find((t) => t.id === 'resnet20_cifar10')!.dir).toBeNull();
    mkdirSync(join(dir.path, 'elsewhere'));
    const out = join(dir.path, 'elsewhere/restored.atl');
    const result = await unpackProject(home, { file: packed, out }, job());
    expect(result).toMatchObject({ project: out, images: 16, teachers: [{ id: 'resnet20_cifar10', status: 'installed' }] });
    expect(listing(join(dir.path, 'home-b/models/resnet20_cifar10'))).toEqual(['model.json', 'resnet20_cifar10.onnx']);

    const before = await predictions(studio.requireProject(), studio.teachers);
    const restored = Project.open(out);
    try {
      // The cached features are valid for the installed teacher: their key (id, weights, preprocessing) is its key.
      expect(restored.features.teacherKeys()).toContain((await home.get('resnet20_cifar10')).key);
      expect(await predictions(restored, home)).toEqual(before);
      for (const image of restored.images.sources()) expect(image.path.startsWith(join(dir.path, 'elsewhere/restored-images/'))).toBe(true);
      expect(restored.summary()).toMatchObject({ name: 'portable', images: 16, labeled: 16, classes: 2 });
    } finally {
      restored.close();
    }

    // Again into the same home: the teacher is there with the same weights.
    const again = await unpackProject(home, { file: packed, out: join(dir.path, 'elsewhere/again.atl') }, job());
    expect(again.teachers).toEqual([{ id: 'resnet20_cifar10', status: 'present' }]);
    await expect(unpackProject(home, { file: packed, out }, job())).rejects.toThrow(/restored\.atl exists already/);
  });

  it('refuses a teacher of the same id with other weights, and leaves it and everything else as it was', async () => {
    const home = bareHome('home-c');
    const impostor = join(dir.path, 'home-c/models/resnet20_cifar10');
    mkdirSync(impostor, { recursive: true });
    copyFileSync(join(SHARED, 'models/resnet56_cifar10/model.json'), join(impostor, 'model.json'));
    copyFileSync(join(SHARED, 'models/resnet56_cifar10/resnet56_cifar10.onnx'), join(impostor, 'resnet20_cifar10.onnx'));
    const before = listing(dir.path);
    await expect(unpackProject(home, { file: packed, out: join(dir.path, 'c.atl') }, job())).rejects.toThrow(
      /another teacher named 'resnet20_cifar10' .* It is left as it is, and nothing was unpacked/,
    );
    expect(listing(dir.path)).toEqual(before);
  });

  it('refuses damaged and hostile packs with a clear error, writing nothing', async () => {
    const home = bareHome('home-d');
    const bytes = readFileSync(packed);
    const index = await readTarIndex(packed);
    const attempt = async (name: string, content: Buffer) => {
      writeFileSync(join(dir.path, name), content);
      const before = listing(dir.path);
      const error = await unpackProject(home, { file: join(dir.path, name), out: join(dir.path, 'hostile.atl') }, job()).catch((e: Error) => e);
      expect(listing(dir.path)).toEqual(before);
      return (error as Error).message;
    };
    // A byte of the project database changed: its sha256 no longer matches the manifest.
    const flipped = Buffer.from(bytes);
    flipped[index[0].offset + 100] ^= 0xff;
    expect(await attempt('flipped.atlpack', flipped)).toMatch(/is damaged: project\.atl does not match its sha256 .*Nothing was unpacked/);
    expect(await attempt('truncated.atlpack', bytes.subarray(0, bytes.length - 5000))).toMatch(/not a readable portable project: .*truncated/);
    expect(await attempt('not-a-pack.atlpack', Buffer.from('hello'))).toMatch(/not a readable portable project/);

    // An entry its manifest does not list, and a manifest naming a teacher file the archive lacks.
    const manifest = JSON.parse((await readTarEntry(packed, index.at(-1)!)).toString());
    const forged = async (name: string, extra: [string, Buffer][], forgedManifest: unknown) => {
      const writer = await TarWriter.create(join(dir.path, `${name}.tmp`));
      await writer.addBytes('project.atl', await readTarEntry(packed, index[0]));
      for (const [entry, content] of extra) await writer.addBytes(entry, content);
      await writer.addBytes('atl-pack.json', Buffer.from(JSON.stringify(forgedManifest)));
      await writer.finish();
      return readFileSync(join(dir.path, `${name}.tmp`));
    };
    const projectOnly = { ...manifest, teachers: [], images: [], entries: manifest.entries.filter((e: { name: string }) => e.name === 'project.atl') };
    expect(await attempt('unlisted.atlpack', await forged('unlisted', [['teachers/x/evil.sh', Buffer.from('#!/bin/sh\n')]], projectOnly))).toMatch(
      /holds teachers\/x\/evil\.sh, which its manifest does not list/,
    );
    const lying = { ...projectOnly, teachers: [{ id: 'x', name: 'x', weightsSha256: 'a'.repeat(64), files: ['../../../evil.sh'] }] };
    expect(await attempt('lying.atlpack', await forged('lying', [], lying))).toMatch(/the teacher x's \.\.\/\.\.\/\.\.\/evil\.sh is missing/);
    expect(await attempt('newer.atlpack', await forged('newer', [], { ...projectOnly, formatVersion: 2 }))).toMatch(/not one this studio reads/);
    expect(existsSync(join(dir.path, 'home-d/models/resnet20_cifar10'))).toBe(false);
  });

  it('atl-studio unpack prints the refusal and exits 1; pack never writes over a file', async () => {
    writeFileSync(join(dir.path, 'cut.atlpack'), readFileSync(packed).subarray(0, 10_000));
    const failed = await run('node', [join(REPO, 'bin/atl-studio.mjs'), 'unpack', join(dir.path, 'cut.atlpack'), '--out', join(dir.path, 'cli.atl')], {
      env: { ...process.env, ATL_STUDIO_HOME: join(dir.path, 'home-cli') },
    }).catch((e: { code: number; stderr: string }) => e);
    expect(failed).toMatchObject({ code: 1, stderr: expect.stringMatching(/^atl-studio: .*cut\.atlpack is not a readable portable project: .*Nothing was written\.\n$/) });
    await expect(packProject(studio.requireProject(), studio.teachers, { path: packed, withImages: false }, job())).rejects.toThrow(/exists already/);
  });
});
