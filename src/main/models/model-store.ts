/**
 * Where teachers live and how the studio gets them. Known teachers are pinned in
 * resources/models/manifest.json (files and sha256). A teacher's folder is looked up in the
 * studio's home (`<home>/models/<id>`, where downloads and imports go), then in the extra roots
 * (ATL_STUDIO_MODELS, and ../shared/models beside a development checkout). The studio never needs
 * the network to run: only `fetch` downloads, and offline it copies from an extra root instead.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cp, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { basename, delimiter, dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { isGraphModelFolder, mobilenetV1Teacher, onnxSidecarTeacher, tfjsGraphTeacher, type TeacherSpec } from '../engines/teachers';
import { errorMessage, StudioError } from '../services/errors';
import { downloadVerified, sha256OfFile } from './download';

/** The folder holding resources/: found upward, so it works from src/ (tsx) and from the out/ bundle. */
function findAppRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'resources/models/manifest.json'))) return dir;
    if (dirname(dir) === dir) throw new StudioError('not_found', `resources/models/manifest.json not found above ${start}`);
  }
}
export const APP_ROOT = findAppRoot(dirname(fileURLToPath(import.meta.url)));
export const MANIFEST_PATH = join(APP_ROOT, 'resources/models/manifest.json');

const ManifestTeacher = z.object({
  id: z.string().regex(/^[A-Za-z0-9._-]+$/),
  name: z.string(),
  format: z.enum(['tfjs-layers', 'tfjs-graph', 'onnx']),
  /**
   * How to read its spec: MobileNet v1 is declared in code; ONNX teachers carry a model.json
   * sidecar; TF.js graph models are inspected (optional atl-preprocess.json).
   */
  kind: z.enum(['mobilenet-v1', 'onnx-sidecar', 'tfjs-graph']),
  description: z.string(),
  url: z.string().url().nullable(),
  files: z.record(z.string(), z.string().regex(/^[0-9a-f]{64}$/)),
  optionalFiles: z.record(z.string(), z.string().regex(/^[0-9a-f]{64}$/)),
  license: z.string(),
});
type ManifestTeacher = z.infer<typeof ManifestTeacher>;
const Manifest = z.object({ default: z.string(), teachers: z.array(ManifestTeacher) });

/** What an imported teacher's folder records about itself. */
const ImportedTeacher = ManifestTeacher.omit({ url: true, files: true, optionalFiles: true });
const IMPORT_RECORD = 'atl-teacher.json';

export interface TeacherEntry {
  id: string;
  name: string;
  format: 'tfjs-layers' | 'tfjs-graph' | 'onnx';
  description: string;
  license: string;
  source: 'manifest' | 'imported';
  /** The folder it loads from, or null when it must be fetched or imported first. */
  dir: string | null;
  isDefault: boolean;
}

export interface LoadedTeacher {
  entry: TeacherEntry;
  spec: TeacherSpec;
  /** sha256 over the teacher's files: part of every cache key, so new weights never reuse old features. */
  weightsSha256: string;
}

export function extraModelRoots(): string[] {
  const fromEnv = (process.env.ATL_STUDIO_MODELS ?? '').split(delimiter).filter(Boolean);
  const beside = resolve(APP_ROOT, '../shared/models');
  return [...fromEnv, ...(existsSync(beside) ? [beside] : [])];
}

export class ModelStore {
  private readonly manifest = Manifest.parse(JSON.parse(readFileSync(MANIFEST_PATH, 'utf8')));

  constructor(
    readonly home: string,
    private readonly extraRoots: string[] = extraModelRoots(),
    /** A mirror serving `<id>/<file>` (ATL_STUDIO_MODEL_MIRROR), for sites that cannot reach the official URL. */
    private readonly mirror: string | undefined = process.env.ATL_STUDIO_MODEL_MIRROR,
  ) {}

  get modelsDir(): string {
    const dir = join(this.home, 'models');
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  get defaultId(): string {
    return this.manifest.default;
  }

  list(): TeacherEntry[] {
    const known = this.manifest.teachers.map((t) => this.entry(t, 'manifest', this.findDir(t.id, Object.keys(t.files))));
    const imported = existsSync(this.modelsDir)
      ? readdirSafe(this.modelsDir)
          .filter((id) => existsSync(join(this.modelsDir, id, IMPORT_RECORD)))
          .map((id) => this.entry(readImportRecord(join(this.modelsDir, id)), 'imported', join(this.modelsDir, id)))
      : [];
    return [...known, ...imported];
  }

  get(id: string): TeacherEntry {
    const entry = this.list().find((t) => t.id === id);
    if (!entry) throw new StudioError('not_found', `No teacher '${id}'. Known: ${this.list().map((t) => t.id).join(', ')}`);
    return entry;
  }

  /** Reads the teacher's spec and checks its files against their pinned sha256. */
  async load(id: string): Promise<LoadedTeacher> {
    const entry = this.get(id);
    if (!entry.dir) {
      throw new StudioError('not_found', `Teacher '${id}' is not installed: run \`atl-studio models fetch ${id}\` or import it.`);
    }
    const pinned = this.manifest.teachers.find((t) => t.id === id);
    const files = pinned ? Object.keys(pinned.files) : await listFiles(entry.dir);
    const combined = createHash('sha256');
    for (const file of files.sort()) {
      const path = join(entry.dir, file);
      if (!existsSync(path)) throw new StudioError('bad_file', `Teacher '${id}' is missing ${path}`);
      const sha = await sha256OfFile(path);
      if (pinned && pinned.files[file] !== sha) {
        throw new StudioError('bad_file', `Checksum mismatch for ${path}: expected sha256 ${pinned.files[file]}, got ${sha}`);
      }
      combined.update(`${file}:${sha}\n`);
    }
    const kind = pinned?.kind ?? readImportRecord(entry.dir).kind;
    const spec = await readSpec(kind, entry.dir);
    return { entry, spec, weightsSha256: combined.digest('hex') };
  }

  /**
   * Installs a known teacher into the studio's home: downloaded (checked, resumable, atomic) when
   * it has a URL and the network answers, else copied from an extra root. Returns how it came.
   */
  async fetch(id: string, log: (line: string) => void = () => undefined): Promise<'present' | 'downloaded' | 'copied'> {
    const teacher = this.manifest.teachers.find((t) => t.id === id);
    if (!teacher) throw new StudioError('not_found', `'${id}' is not in the manifest (${MANIFEST_PATH})`);
    const target = join(this.modelsDir, id);
    const all = { ...teacher.files, ...teacher.optionalFiles };
    if (await this.verified(target, teacher.files)) return 'present';
    let downloadError: string | null = null;
    const baseUrl = this.mirror ? new URL(`${id}/`, this.mirror.endsWith('/') ? this.mirror : `${this.mirror}/`).href : teacher.url;
    if (baseUrl) {
      try {
        await mkdir(target, { recursive: true });
        for (const [file, sha] of Object.entries(teacher.files)) {
          if (existsSync(join(target, file)) && (await sha256OfFile(join(target, file))) === sha) continue;
          log(`downloading ${file}`);
          await downloadVerified(new URL(file, baseUrl).href, join(target, file), sha);
        }
        return 'downloaded';
      } catch (error) {
        downloadError = errorMessage(error);
        log(`download failed (${downloadError}); looking for a local copy`);
      }
    }
    for (const root of this.extraRoots) {
      const source = join(root, id);
      if (!(await this.verified(source, teacher.files))) continue;
      const staging = `${target}.copying`;
      await rm(staging, { recursive: true, force: true });
      await mkdir(staging, { recursive: true });
      for (const file of Object.keys(all)) {
        if (existsSync(join(source, file))) await cp(join(source, file), join(staging, file));
      }
      await rm(target, { recursive: true, force: true });
      await rename(staging, target);
      log(`copied from ${source}`);
      return 'copied';
    }
    throw new StudioError(
      'not_found',
      `Could not get teacher '${id}': ${downloadError ? `download failed (${downloadError})` : 'it has no download URL'} ` +
        `and no verified copy was found in ${this.extraRoots.join(', ') || 'any local folder'}. ` +
        'Import its files with `atl-studio models import <folder|file.onnx>`.',
    );
  }

  /**
   * Imports a teacher: a TF.js layers-model folder (model.json + shards; MobileNet v1 family), a
   * TF.js graph-model folder (tensorflowjs_converter's `format: "graph-model"`, optional
   * atl-preprocess.json) or an ONNX file with its model.json sidecar beside it. The files must load (an engine session is
   * opened on them) before anything is copied. Files of a known teacher that is not installed yet
   * are checked against its pinned sha256 and installed as that teacher.
   */
  async import(path: string): Promise<TeacherEntry> {
    const source = resolve(path);
    if (!existsSync(source)) throw new StudioError('not_found', `Nothing at ${source}`);
    const isOnnx = statSync(source).isFile() && extname(source) === '.onnx';
    const folder = isOnnx ? dirname(source) : source;
    if (!isOnnx && !existsSync(join(folder, 'model.json'))) {
      throw new StudioError('bad_file', `${folder} has no model.json: import a TF.js layers- or graph-model folder, or an .onnx file`);
    }
    const id = basename(isOnnx ? basename(source, '.onnx') : folder).replace(/[^A-Za-z0-9._-]/g, '_');
    const known = this.manifest.teachers.find((t) => t.id === id);
    if (this.list().some((t) => t.id === id && t.dir !== null)) throw new StudioError('conflict', `A teacher named '${id}' is installed already`);
    if (known) {
      for (const [file, sha] of Object.entries(known.files)) {
        const filePath = join(folder, file);
        if (!existsSync(filePath)) throw new StudioError('bad_file', `${filePath} is missing (teacher '${id}' needs it)`);
        const actual = await sha256OfFile(filePath);
        if (actual !== sha) throw new StudioError('bad_file', `Checksum mismatch for ${filePath}: expected sha256 ${sha}, got ${actual}`);
      }
    }
    const kind = known?.kind ?? (isOnnx ? 'onnx-sidecar' : (await isGraphModelFolder(folder)) ? 'tfjs-graph' : 'mobilenet-v1');
    const spec = await readSpec(kind, folder);
    if (!existsSync(spec.modelPath)) {
      throw new StudioError('bad_file', `${join(folder, 'model.json')} names ${basename(spec.modelPath)}, which is not in ${folder}`);
    }
    // Opening a session reads every weight and checks every declared layer: errors name the file.
    if (kind === 'tfjs-graph') {
      const { createTfjsGraphExtractor } = await import('../engines/tfjs-graph-extractor');
      await (await createTfjsGraphExtractor(spec)).dispose();
    } else {
      const { createOnnxExtractor } = await import('../engines/onnx-extractor');
      await (await createOnnxExtractor(spec, { cuda: false, threads: 1 })).dispose();
    }
    const staging = join(this.modelsDir, `${id}.importing`);
    await rm(staging, { recursive: true, force: true });
    await cp(folder, staging, { recursive: true });
    if (!known) {
      const record = { id, name: spec.name, format: spec.format, kind, description: `Imported from ${source}`, license: 'see the source' };
      writeFileSync(join(staging, IMPORT_RECORD), JSON.stringify(record, null, 2));
    }
    await rm(join(this.modelsDir, id), { recursive: true, force: true });
    await rename(staging, join(this.modelsDir, id));
    return this.get(id);
  }

  private entry(t: z.infer<typeof ImportedTeacher>, source: TeacherEntry['source'], dir: string | null): TeacherEntry {
    return {
      id: t.id,
      name: t.name,
      format: t.format,
      description: t.description,
      license: t.license,
      source,
      dir,
      isDefault: t.id === this.manifest.default,
    };
  }

  private findDir(id: string, files: string[]): string | null {
    for (const root of [this.modelsDir, ...this.extraRoots]) {
      const dir = join(root, id);
      if (files.every((f) => existsSync(join(dir, f)))) return dir;
    }
    return null;
  }

  private async verified(dir: string, files: Record<string, string>): Promise<boolean> {
    for (const [file, sha] of Object.entries(files)) {
      if (!existsSync(join(dir, file)) || (await sha256OfFile(join(dir, file))) !== sha) return false;
    }
    return true;
  }
}

function readSpec(kind: ManifestTeacher['kind'], dir: string): Promise<TeacherSpec> {
  if (kind === 'mobilenet-v1') return mobilenetV1Teacher(dir);
  if (kind === 'tfjs-graph') return tfjsGraphTeacher(dir);
  return onnxSidecarTeacher(dir);
}

function readImportRecord(dir: string): z.infer<typeof ImportedTeacher> {
  return ImportedTeacher.parse(JSON.parse(readFileSync(join(dir, IMPORT_RECORD), 'utf8')));
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

async function listFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f !== IMPORT_RECORD && statSync(join(dir, f)).isFile());
}
