/**
 * The teachers use-case: list, inspect, fetch, import, remove, and the layers each one uses. The
 * Models view's handlers and the `atl-studio models` commands both call these, so the two fronts
 * always agree on what a teacher is and what an import takes.
 */
import type { MissingTeacher, TeacherDetail, TeacherInfo } from '../../shared/contract';
import type { EngineDescription } from '../engines/feature-extractor';
import type { TeacherImportOptions } from '../models/model-store';
import type { InventoryLayer, TeacherService } from '../models/teacher-service';
import { errorMessage } from '../core/errors';
import { teacherOfKey } from '../features/feature-cache';
import type { Project } from '../services/project';
import { describePreprocess, teacherDetail, teacherInfo } from './teacher-info';

/** The catalogue: every known and imported teacher, installed or not, without loading any. */
export function listTeachers(teachers: TeacherService): TeacherInfo[] {
  return teachers.store.list().map(teacherInfo);
}

/** Loads the teacher (verifying its files, starting its engine) and describes its engine and layers. */
export function inspectTeacher(teachers: TeacherService, id: string): Promise<TeacherDetail> {
  return teacherDetail(teachers, id);
}

/** A teacher as `atl-studio models` lists it: loaded when installed, else why not. */
export interface TeacherSurvey extends TeacherInfo {
  engine: EngineDescription | null;
  preprocess: string | null;
  layers: InventoryLayer[];
}

/** Every teacher, each installed one loaded with its engine and layers; one that fails carries why, and never hides the others. */
export async function surveyTeachers(teachers: TeacherService): Promise<TeacherSurvey[]> {
  const surveyed: TeacherSurvey[] = [];
  for (const info of listTeachers(teachers)) {
    const empty = { engine: null, preprocess: null, layers: [] };
    if (!info.installed && !info.problem) {
      surveyed.push({ ...info, ...empty, problem: `not installed: run \`atl-studio models fetch ${info.id}\`` });
      continue;
    }
    try {
      const { teacher, layers } = await teachers.inventory(info.id);
      surveyed.push({ ...info, engine: teacher.extractor.describe(), preprocess: describePreprocess(teacher.spec.preprocess), layers });
    } catch (error) {
      surveyed.push({ ...info, ...empty, problem: errorMessage(error) });
    }
  }
  return surveyed;
}

/** Installs a known teacher (the default when `id` is left out): downloaded, or copied from a local copy offline. */
export async function fetchTeacher(
  teachers: TeacherService,
  id: string | undefined,
  log: (line: string) => void = () => undefined,
): Promise<{ id: string; how: 'present' | 'downloaded' | 'copied'; dir: string }> {
  const target = id ?? teachers.store.defaultId;
  const how = await teachers.store.fetch(target, log);
  return { id: target, how, dir: teachers.store.get(target).dir! };
}

/**
 * Imports a teacher: a TF.js folder, an .onnx with its model.json sidecar, or a bare .onnx image
 * backbone whose layers are found from its graph (`preprocess` and `size` apply to that one only).
 */
export async function importTeacher(teachers: TeacherService, path: string, options: TeacherImportOptions = {}): Promise<TeacherInfo> {
  return teacherInfo(await teachers.store.import(path, options));
}

/** Removes a teacher the studio installed in its home; returns what was left in its folder (files not its own). */
export async function removeTeacher(teachers: TeacherService, id: string): Promise<string[]> {
  await teachers.forget(id);
  return teachers.store.remove(id);
}

/**
 * The teachers the project's cached features and trained heads came from (their ids and weights'
 * sha256, as the project records them) that are not installed, each with how to install it. The
 * project keeps everything: with the same teacher back (same id, same weights), its features and
 * heads work again.
 */
export function missingTeachers(teachers: TeacherService, project: Project): MissingTeacher[] {
  const used = teachersUsedBy(project);
  const catalogue = new Map(teachers.store.list().map((t) => [t.id, t]));
  return [...used]
    .filter(([id]) => {
      const entry = catalogue.get(id);
      return !entry || entry.dir === null || entry.problem !== null;
    })
    .map(([id, teacher]) => {
      const what = [teacher.features ? 'cached features' : '', teacher.heads > 0 ? `${teacher.heads} trained head${teacher.heads === 1 ? '' : 's'}` : '']
        .filter(Boolean)
        .join(' and ');
      const how = catalogue.get(id)?.source === 'manifest'
        ? `install it with \`atl-studio models fetch ${id}\``
        : `import its model file again under the same id (\`atl-studio models import <file> --id ${id}\`, or the Models view)`;
      const portable = 'or, with a portable copy of the project (`atl-studio pack`), `atl-studio unpack <file> --out <project.atl>` installs its teachers';
      const message = `This project's ${what} came from the teacher '${id}' (weights sha256 ${teacher.weightsSha256.slice(0, 16)}…), which is not installed: ${how}; ${portable}. Nothing in the project was deleted.`;
      return { id, ...teacher, message };
    });
}

/** The teachers the project's cached features and trained heads came from, by id, with the weights' sha256 (or its start) the project records. */
export function teachersUsedBy(project: Project): Map<string, { weightsSha256: string; features: boolean; heads: number }> {
  const used = new Map<string, { weightsSha256: string; features: boolean; heads: number }>();
  const use = (id: string) => used.get(id) ?? used.set(id, { weightsSha256: '', features: false, heads: 0 }).get(id)!;
  for (const key of project.features.teacherKeys()) {
    const { id, weightsSha256Prefix } = teacherOfKey(key);
    const teacher = use(id);
    teacher.features = true;
    teacher.weightsSha256 ||= weightsSha256Prefix;
  }
  // Every teacher a head reads (a head on several teachers needs them all).
  for (const { id } of project.heads.list()) {
    for (const { id: teacherId, sha256 } of project.heads.get(id).teachers) {
      const teacher = use(teacherId);
      teacher.heads += 1;
      teacher.weightsSha256 = sha256;
    }
  }
  return used;
}

/** Chooses which of the teacher's layers features are extracted from. */
export async function setTeacherLayers(teachers: TeacherService, id: string, layers: string[]): Promise<TeacherDetail> {
  await teachers.setEnabledLayers(id, layers);
  return teacherDetail(teachers, id);
}
