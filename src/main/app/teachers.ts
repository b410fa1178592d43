/**
 * The teachers use-case: list, inspect, fetch, import, remove, and the layers each one uses. The
 * Models view's handlers and the `atl-studio models` commands both call these, so the two fronts
 * always agree on what a teacher is and what an import takes.
 */
import type { TeacherDetail, TeacherInfo } from '../../shared/contract';
import type { EngineDescription } from '../engines/feature-extractor';
import type { TeacherImportOptions } from '../models/model-store';
import type { InventoryLayer, TeacherService } from '../models/teacher-service';
import { errorMessage } from '../core/errors';
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

/** Chooses which of the teacher's layers features are extracted from. */
export async function setTeacherLayers(teachers: TeacherService, id: string, layers: string[]): Promise<TeacherDetail> {
  await teachers.setEnabledLayers(id, layers);
  return teacherDetail(teachers, id);
}
