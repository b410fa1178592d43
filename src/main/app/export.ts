/** Use-case: a trained head as a classifier folder, and the project's predictions as a file (the Export dialog, `atl-studio export`). */
import type { ExportFormat, ExportResult } from '../../shared/contract';
import { exportHead } from '../export/export-service';
import { writePredictions } from '../export/predictions-file';
import type { TeacherService } from '../models/teacher-service';
import { openHeadTeachers } from '../services/prediction-service';
import type { Project } from '../services/project';
import { STUDIO_VERSION } from '../services/studio-version';

export interface HeadExportInput {
  headId: number;
  format: ExportFormat;
  dir: string;
  /** Copies the packages predict.mjs needs (this platform) into the folder. */
  includeRuntime: boolean;
}

/** Writes the head (with its teachers) as a classifier folder: model, labels.json, preprocessing, model card, predict.mjs. */
export async function exportTrainedHead(
  project: Project,
  teachers: TeacherService,
  { headId, format, dir, includeRuntime }: HeadExportInput,
): Promise<ExportResult> {
  const head = project.heads.get(headId);
  return exportHead(head, await openHeadTeachers(head, teachers), format, dir, STUDIO_VERSION, { includeRuntime });
}

/** Writes the active head's predictions for every image, as CSV or JSON. */
export function exportPredictions(project: Project, format: 'csv' | 'json', path: string): ExportResult {
  return writePredictions(project, format, path);
}
