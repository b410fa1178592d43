/**
 * The candidate features of a project's human-labeled images, for one teacher or several, grouped
 * by class: what comparisons and trained heads learn from. Images not in the cache are extracted
 * first. With several teachers only the images every teacher has features for take part, in the
 * same rows for every teacher, so that everything learned from them is paired.
 */
import type { ExtractionProgress } from '../features/extraction';
import type { Pooling } from '../core/pooling-spec';
import type { FeatureLayer } from '../engines/feature-extractor';
import { candidatePlan, loadCandidateFeatures, onCommonImages, type CandidateFeatures } from '../features/candidate-features';
import { mergeTeacherFeatures, type FeatureSet } from '../atl/features';
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

export interface LabeledFeaturesOfTeachers extends LabeledFeatures {
  /**
   * Every teacher's candidates together (`mergeTeacherFeatures`: keys `teacherId/layer:pooling`, the
   * first teacher's penultimate is the set's), on the rows every teacher has.
   */
  features: FeatureSet;
  /** Each teacher's own candidates (keys `layer:pooling`) on the same rows, in the order asked for. */
  teachers: { teacher: OpenTeacher; features: FeatureSet }[];
}

export interface TeacherToLoad {
  teacher: OpenTeacher;
  /** Its layers in use (the penultimate is added). */
  inUse: readonly FeatureLayer[];
}

export async function loadLabeledFeatures(
  project: Project,
  teacher: OpenTeacher,
  inUse: readonly FeatureLayer[],
  options: { signal?: AbortSignal; onProgress?: (pooling: Pooling, progress: ExtractionProgress) => void } = {},
): Promise<LabeledFeatures> {
  const loaded = await loadLabeledFeaturesOfTeachers(project, [{ teacher, inUse }], {
    signal: options.signal,
    onProgress: options.onProgress && ((_teacher, pooling, progress) => options.onProgress!(pooling, progress)),
  });
  return { ...loaded, features: loaded.teachers[0].features };
}

/**
 * Several teachers' features of the labeled images: each teacher extracts what its cache lacks in
 * turn (progress names the teacher), then every teacher's rows are cut to the images all of them have.
 */
export async function loadLabeledFeaturesOfTeachers(
  project: Project,
  teachers: readonly TeacherToLoad[],
  options: { signal?: AbortSignal; onProgress?: (teacher: OpenTeacher, pooling: Pooling, progress: ExtractionProgress) => void } = {},
): Promise<LabeledFeaturesOfTeachers> {
  const examples = project.labels.humanExamples();
  const loaded: CandidateFeatures[] = [];
  for (const { teacher, inUse } of teachers) {
    loaded.push(
      await loadCandidateFeatures({
        extractor: teacher.extractor,
        teacherKey: teacher.key,
        plan: candidatePlan(inUse, teacher.extractor.layers),
        cache: project.features,
        images: examples,
        signal: options.signal,
        onProgress: options.onProgress && ((pooling, progress) => options.onProgress!(teacher, pooling, progress)),
      }),
    );
    if (loaded.at(-1)!.cancelled) break;
  }
  const { images: common, features } = onCommonImages(loaded);
  const perTeacher = features.map((f, t) => ({ teacher: teachers[t].teacher, features: f }));
  const classes = project.classes
    .list()
    .map((c) => ({ id: c.id, name: c.name, color: c.color, rows: common.flatMap((item, row) => (examples[item].classId === c.id ? [row] : [])) }))
    .filter((c) => c.rows.length > 0);
  const failures = loaded.flatMap((l) => l.failures).filter((f, i, all) => all.findIndex((g) => g.path === f.path) === i);
  return {
    features: mergeTeacherFeatures(perTeacher.map(({ teacher, features }) => ({ teacher: teacher.entry.id, features }))),
    teachers: perTeacher,
    classes,
    imageIds: common.map((item) => examples[item].imageId),
    failures,
    cancelled: loaded.length < teachers.length || loaded.some((l) => l.cancelled),
  };
}
