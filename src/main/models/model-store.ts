/**
 * Where teachers live and how the studio gets them. Known teachers are pinned in
 * resources/models/manifest.json (files and sha256). A teacher's folder is looked up in the
 * studio's home (`<home>/models/<id>`, where downloads and imports go), then in the extra roots
 * (ATL_STUDIO_MODELS, and ../shared/models beside a development checkout). The studio never needs
 * the network to run: only `fetch` downloads, and offline it copies from an extra root instead.
 */
import { constants, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { copyFile, cp, mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { basename, delimiter, dirname, extname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { containedFile, onnxExternalDataFiles, readJsonFile, readJsonObject } from '../engines/model-files';
import {
  GRAPH_PREPROCESS_FILE,
  isGraphModelFolder,
  mobilenetV1Teacher,
  onnxSidecarTeacher,
  tfjsGraphTeacher,
  type TeacherSpec,
} from '../engines/teachers';
import { weightFilePaths } from '../engines/tfjs-layers-files';
import { prepareBareOnnxTeacher, type BareOnnxOptions } from '../engines/onnx-import';
import { errorMessage, StudioError } from '../core/errors';
import { downloadVerified, sha256OfFile } from './download';
import { checkTeacherLoads } from './engine-choice';

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
/** The folder in `<home>/models` keeping which layers each teacher uses: no teacher may take its name. */
export const LAYER_CHOICES_DIR = 'layers';

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
  /** Why an installed teacher cannot load (a malformed atl-teacher.json or model.json, naming the file), or null. */
  problem: string | null;
}

/** What `models import` may say about a new teacher; preprocess and size only for a bare .onnx (a sidecar gives them). */
export interface TeacherImportOptions extends BareOnnxOptions {
  /** Default: the file's or folder's name. */
  id?: string;
  /** The teacher's name for people; default: its model's own name, or the .onnx file's. */
  name?: string;
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

  /**
   * The manifest's teachers, then those imported into the home. One with malformed files is listed
   * with its problem, so that it never hides the others.
   */
  list(): TeacherEntry[] {
    const known = this.manifest.teachers.map((t) => {
      const dir = this.findDir(t.id, Object.keys(t.files));
      return this.entry(t, 'manifest', dir, dir === null ? null : modelJsonProblem(dir));
    });
    const imported = readdirSafe(this.modelsDir)
      // Dot folders are imports still being copied.
      .filter((id) => !id.startsWith('.') && existsSync(join(this.modelsDir, id, IMPORT_RECORD)))
      .map((id) => this.importedEntry(id));
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
    if (entry.problem) throw new StudioError('bad_file', `Teacher '${id}' is broken: ${entry.problem}`);
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
   * opened on them) before anything is copied, and only the teacher's own files are copied (what
   * its model files name, and its sidecars), never the rest of the folder. Nothing already in the
   * home is replaced. Files of a known teacher that is not installed yet are checked against its
   * pinned sha256 and installed as that teacher. An .onnx file with no model.json beside it is
   * inspected instead (see `importBareOnnx`).
   */
  async import(path: string, options: TeacherImportOptions = {}): Promise<TeacherEntry> {
    const source = resolve(path);
    const stats = statOrNull(source);
    if (!stats) throw new StudioError('not_found', `Nothing at ${source}`);
    const isOnnx = stats.isFile() && extname(source) === '.onnx';
    if (!isOnnx && !stats.isDirectory()) {
      throw new StudioError('bad_file', `${source} is neither a folder nor an .onnx file: import a TF.js layers- or graph-model folder, or an .onnx file`);
    }
    const folder = isOnnx ? dirname(source) : source;
    if (!isOnnx && !existsSync(join(folder, 'model.json'))) {
      throw new StudioError('bad_file', `${folder} has no model.json: import a TF.js layers- or graph-model folder, or an .onnx file`);
    }
    const bare = isOnnx && !existsSync(join(folder, 'model.json'));
    if (!bare && (options.preprocess !== undefined || options.size !== undefined)) {
      throw new StudioError('invalid_input', `${join(folder, 'model.json')} gives this teacher's preprocessing and size: leave out --preprocess and --size`);
    }
    const id = this.newTeacherId(options.id ?? basename(isOnnx ? basename(source, '.onnx') : folder), isOnnx ? 'file' : 'folder');
    if (bare) return this.importBareOnnx(source, id, options);
    const known = this.manifest.teachers.find((t) => t.id === id);
    const target = join(this.modelsDir, id);
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
    if (isOnnx && spec.modelPath !== source) {
      throw new StudioError(
        'bad_file',
        `${join(folder, 'model.json')} beside ${source} describes ${relative(folder, spec.modelPath)}, not ${basename(source)}: ` +
          'import the model it describes, or put this one in a folder of its own with its own model.json',
      );
    }
    // Checked before any engine reads them: what the model files name stays in their folder.
    const files = known
      ? Object.keys({ ...known.files, ...known.optionalFiles }).filter((file) => existsSync(join(folder, file)))
      : await ownFiles(kind, folder, spec);
    // Opening a session reads every weight and checks every declared layer: errors name the file.
    await checkTeacherLoads(spec);
    const staging = await mkdtemp(join(this.modelsDir, `.${id}.importing-`));
    try {
      for (const file of files) {
        // Copies what a symlink inside the folder points at; one leading out is refused.
        const { path: from } = containedFile(folder, file, `The teacher folder ${folder}`);
        await mkdir(dirname(join(staging, file)), { recursive: true });
        await copyFile(from, join(staging, file), constants.COPYFILE_EXCL);
      }
      if (!known) {
        const record = { id, name: options.name ?? spec.name, format: spec.format, kind, description: `Imported from ${source}`, license: 'see the source' };
        writeFileSync(join(staging, IMPORT_RECORD), JSON.stringify(record, null, 2));
      }
      await this.publish(staging, target);
    } catch (error) {
      await rm(staging, { recursive: true, force: true });
      throw error;
    }
    return this.get(id);
  }

  /**
   * A bare .onnx image backbone (no sidecar): its inventory is found from the graph, and a copy
   * rewritten to expose it is stored with a generated model.json, so it loads as an 'onnx-sidecar'
   * teacher. The copy must open in ONNX Runtime before it is published; a failure leaves nothing.
   */
  private async importBareOnnx(source: string, id: string, options: TeacherImportOptions): Promise<TeacherEntry> {
    const file = `${id}.onnx`;
    const { model, sidecar, sourceSha256 } = await prepareBareOnnxTeacher(source, file, options);
    const staging = await mkdtemp(join(this.modelsDir, `.${id}.importing-`));
    try {
      writeFileSync(join(staging, file), model);
      writeFileSync(join(staging, 'model.json'), JSON.stringify(sidecar, null, 2));
      const spec = await onnxSidecarTeacher(staging);
      await checkTeacherLoads(spec);
      const description = `Imported from ${source} (sha256 ${sourceSha256}), its layers found from the graph; preprocessing ${String(sidecar.preprocess)}`;
      const name = options.name ?? basename(source, '.onnx');
      const record = { id, name, format: 'onnx', kind: 'onnx-sidecar', description, license: 'see the source' };
      writeFileSync(join(staging, IMPORT_RECORD), JSON.stringify(record, null, 2));
      await this.publish(staging, join(this.modelsDir, id));
    } catch (error) {
      await rm(staging, { recursive: true, force: true });
      throw error;
    }
    return this.get(id);
  }

  /** A valid id not in use (no leading dot: dot folders are imports in progress), else a clear refusal. */
  private newTeacherId(wanted: string, what: 'file' | 'folder'): string {
    const id = wanted.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\./, '_');
    if (this.list().some((t) => t.id === id && t.dir !== null)) throw new StudioError('conflict', `A teacher named '${id}' is installed already`);
    const target = join(this.modelsDir, id);
    if (id === LAYER_CHOICES_DIR || existsSync(target)) {
      const why = id === LAYER_CHOICES_DIR ? 'the studio keeps the layers each teacher uses there' : 'it is left as it is';
      throw new StudioError('conflict', `${target} already holds files (${why}): rename the model's ${what} (or give another --id) and import it again`);
    }
    return id;
  }

  /** Moves a finished staging folder into place; fails rather than replaces when another import took the name meanwhile. */
  private async publish(staging: string, target: string): Promise<void> {
    try {
      await rename(staging, target);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST') throw new StudioError('conflict', `${target} appeared while importing: it is left as it is`);
      throw error;
    }
  }

  /**
   * Removes a teacher the studio installed in its home (imported or fetched): only its own files,
   * then its folder if that leaves it empty, and its layer choice. A teacher loading from another
   * folder (ATL_STUDIO_MODELS, ../shared) is never touched. Returns what was left in its folder.
   */
  async remove(id: string): Promise<string[]> {
    const entry = this.get(id);
    if (!entry.dir) throw new StudioError('not_found', `Teacher '${id}' is not installed: nothing to remove`);
    if (dirname(entry.dir) !== this.modelsDir) {
      throw new StudioError('conflict', `Teacher '${id}' loads from ${entry.dir}, outside the studio home: the studio removes only the teachers it installed`);
    }
    let files: string[];
    try {
      files = await this.teacherFiles({ ...entry, dir: entry.dir });
    } catch (error) {
      throw new StudioError('bad_file', `Teacher '${id}' cannot tell which files are its own (${errorMessage(error)}): remove ${entry.dir} by hand`);
    }
    for (const file of files) await rm(join(entry.dir, file), { force: true });
    await rm(join(this.modelsDir, LAYER_CHOICES_DIR, `${id}.json`), { force: true });
    const left = readdirSafe(entry.dir);
    if (left.length === 0) rmdirSync(entry.dir);
    return left;
  }

  /**
   * The files making up an installed teacher, relative to its folder: a known teacher's pinned
   * files that are there, an imported one's record and model files (what `remove` removes, what a
   * portable project carries).
   */
  async teacherFiles(entry: TeacherEntry & { dir: string }): Promise<string[]> {
    const pinned = this.manifest.teachers.find((t) => t.id === entry.id);
    if (pinned) return Object.keys({ ...pinned.files, ...pinned.optionalFiles }).filter((file) => existsSync(join(entry.dir, file)));
    const { kind } = readImportRecord(entry.dir);
    return [IMPORT_RECORD, ...(await ownFiles(kind, entry.dir, await readSpec(kind, entry.dir)))];
  }

  private importedEntry(id: string): TeacherEntry {
    const dir = join(this.modelsDir, id);
    try {
      return this.entry(readImportRecord(dir), 'imported', dir, modelJsonProblem(dir));
    } catch (error) {
      // Its record is unreadable: listed under its folder's name, with the reason.
      const format = readdirSafe(dir).some((file) => file.endsWith('.onnx')) ? 'onnx' : 'tfjs-layers';
      const description = `Imported teacher with an unreadable ${IMPORT_RECORD}`;
      return { id, name: id, format, description, license: 'unknown', source: 'imported', dir, isDefault: false, problem: errorMessage(error) };
    }
  }

  private entry(
    t: z.infer<typeof ImportedTeacher>,
    source: TeacherEntry['source'],
    dir: string | null,
    problem: string | null,
  ): TeacherEntry {
    return {
      id: t.id,
      name: t.name,
      format: t.format,
      description: t.description,
      license: t.license,
      source,
      dir,
      isDefault: t.id === this.manifest.default,
      problem,
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
  const path = join(dir, IMPORT_RECORD);
  const record = readJsonFile(path, ImportedTeacher);
  if (record.id !== basename(dir)) throw new StudioError('bad_file', `${path}: id '${record.id}' differs from its folder's name '${basename(dir)}'`);
  return record;
}

/** Why a teacher's model.json (TF.js model or ONNX sidecar) cannot be read, or null: a quick check for the list. */
function modelJsonProblem(dir: string): string | null {
  try {
    readJsonObject(join(dir, 'model.json'));
    return null;
  } catch (error) {
    return errorMessage(error);
  }
}

/** The files making up a teacher in `folder`, relative to it: its model files, what they name, and its sidecars. */
async function ownFiles(kind: ManifestTeacher['kind'], folder: string, spec: TeacherSpec): Promise<string[]> {
  const named =
    kind === 'onnx-sidecar'
      ? [spec.modelPath, ...onnxExternalDataFiles(spec.modelPath)]
      : await weightFilePaths(spec.modelPath, { dtypes: kind === 'tfjs-graph' ? ['float32', 'int32'] : ['float32'] });
  const sidecars = { 'onnx-sidecar': ['model.json'], 'tfjs-graph': ['model.json', GRAPH_PREPROCESS_FILE], 'mobilenet-v1': ['model.json', 'metadata.json'] }[kind];
  const present = sidecars.filter((file) => existsSync(join(folder, file)));
  return [...new Set([...present, ...named.map((path) => relative(folder, path))])];
}

function statOrNull(path: string): ReturnType<typeof statSync> | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
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
