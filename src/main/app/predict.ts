/**
 * Use-case: a trained head's predictions, stored for the project's images (the studio's prediction
 * job) or printed for the project's or a folder's images (`atl-studio predict`).
 */
import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ExtractionProgress } from '../features/extraction';
import { FeatureCache } from '../features/feature-cache';
import type { OpenTeacher, TeacherService } from '../models/teacher-service';
import { scanLabeledFolder } from '../services/dataset';
import type { StoredHead } from '../services/head-service';
import { openHeadTeachers, predictImages } from '../services/prediction-service';
import type { Project } from '../services/project';
import { extractionReport, type JobHandle } from './job-runner';

export interface PredictionPlan {
  head: StoredHead;
  /** Its teachers, in the head's order. */
  teachers: OpenTeacher[];
}

/** One image's predicted class and confidence, or why it could not be read. */
export interface ClassifiedImage {
  path: string;
  class?: string;
  confidence?: number;
  error?: string;
}

/** The features' progress of a prediction with `head`, as the job's report. */
function progressOf(head: StoredHead, report: JobHandle['report']): (progress: ExtractionProgress) => void {
  return (p) => report(extractionReport(p, `Predicting with ${head.summary.name}: features of ${p.cached + p.done} of ${p.total} images`));
}

/** Finds the head and loads its teachers: fails here, before any job starts. */
export async function planPrediction(project: Project, teachers: TeacherService, headId: number): Promise<PredictionPlan> {
  const head = project.heads.get(headId);
  return { head, teachers: await openHeadTeachers(head, teachers) };
}

/** Runs the head over every image of the project and stores its predictions (the head becomes the active one). */
export function predictProject(project: Project, { head, teachers }: PredictionPlan, { signal, report }: JobHandle) {
  return project.predictions.predict(project, teachers, head, {
    signal,
    onProgress: progressOf(head, report),
  });
}

/**
 * The head's class and confidence for the project's images, or for the images in `folder`, without
 * storing anything: a folder's images are not imported, and their features go to a cache in the
 * temp folder, so outside images never grow the project.
 */
export async function classifyImages(
  project: Project,
  { head, teachers }: PredictionPlan,
  folder: string | undefined,
  { signal, report }: JobHandle,
): Promise<{ results: ClassifiedImage[]; cancelled: boolean }> {
  let images: { path: string; sha256: string }[];
  let cache: FeatureCache;
  let temporaryPath = '';
  if (folder) {
    const { images: labeled, unlabeled } = await scanLabeledFolder(resolve(folder));
    images = [...unlabeled, ...labeled.map((i) => i.path)].sort().map((path) => ({ path, sha256: createHash('sha256').update(readFileSync(path)).digest('hex') }));
    temporaryPath = join(tmpdir(), `atl-studio-predict-${process.pid}.sqlite`);
    cache = FeatureCache.openFile(temporaryPath);
  } else {
    images = project.images.sources();
    cache = project.features;
  }
  try {
    const { rows, probabilities, failures, cancelled } = await predictImages(head, teachers, cache, images, {
      signal,
      onProgress: progressOf(head, report),
    });
    const k = head.params.classes;
    const results: ClassifiedImage[] = rows.map((item, row) => {
      const p = probabilities.subarray(row * k, (row + 1) * k);
      let best = 0;
      for (let c = 1; c < k; c++) if (p[c] > p[best]) best = c;
      return { path: images[item].path, class: head.summary.classes[best].name, confidence: p[best] };
    });
    results.push(...failures.map((f) => ({ path: f.path, error: f.reason })));
    return { results, cancelled };
  } finally {
    if (folder) {
      cache.close();
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${temporaryPath}${suffix}`, { force: true });
    }
  }
}
