/**
 * Use-case: a portable project (`atl-studio pack` / `unpack`, "Save a portable copy…"). One tar
 * file (services/tar-archive.ts) holding:
 * - `project.atl`: a consistent copy of the project database (VACUUM INTO from a read-only
 *   connection: a snapshot even while the studio writes, and compacted), with its thumbnails,
 *   labels, cached features, heads and predictions;
 * - `teachers/<id>/<file>`: the files of every teacher its cached features and heads came from;
 * - with `withImages`, `images/<sha256><ext>`: the original image files (the project only refers
 *   to them by path: without them the copy still predicts with its heads on every image whose
 *   features are cached, but cannot extract new features nor export the data set);
 * - `atl-pack.json` last: format version, studio version, and every entry's size and sha256.
 * Unpacking checks all of that before it writes anything, installs each missing teacher into the
 * studio home (a teacher of the same id with other weights is left as it is: it refuses), writes
 * the project to a new file, and the images into a new folder beside it.
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { constants, copyFileSync, existsSync, linkSync, mkdirSync, renameSync, rmSync, statfsSync, statSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { z } from 'zod';
import { errorMessage, StudioError } from '../core/errors';
import type { TeacherService } from '../models/teacher-service';
import { Project, PROJECT_EXTENSION } from '../services/project';
import { SCHEMA_VERSION } from '../services/project-db';
import { STUDIO_VERSION } from '../services/studio-version';
import { extractTarEntry, readTarEntry, readTarIndex, TarWriter, type TarEntry } from '../services/tar-archive';
import type { JobHandle, JobReport } from './job-runner';
import { teachersUsedBy } from './teachers';

export const PACK_EXTENSION = '.atlpack';
const MANIFEST = 'atl-pack.json';
const PROJECT_ENTRY = 'project.atl';
/** The manifest is read into memory: a bigger one is not ours. */
const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const PackManifest = z
  .object({
    format: z.literal('atl-studio-pack'),
    formatVersion: z.literal(1),
    studioVersion: z.string(),
    schemaVersion: z.number().int(),
    createdAt: z.string(),
    projectName: z.string(),
    teachers: z.array(
      z.object({
        id: z.string().regex(/^[A-Za-z0-9._-]+$/).refine((id) => !id.startsWith('.'), 'no leading dot'),
        name: z.string(),
        weightsSha256: Sha256,
        /** The teacher's files, relative to its folder (entries teachers/<id>/<file>). */
        files: z.array(z.string()).min(1),
      }),
    ),
    images: z.array(z.object({ sha256: Sha256, entry: z.string().regex(/^images\/[0-9a-f]{64}(\.[A-Za-z0-9]{1,10})?$/) })),
    entries: z.array(z.object({ name: z.string(), bytes: z.number().int().min(0), sha256: Sha256 })),
  })
  .strict();
type PackManifest = z.infer<typeof PackManifest>;

export interface PackReport {
  path: string;
  bytes: number;
  teachers: { id: string; bytes: number }[];
  images: number;
  /** Images left out of a `withImages` pack: original gone, or changed since import. */
  missingImages: { path: string; reason: string }[];
  cancelled: boolean;
}

export interface UnpackReport {
  project: string;
  /** The folder the images went to, when the pack holds images. */
  imagesDir: string | null;
  teachers: { id: string; status: 'installed' | 'present' }[];
  images: number;
  cancelled: boolean;
}

class Cancelled extends Error {}

/** A job's report for `done` of `total` bytes (the unit both directions count in). */
function byteProgress(report: JobHandle['report'], started: number, total: number): (done: number, message: string) => void {
  return (done, message) => {
    const progress: JobReport = { done, processed: done, total, elapsedSeconds: (performance.now() - started) / 1000, message, detail: {} };
    report(progress);
  };
}

/** A name beside `path` for a file or folder being written (hidden, unique): renamed or linked into place once whole. */
function scratchName(path: string, what: string): string {
  return join(dirname(path), `.${basename(path)}.${what}-${process.pid}-${Math.random().toString(36).slice(2, 10)}`);
}

/** Makes the finished file at `from` appear at `to`, never replacing what is there (a link fails when `to` exists). */
function publishFile(from: string, to: string): void {
  try {
    try {
      linkSync(from, to);
    } catch (error) {
      // A file system without hard links: an exclusive copy refuses an existing file just as well.
      if ((error as NodeJS.ErrnoException).code !== 'EPERM' && (error as NodeJS.ErrnoException).code !== 'ENOTSUP') throw error;
      copyFileSync(from, to, constants.COPYFILE_EXCL);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new StudioError('conflict', `${to} appeared meanwhile: it was left as it is`);
    throw error;
  }
  rmSync(from);
}

function checkNewFile(path: string, extension: string, what: string): void {
  if (extname(path) !== extension) throw new StudioError('invalid_input', `${what} ends in ${extension}: ${path}`);
  if (!existsSync(dirname(path))) throw new StudioError('invalid_input', `The folder ${dirname(path)} does not exist: create it or choose another`);
  if (existsSync(path)) throw new StudioError('conflict', `${path} exists already: choose another name (nothing is ever overwritten)`);
}

/** Refuses to start when the disk holding `folder` has less free space than `bytes`. */
function checkFreeSpace(folder: string, bytes: number): void {
  const { bavail, bsize } = statfsSync(folder);
  if (bavail * bsize < bytes) {
    throw new StudioError('io', `${folder} has ${(bavail * bsize / 1e6).toFixed(0)} MB free; this needs ${(bytes / 1e6).toFixed(0)} MB. Nothing was written.`);
  }
}

/** Writes the project, its teachers and (optionally) its images into a new pack file at `path`. */
export async function packProject(
  project: Project,
  teachers: TeacherService,
  input: { path: string; withImages: boolean },
  { signal, report }: JobHandle,
): Promise<PackReport> {
  const target = resolve(input.path);
  checkNewFile(target, PACK_EXTENSION, 'A portable project');
  // Every teacher first: a missing or broken one stops the pack before anything is written.
  const packed: { id: string; name: string; weightsSha256: string; dir: string; files: string[] }[] = [];
  for (const id of teachersUsedBy(project).keys()) {
    const loaded = await teachers.store.load(id).catch((error: unknown) => {
      throw new StudioError('not_found', `This project's features or heads came from the teacher '${id}', which cannot be packed: ${errorMessage(error)}`);
    });
    const dir = loaded.entry.dir!;
    packed.push({ id, name: loaded.entry.name, weightsSha256: loaded.weightsSha256, dir, files: await teachers.store.teacherFiles({ ...loaded.entry, dir }) });
  }
  const images = input.withImages ? project.images.sources() : [];
  const total =
    statSync(project.path).size +
    packed.reduce((sum, t) => sum + t.files.reduce((s, f) => s + statSync(join(t.dir, f)).size, 0), 0) +
    images.reduce((sum, i) => sum + (existsSync(i.path) ? statSync(i.path).size : 0), 0);
  checkFreeSpace(dirname(target), total);
  const progress = byteProgress(report, performance.now(), total);
  const partial = scratchName(target, 'packing');
  const snapshot = `${partial}.atl`;
  const result: PackReport = { path: target, bytes: 0, teachers: [], images: 0, missingImages: [], cancelled: false };
  const writer = await TarWriter.create(partial);
  let done = 0;
  try {
    progress(0, 'Copying the project database');
    const source = new Database(project.path, { readonly: true, fileMustExist: true });
    try {
      source.prepare('VACUUM INTO ?').run(snapshot);
    } finally {
      source.close();
    }
    done += (await writer.addFile(PROJECT_ENTRY, snapshot, signal)).bytes;
    rmSync(snapshot);
    for (const teacher of packed) {
      let bytes = 0;
      for (const file of teacher.files) {
        bytes += (await writer.addFile(`teachers/${teacher.id}/${file}`, join(teacher.dir, file), signal)).bytes;
        progress(done + bytes, `Packing the teacher ${teacher.name}`);
      }
      done += bytes;
      result.teachers.push({ id: teacher.id, bytes });
    }
    const packedImages: PackManifest['images'] = [];
    const seen = new Set<string>();
    for (const image of images) {
      if (signal.aborted) throw new Cancelled();
      if (seen.has(image.sha256)) continue;
      let bytes: Buffer;
      try {
        bytes = await readFile(image.path);
      } catch (error) {
        result.missingImages.push({ path: image.path, reason: `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})` });
        continue;
      }
      if (createHash('sha256').update(bytes).digest('hex') !== image.sha256) {
        result.missingImages.push({ path: image.path, reason: 'changed since it was imported' });
        continue;
      }
      const entry = `images/${image.sha256}${extname(image.path).toLowerCase().replace(/[^.a-z0-9]/g, '').slice(0, 11)}`;
      await writer.addBytes(entry, bytes);
      seen.add(image.sha256);
      packedImages.push({ sha256: image.sha256, entry });
      done += bytes.length;
      if (packedImages.length % 50 === 0) progress(done, `Packing images: ${packedImages.length} of ${images.length}`);
    }
    if (signal.aborted) throw new Cancelled();
    const manifest: PackManifest = {
      format: 'atl-studio-pack',
      formatVersion: 1,
      studioVersion: STUDIO_VERSION,
      schemaVersion: SCHEMA_VERSION,
      createdAt: new Date().toISOString(),
      projectName: project.name,
      teachers: packed.map(({ id, name, weightsSha256, files }) => ({ id, name, weightsSha256, files })),
      images: packedImages,
      entries: writer.written,
    };
    await writer.addBytes(MANIFEST, Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`));
    result.bytes = await writer.finish();
    result.images = packedImages.length;
    publishFile(partial, target);
  } catch (error) {
    await writer.abandon();
    rmSync(partial, { force: true });
    rmSync(snapshot, { force: true });
    if (!(error instanceof Cancelled) && !signal.aborted) throw error;
    result.cancelled = true;
  }
  progress(total, result.cancelled ? 'Cancelled: no file was written' : `Packed ${project.name} into ${target} (${(result.bytes / 1e6).toFixed(1)} MB)`);
  return result;
}

/** The pack's manifest, checked against the archive's entries: every entry listed with its size, nothing unlisted, a sound layout. */
async function readManifest(file: string, index: TarEntry[]): Promise<PackManifest> {
  const bad = (why: string) => new StudioError('bad_file', `${file} is not a readable portable project: ${why}. Nothing was written.`);
  const entry = index.find((e) => e.name === MANIFEST);
  if (!entry) throw bad(`it has no ${MANIFEST}`);
  if (entry.bytes > MAX_MANIFEST_BYTES) throw bad(`its ${MANIFEST} is ${entry.bytes} bytes`);
  let manifest: PackManifest;
  try {
    manifest = PackManifest.parse(JSON.parse((await readTarEntry(file, entry)).toString('utf8')));
  } catch (error) {
    const newer = /formatVersion/.test(errorMessage(error)) ? ' (written by a newer ATL Studio? update this one)' : '';
    throw bad(`its ${MANIFEST} is not one this studio reads${newer}: ${errorMessage(error).slice(0, 300)}`);
  }
  const listed = new Map(manifest.entries.map((e) => [e.name, e]));
  const present = new Map(index.filter((e) => e.name !== MANIFEST).map((e) => [e.name, e]));
  for (const [name, e] of present) {
    if (!listed.has(name)) throw bad(`it holds ${name}, which its manifest does not list`);
    if (listed.get(name)!.bytes !== e.bytes) throw bad(`${name} is ${e.bytes} bytes, its manifest says ${listed.get(name)!.bytes}`);
  }
  for (const name of listed.keys()) if (!present.has(name)) throw bad(`${name} is missing`);
  if (!present.has(PROJECT_ENTRY)) throw bad(`it holds no ${PROJECT_ENTRY}`);
  for (const t of manifest.teachers) for (const f of t.files) if (!present.has(`teachers/${t.id}/${f}`)) throw bad(`the teacher ${t.id}'s ${f} is missing`);
  for (const i of manifest.images) if (!present.has(i.entry)) throw bad(`${i.entry} is missing`);
  return manifest;
}

/**
 * Restores a pack as a new project file `out`: installs the teachers this studio home lacks,
 * writes the images (if packed) into a new folder beside it (`<name>-images/`), and points the
 * project at them. Every entry is checked against its sha256 before anything is put in place.
 */
export async function unpackProject(teachers: TeacherService, input: { file: string; out: string }, { signal, report }: JobHandle): Promise<UnpackReport> {
  const file = resolve(input.file);
  const out = resolve(input.out);
  if (!existsSync(file)) throw new StudioError('not_found', `No file at ${file}`);
  checkNewFile(out, PROJECT_EXTENSION, 'A project file');
  const index = await readTarIndex(file);
  const manifest = await readManifest(file, index);
  if (manifest.schemaVersion > SCHEMA_VERSION) {
    throw new StudioError('bad_file', `${file} holds a project of a newer ATL Studio (${manifest.studioVersion}, schema ${manifest.schemaVersion}): update this one to unpack it`);
  }
  const imagesDir = manifest.images.length > 0 ? join(dirname(out), `${basename(out, PROJECT_EXTENSION)}-images`) : null;
  if (imagesDir && existsSync(imagesDir)) throw new StudioError('conflict', `${imagesDir} exists already: unpack to another project name (nothing is ever overwritten)`);

  // Which teachers to install; one of the same id with other weights stops everything here.
  const store = teachers.store;
  const toInstall: PackManifest['teachers'] = [];
  const status: UnpackReport['teachers'] = [];
  for (const teacher of manifest.teachers) {
    const installed = store.list().find((t) => t.id === teacher.id && t.dir !== null);
    if (!installed) {
      if (existsSync(join(store.modelsDir, teacher.id))) {
        throw new StudioError('conflict', `${join(store.modelsDir, teacher.id)} holds files that are not the teacher '${teacher.id}': it is left as it is, and nothing was unpacked. Move it away, or unpack into another studio home.`);
      }
      toInstall.push(teacher);
      continue;
    }
    const weights = await store.load(teacher.id).then((t) => t.weightsSha256, (error: unknown) => `unloadable (${errorMessage(error)})`);
    if (weights !== teacher.weightsSha256) {
      throw new StudioError(
        'conflict',
        `This studio has another teacher named '${teacher.id}' (in ${installed.dir}, weights sha256 ${weights.slice(0, 16)}…; the pack's is ${teacher.weightsSha256.slice(0, 16)}…). ` +
          'It is left as it is, and nothing was unpacked: remove or rename that teacher (`atl-studio models remove`), or unpack into another studio home (ATL_STUDIO_HOME).',
      );
    }
    status.push({ id: teacher.id, status: 'present' });
  }
  const needed = new Set([PROJECT_ENTRY, ...toInstall.flatMap((t) => t.files.map((f) => `teachers/${t.id}/${f}`)), ...manifest.images.map((i) => i.entry)]);
  const entries = index.filter((e) => needed.has(e.name));
  const total = entries.reduce((sum, e) => sum + e.bytes, 0);
  checkFreeSpace(dirname(out), total);
  const sha = new Map(manifest.entries.map((e) => [e.name, e.sha256]));
  const progress = byteProgress(report, performance.now(), total);

  const projectScratch = scratchName(out, 'unpacking');
  const imagesScratch = imagesDir ? scratchName(imagesDir, 'unpacking') : null;
  const teacherScratch = new Map<string, string>();
  let done = 0;
  /** Extracts one entry to `target`, checked against the manifest's sha256. */
  const extract = async (entry: TarEntry, target: string) => {
    if (signal.aborted) throw new Cancelled();
    mkdirSync(dirname(target), { recursive: true });
    const actual = await extractTarEntry(file, entry, target, signal);
    if (actual !== sha.get(entry.name)) throw new StudioError('bad_file', `${file} is damaged: ${entry.name} does not match its sha256 (expected ${sha.get(entry.name)}, got ${actual}). Nothing was unpacked.`);
    done += entry.bytes;
    progress(done, `Unpacking ${entry.name.startsWith('images/') ? 'images' : entry.name}`);
  };
  const byName = new Map(entries.map((e) => [e.name, e]));
  const result: UnpackReport = { project: out, imagesDir, teachers: status, images: 0, cancelled: false };
  try {
    await extract(byName.get(PROJECT_ENTRY)!, projectScratch);
    for (const teacher of toInstall) {
      const staging = await mkdtemp(join(store.modelsDir, `.${teacher.id}.unpacking-`));
      teacherScratch.set(teacher.id, staging);
      for (const f of teacher.files) await extract(byName.get(`teachers/${teacher.id}/${f}`)!, join(staging, f));
    }
    if (imagesScratch) {
      mkdirSync(imagesScratch);
      for (const image of manifest.images) await extract(byName.get(image.entry)!, join(imagesScratch, basename(image.entry)));
    }
    // The copy must open as a project (its integrity checked, migrated if older); then it points at its images.
    Project.open(projectScratch).close();
    if (imagesDir) pointAtImages(projectScratch, imagesDir, manifest.images);
    for (const teacher of toInstall) {
      const target = join(store.modelsDir, teacher.id);
      if (existsSync(target)) throw new StudioError('conflict', `${target} appeared while unpacking: it is left as it is`);
      renameSync(teacherScratch.get(teacher.id)!, target);
      teacherScratch.delete(teacher.id);
      const weights = await store.load(teacher.id).then((t) => t.weightsSha256, (error: unknown) => `unloadable (${errorMessage(error)})`);
      if (weights !== teacher.weightsSha256) {
        rmSync(target, { recursive: true, force: true }); // what this unpack just wrote
        throw new StudioError('bad_file', `The teacher '${teacher.id}' in ${file} does not load as the one the project was made with (${weights.slice(0, 40)}): nothing else was unpacked`);
      }
      status.push({ id: teacher.id, status: 'installed' });
    }
    if (imagesDir && imagesScratch) renameSync(imagesScratch, imagesDir);
    publishFile(projectScratch, out);
    result.images = manifest.images.length;
  } catch (error) {
    rmSync(projectScratch, { force: true });
    for (const suffix of ['-wal', '-shm']) rmSync(`${projectScratch}${suffix}`, { force: true });
    if (imagesScratch) rmSync(imagesScratch, { recursive: true, force: true });
    for (const staging of teacherScratch.values()) rmSync(staging, { recursive: true, force: true });
    if (!(error instanceof Cancelled) && !signal.aborted) throw error;
    result.cancelled = true;
  }
  progress(total, result.cancelled ? 'Cancelled: nothing was unpacked' : `Unpacked ${manifest.projectName} into ${out}`);
  return result;
}

/** Points the project's images at their unpacked copies (by sha256: the pack stores each content once). */
function pointAtImages(projectFile: string, imagesDir: string, images: PackManifest['images']): void {
  const db = new Database(projectFile, { fileMustExist: true });
  try {
    const update = db.prepare('UPDATE images SET original_path = ? WHERE sha256 = ?');
    db.transaction(() => {
      for (const image of images) update.run(join(imagesDir, basename(image.entry)), image.sha256);
    })();
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
}
