/**
 * Use-case: the labeled data set out of the studio (`atl-studio export-data`, the Export data
 * dialog). Three layouts, always into a folder written the safe way every export is
 * (export/export-folder.ts: never over files the studio did not write, swapped in whole):
 * - `folders`: one folder per class holding the original image files, bytes unchanged, and
 *   manifest.csv (each copy's path, class, label source, sha256, original path, prediction);
 *   `import --labels-from-folders` reads it back as the same images and labels.
 * - `csv` / `json`: labels.csv or labels.json listing each labeled image's original path, class,
 *   label source, sha256, and the active head's predicted class and confidence where it has one.
 * Which labels: `human` (a person's, including labels imported from folders) or `all` (also
 * predictions a person accepted). Unlabeled images are left out.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { DataExportFormat, DataExportSource, LabelSource } from '../../shared/contract';
import { StudioError } from '../core/errors';
import { checkExportTarget, replaceAtomically } from '../export/export-folder';
import { csvCell } from '../export/predictions-file';
import type { Project } from '../services/project';
import { safeFileName } from '../services/project';
import { STUDIO_VERSION } from '../services/studio-version';
import type { JobHandle } from './job-runner';

export interface DataExportInput {
  dir: string;
  format: DataExportFormat;
  source: DataExportSource;
}

/** One exported image: where it is (its copy in `folders`, else its original), its label and the active head's guess. */
export interface ExportedImage {
  path: string;
  class: string;
  source: LabelSource;
  sha256: string;
  originalPath: string;
  predictedClass: string | null;
  confidence: number | null;
}

export interface DataExportReport {
  dir: string;
  format: DataExportFormat;
  images: number;
  classes: number;
  bytes: number;
  /** Labeled images whose original file is gone or changed since import: not in a `folders` export. */
  skipped: { path: string; reason: string }[];
  cancelled: boolean;
}

export const MANIFEST_COLUMNS = ['path', 'class', 'source', 'sha256', 'original_path', 'predicted_class', 'confidence'] as const;

/**
 * A folder path for each class name, parts made safe for every OS ('Greek/alpha' stays two
 * levels, as labels-from-folders reads it); two classes that end up with the same folder (names
 * differing only in case or in unsafe characters) get ' (2)', ' (3)'…
 */
export function classFolders(classNames: string[]): Map<string, string> {
  const taken = new Set<string>(['manifest.csv']);
  const folders = new Map<string, string>();
  for (const name of classNames) {
    const base = name.split('/').map(safeFileName).join('/');
    let folder = base;
    for (let n = 2; taken.has(folder.toLowerCase()); n++) folder = `${base} (${n})`;
    taken.add(folder.toLowerCase());
    folders.set(name, folder);
  }
  return folders;
}

/** `name`, or `stem (2).ext`, `stem (3).ext`… : the first not in `taken` (compared without case: macOS and Windows folders). */
export function uniqueFileName(name: string, taken: Set<string>): string {
  const dot = name.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  let candidate = name;
  for (let n = 2; taken.has(candidate.toLowerCase()); n++) candidate = `${stem} (${n})${ext}`;
  taken.add(candidate.toLowerCase());
  return candidate;
}

/** The labeled images to export, in import order, with `path` their original file (set to the copy's for `folders`). */
export function labeledImages(project: Project, source: DataExportSource): ExportedImage[] {
  const classNames = new Map(project.classes.list().map((c) => [c.id, c.name]));
  const files = new Map(project.images.sources().map((s) => [s.id, s]));
  const rows = project.images.list({ kind: 'all' }, 'import');
  return rows
    .filter((r) => r.classId !== null && r.source !== null && (source === 'all' || r.source === 'human'))
    .map((r) => {
      const file = files.get(r.id)!;
      return {
        path: file.path,
        class: classNames.get(r.classId!)!,
        source: r.source!,
        sha256: file.sha256,
        originalPath: file.path,
        predictedClass: r.predictedClassId === null ? null : (classNames.get(r.predictedClassId) ?? null),
        confidence: r.confidence,
      };
    });
}

export function toCsv(images: ExportedImage[]): string {
  const rows = images.map((i) => [i.path, i.class, i.source, i.sha256, i.originalPath, i.predictedClass ?? '', i.confidence === null ? '' : i.confidence.toFixed(6)]);
  return `${[[...MANIFEST_COLUMNS], ...rows].map((row) => row.map(csvCell).join(',')).join('\n')}\n`;
}

class Cancelled extends Error {}

/** Writes the export; a cancelled run leaves the target as it was. */
export async function exportData(project: Project, input: DataExportInput, { signal, report }: JobHandle): Promise<DataExportReport> {
  const dir = resolve(input.dir);
  checkExportTarget(dir); // before any work: a wrong folder is told at once
  const images = labeledImages(project, input.source);
  if (images.length === 0) {
    const which = input.source === 'human' ? 'labeled by a person' : 'labeled';
    throw new StudioError('not_found', `No image is ${which} yet: nothing to export${input.source === 'human' ? ' (add --source all for accepted predictions)' : ''}`);
  }
  const started = performance.now();
  const progress = (done: number, message: string) =>
    report({ done, processed: done, total: images.length, elapsedSeconds: (performance.now() - started) / 1000, message, detail: {} });
  const result: DataExportReport = { dir, format: input.format, images: 0, classes: 0, bytes: 0, skipped: [], cancelled: false };
  try {
    await replaceAtomically(dir, STUDIO_VERSION, async (staging) => {
      mkdirSync(staging);
      let exported = images;
      if (input.format === 'folders') {
        exported = await copyIntoClassFolders(images, staging, result, signal, (done) => progress(done, `Copying images into class folders`));
        const manifest = toCsv(exported);
        writeFileSync(join(staging, 'manifest.csv'), manifest);
        result.bytes += Buffer.byteLength(manifest);
      } else {
        const text = input.format === 'csv' ? toCsv(exported) : `${JSON.stringify(exported, null, 2)}\n`;
        writeFileSync(join(staging, `labels.${input.format}`), text);
        result.bytes = Buffer.byteLength(text);
      }
      result.images = exported.length;
      result.classes = new Set(exported.map((i) => i.class)).size;
    });
  } catch (error) {
    if (!(error instanceof Cancelled)) throw error;
    result.cancelled = true;
  }
  const mb = (result.bytes / 1e6).toFixed(1);
  progress(images.length, result.cancelled ? 'Export cancelled: nothing was changed' : `Exported ${result.images} images of ${result.classes} classes (${mb} MB) into ${dir}`);
  return result;
}

/** Copies each image's original into its class folder, checked against its sha256; returns those copied, each `path` its copy's. */
async function copyIntoClassFolders(
  images: ExportedImage[],
  staging: string,
  result: DataExportReport,
  signal: AbortSignal,
  progress: (done: number) => void,
): Promise<ExportedImage[]> {
  const folders = classFolders([...new Set(images.map((i) => i.class))]);
  const taken = new Map<string, Set<string>>();
  const copied: ExportedImage[] = [];
  let lastReport = 0;
  for (const [index, image] of images.entries()) {
    if (signal.aborted) throw new Cancelled();
    let bytes: Buffer;
    try {
      bytes = readFileSync(image.originalPath);
    } catch (error) {
      result.skipped.push({ path: image.originalPath, reason: `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})` });
      continue;
    }
    if (createHash('sha256').update(bytes).digest('hex') !== image.sha256) {
      result.skipped.push({ path: image.originalPath, reason: 'changed since it was imported' });
      continue;
    }
    const folder = folders.get(image.class)!;
    if (!taken.has(folder)) {
      mkdirSync(join(staging, folder), { recursive: true });
      taken.set(folder, new Set());
    }
    const name = uniqueFileName(safeFileName(image.originalPath.split(/[\\/]/).pop()!), taken.get(folder)!);
    writeFileSync(join(staging, folder, name), bytes, { flag: 'wx' });
    result.bytes += bytes.length;
    copied.push({ ...image, path: `${folder}/${name}` });
    if (performance.now() - lastReport > 200 || index === images.length - 1) {
      lastReport = performance.now();
      progress(index + 1);
      await new Promise((resolve) => setImmediate(resolve)); // lets a cancel (and the studio's other calls) in
    }
  }
  return copied;
}
