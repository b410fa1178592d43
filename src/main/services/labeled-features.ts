/**
 * The candidate features of a project's human-labeled images for one teacher, grouped by class:
 * what comparisons and trained heads learn from. Images not in the cache are extracted first.
 */
import type { ExtractionProgress } from '../features/extraction';
import type { Pooling } from '../core/pooling-spec';
import type { FeatureLayer } from '../engines/feature-extractor';
import { candidatePlan, loadCandidateFeatures } from '../features/candidate-features';
import type { FeatureSet } from '../atl/features';
import type { OpenTeacher } from '../models/teacher-service';
import type { Project } from './project';

export interface LabeledFeatures {
  features: FeatureSet;
  /** Per class that has labeled images (in the project's class order): its id, name, color, and its rows. */
  classes: { id: number; name: string; color: string; rows: number[] }[];
  /** Per row of `features`: the image. */
  imageIds: number[];
  failures: { path: string; reason: string }[];
  cancelled: boolean;
}

export async function loadLabeledFeatures(
  project: Project,
  teacher: OpenTeacher,
  inUse: readonly FeatureLayer[],
  options: { signal?: AbortSignal; onProgress?: (pooling: Pooling, progress: ExtractionProgress) => void } = {},
): Promise<LabeledFeatures> {
  const examples = project.labels.humanExamples();
  const loaded = await loadCandidateFeatures({
    extractor: teacher.extractor,
    teacherKey: teacher.key,
    plan: candidatePlan(inUse, teacher.extractor.layers),
    cache: project.features,
    images: examples,
    signal: options.signal,
    onProgress: options.onProgress,
  });
  const classes = project.classes
    .list()
    .map((c) => ({ id: c.id, name: c.name, color: c.color, rows: loaded.rows.flatMap((item, row) => (examples[item].classId === c.id ? [row] : [])) }))
    .filter((c) => c.rows.length > 0);
  return {
    features: loaded.features,
    classes,
    imageIds: loaded.rows.map((item) => examples[item].imageId),
    failures: loaded.failures,
    cancelled: loaded.cancelled,
  };
}
