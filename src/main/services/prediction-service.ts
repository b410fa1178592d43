/**
 * Predictions of a trained head over the project's images, and suggestions of what to label
 * next. The head runs on cached features (extracting what is missing); its predictions are stored
 * per head, and the last head run is the *active* one whose predictions the grid shows.
 */
import type { PredictionStatus, Suggestion } from '../../shared/contract';
import type { CandidatePlan } from '../features/candidate-features';
import { candidatePlan, loadCandidateFeatures, onCommonImages } from '../features/candidate-features';
import { BlockNormalizer, mergeTeacherFeatures, type Candidate, type FeatureSet } from '../atl/features';
import { headInputs, headProbabilities } from '../atl/head-params';
import { marginUncertainty, type SuggestProgress } from '../atl/suggest';
import type { FeatureExtractor } from '../engines/feature-extractor';
import type { ExtractionImage, ExtractionProgress } from '../features/extraction';
import type { FeatureCache } from '../features/feature-cache';
import type { OpenTeacher, TeacherService } from '../models/teacher-service';
import { StudioError } from '../core/errors';
import type { StoredHead } from './head-service';
import type { Project } from './project';
import { getMeta, setMeta } from './meta';
import { suggestOffThread } from './compute-thread';
import { alignedCopy, blobOf } from './typed-blobs';
import type { ProjectDb } from './project-db';

const ACTIVE_HEAD = 'active_head';
/** Images whose features a prediction holds at once (a MobileNet atl head's candidates: ~10 KB an image). */
const PREDICTION_CHUNK = 4096;

export interface ImagePrediction {
  imageId: number;
  path: string;
  classId: number;
  confidence: number;
  probabilities: Float32Array;
}

/** A label-next ranking's progress: the features it reads (extracted where missing), then the ranking itself. */
export type SuggestStep = { stage: 'features'; progress: ExtractionProgress } | { stage: 'ranking'; progress: SuggestProgress };

export interface SuggestRunOptions {
  signal?: AbortSignal;
  onProgress?: (step: SuggestStep) => void;
}

export class PredictionService {
  constructor(private readonly db: ProjectDb) {}

  get activeHeadId(): number | null {
    const value = getMeta(this.db, ACTIVE_HEAD);
    if (!value) return null;
    const id = Number(value);
    return this.db.prepare('SELECT 1 FROM heads WHERE id = ?').get(id) ? id : null;
  }

  /** Runs the head over every image and stores the predictions (replacing this head's older ones); makes it active. */
  async predict(
    project: Project,
    teachers: readonly OpenTeacher[],
    head: StoredHead,
    options: { signal?: AbortSignal; onProgress?: (progress: ExtractionProgress) => void } = {},
  ): Promise<{ predicted: number; failures: { path: string; reason: string }[]; cancelled: boolean }> {
    const images = project.images.sources();
    const { rows: predictedRows, probabilities, failures, cancelled } = await predictImages(head, teachers, project.features, images, options);
    if (cancelled) return { predicted: 0, failures, cancelled: true };
    const k = head.params.classes;
    const classIds = head.summary.classes.map((c) => c.id);
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM predictions WHERE head_id = ?').run(head.summary.id);
      const insert = this.db.prepare('INSERT INTO predictions (head_id, image_id, class_id, confidence, probabilities) VALUES (?, ?, ?, ?, ?)');
      predictedRows.forEach((item, row) => {
        const p = Float32Array.from(probabilities.subarray(row * k, (row + 1) * k));
        let best = 0;
        for (let c = 1; c < k; c++) if (p[c] > p[best]) best = c;
        insert.run(head.summary.id, images[item].id, classIds[best], p[best], blobOf(p));
      });
      setMeta(this.db, ACTIVE_HEAD, String(head.summary.id));
    })();
    return { predicted: predictedRows.length, failures, cancelled: false };
  }

  status(project: Project): PredictionStatus {
    const headId = this.activeHeadId;
    const { images } = project.images.count();
    if (headId === null) return { head: null, predicted: 0, images };
    const { n } = this.db.prepare('SELECT COUNT(*) AS n FROM predictions WHERE head_id = ?').get(headId) as { n: number };
    return { head: project.heads.get(headId).summary, predicted: n, images };
  }

  /** The active head's predictions, in image order. */
  list(): ImagePrediction[] {
    const headId = this.requireActiveHead();
    const rows = this.db
      .prepare(
        `SELECT p.image_id AS imageId, i.original_path AS path, p.class_id AS classId, p.confidence, p.probabilities
           FROM predictions p JOIN images i ON i.id = p.image_id WHERE p.head_id = ? ORDER BY p.image_id`,
      )
      .all(headId) as (Omit<ImagePrediction, 'probabilities'> & { probabilities: Buffer })[];
    return rows.map((r) => ({ ...r, probabilities: new Float32Array(alignedCopy(r.probabilities)) }));
  }

  /** The active head's predicted class for these images, leaving out classes deleted since it was trained. */
  predictedClasses(imageIds: readonly number[]): { imageId: number; classId: number }[] {
    return this.db
      .prepare(
        `SELECT p.image_id AS imageId, p.class_id AS classId
           FROM predictions p JOIN classes c ON c.id = p.class_id
          WHERE p.head_id = ? AND p.image_id IN (SELECT value FROM json_each(?)) ORDER BY p.image_id`,
      )
      .all(this.requireActiveHead(), JSON.stringify(imageIds)) as { imageId: number; classId: number }[];
  }

  private requireActiveHead(): number {
    const headId = this.activeHeadId;
    if (headId === null) throw new StudioError('not_found', 'No predictions yet: train a head and run it on the project first');
    return headId;
  }

  /**
   * Unlabeled images in the order that labeling them teaches the most: with a head (the active
   * one, else the newest), its margin uncertainty mixed with k-center diversity on the features
   * it reads (every teacher's, for a head on several); without one, diversity alone on the default
   * teacher's penultimate features. Features missing from the cache are extracted first; the
   * ranking runs on a worker thread for a large pool. Null when `signal` cancels it.
   */
  async suggest(project: Project, teachers: TeacherService, count: number, options: SuggestRunOptions = {}): Promise<Suggestion[] | null> {
    const { signal, onProgress } = options;
    const headId = this.activeHeadId ?? project.heads.list()[0]?.id ?? null;
    const head = headId === null ? null : project.heads.get(headId);
    const images = project.images.sources();
    const labeled = new Set(project.labels.labeledImageIds());
    const onFeatures = (progress: ExtractionProgress) => onProgress?.({ stage: 'features', progress });
    let loaded: { rows: number[]; features: FeatureSet; cancelled: boolean };
    // After each wait, a cancel (the project may have closed meanwhile) stops before the project is read again.
    if (head) {
      const headTeachers = await openHeadTeachers(head, teachers);
      if (signal?.aborted) return null;
      loaded = await loadHeadFeatures(head, headTeachers, project.features, images, { signal, onProgress: onFeatures });
    } else {
      const teacher = await teachers.get(teachers.store.defaultId);
      if (signal?.aborted) return null;
      const penultimate = teacher.extractor.layers.filter((l) => l.penultimate);
      loaded = await loadCandidateFeatures({
        extractor: teacher.extractor,
        teacherKey: teacher.key,
        plan: candidatePlan(penultimate, penultimate).slice(0, 1),
        cache: project.features,
        images,
        signal,
        onProgress: (_, progress) => onFeatures(progress),
      });
    }
    if (loaded.cancelled || signal?.aborted) return null;
    const rowIds = loaded.rows.map((item) => images[item].id);
    const labeledRows = rowIds.flatMap((id, row) => (labeled.has(id) ? [row] : []));
    const pool = rowIds.flatMap((id, row) => (labeled.has(id) ? [] : [row]));
    let x;
    let uncertainty: Float64Array | null = null;
    let classNames: string[] = [];
    let probabilities: Float64Array | null = null;
    if (head) {
      x = headInputs(head.params, loaded.features);
      probabilities = headProbabilities(head.params, loaded.features.select(pool));
      uncertainty = marginUncertainty(probabilities, head.params.classes);
      classNames = head.summary.classes.map((c) => c.name);
    } else {
      const key = loaded.features.penultimate.key;
      x = new BlockNormalizer([key]).fit(loaded.features).transform(loaded.features);
    }
    const poolIndex = new Map(pool.map((row, p) => [row, p]));
    const picks = await suggestOffThread(
      { features: x, labeled: labeledRows, pool, uncertainty, options: { count } },
      { signal, onProgress: (progress) => onProgress?.({ stage: 'ranking', progress }) },
    );
    if (picks === null) return null;
    return picks.map((pick) => {
      const item = loaded.rows[pick.row];
      const reasons: string[] = [];
      if (probabilities && pick.uncertainty !== null) {
        const p = poolIndex.get(pick.row)!;
        const k = classNames.length;
        const top = [...probabilities.subarray(p * k, (p + 1) * k)].map((v, c) => [v, c] as const).sort((a, b) => b[0] - a[0]);
        // A no-break space before each "%": the panel wraps these lines, never between a number and its unit.
        const share = (q: number) => `${Math.round(100 * q)}\u00a0%`;
        reasons.push(`uncertain between ${classNames[top[0][1]]} (${share(top[0][0])}) and ${classNames[top[1][1]]} (${share(top[1][0])})`);
      }
      reasons.push(pick.novelty > 0.66 ? 'unlike the labeled images' : pick.novelty > 0.33 ? 'somewhat unlike the labeled images' : 'near labeled images');
      return { imageId: images[item].id, path: images[item].path, score: pick.score, reason: reasons.join('; ') };
    });
  }
}

/**
 * A head's class probabilities for images (`rows × classes`, for the images in `rows`; images that
 * cannot be read have no row), with features from `cache` or extracted into it, `chunkSize` images at a time.
 */
export async function predictImages(
  head: StoredHead,
  teachers: readonly OpenTeacher[],
  cache: FeatureCache,
  images: readonly ExtractionImage[],
  options: { signal?: AbortSignal; onProgress?: (progress: ExtractionProgress) => void; chunkSize?: number } = {},
): Promise<{ rows: number[]; probabilities: Float64Array; failures: { path: string; reason: string }[]; cancelled: boolean }> {
  const k = head.params.classes;
  const chunkSize = options.chunkSize ?? PREDICTION_CHUNK;
  const rows: number[] = [];
  const probabilities = new Float64Array(images.length * k);
  const failures: { path: string; reason: string }[] = [];
  // Features of one chunk of images at a time: memory stays that of one chunk however large the project.
  const before = { cached: 0, done: 0, failed: 0 };
  const started = performance.now();
  const report = (p: Omit<ExtractionProgress, 'total' | 'elapsedSeconds'>) =>
    options.onProgress?.({
      total: images.length,
      cached: before.cached + p.cached,
      done: before.done + p.done,
      failed: before.failed + p.failed,
      elapsedSeconds: (performance.now() - started) / 1000,
    });
  for (let start = 0; start < images.length; start += chunkSize) {
    const chunk = images.slice(start, start + chunkSize);
    // A chunk read whole from the cache reports no extraction: it counts as cached.
    const ofChunk = { cached: chunk.length, done: 0, failed: 0 };
    const loaded = await loadHeadFeatures(head, teachers, cache, chunk, {
      signal: options.signal,
      onProgress: (p) => {
        // The extraction runs over the chunk's images missing from the cache: the others count as cached.
        Object.assign(ofChunk, { cached: chunk.length - p.total + p.cached, done: p.done, failed: p.failed });
        report(ofChunk);
      },
    });
    failures.push(...loaded.failures);
    if (loaded.cancelled) return { rows: [], probabilities: new Float64Array(0), failures, cancelled: true };
    probabilities.set(headProbabilities(head.params, loaded.features), rows.length * k);
    rows.push(...loaded.rows.map((row) => start + row));
    before.cached += ofChunk.cached;
    before.done += ofChunk.done;
    before.failed += ofChunk.failed;
    report({ cached: 0, done: 0, failed: 0 });
  }
  return { rows, probabilities: probabilities.subarray(0, rows.length * k), failures, cancelled: false };
}

/** The head's teachers (`head.teachers`, in that order), loaded. */
export async function openHeadTeachers(head: StoredHead, teachers: TeacherService): Promise<OpenTeacher[]> {
  const opened: OpenTeacher[] = [];
  for (const { id } of head.teachers) opened.push(await teachers.get(id));
  return opened;
}

/**
 * The features the head reads, from `cache` or extracted into it, each teacher's in turn: keyed as
 * the head's candidates are (several teachers merged, on the images every teacher could read).
 */
async function loadHeadFeatures(
  head: StoredHead,
  teachers: readonly OpenTeacher[],
  cache: FeatureCache,
  images: readonly ExtractionImage[],
  options: { signal?: AbortSignal; onProgress?: (progress: ExtractionProgress) => void } = {},
): Promise<{ rows: number[]; features: FeatureSet; failures: { path: string; reason: string }[]; cancelled: boolean }> {
  checkTeachers(head, teachers);
  const several = head.teachers.length > 1;
  const loaded = [];
  for (const teacher of teachers) {
    const candidates = several ? head.candidates.filter((c) => c.teacher === teacher.entry.id) : head.candidates;
    const one = await loadCandidateFeatures({
      extractor: teacher.extractor,
      teacherKey: teacher.key,
      plan: headPlan(candidates, teacher.extractor),
      cache,
      images,
      signal: options.signal,
      onProgress: (_, p) => options.onProgress?.(p),
    });
    loaded.push(one);
    if (one.cancelled) return { ...one, failures: loaded.flatMap((l) => l.failures) };
  }
  const failures = loaded.flatMap((l) => l.failures).filter((f, i, all) => all.findIndex((g) => g.path === f.path) === i);
  if (!several) return { ...loaded[0], failures };
  // Only images every teacher could read, in the same rows for every teacher.
  const common = onCommonImages(loaded);
  const parts = common.features.map((features, t) => ({ teacher: teachers[t].entry.id, features }));
  return { rows: common.images, features: mergeTeacherFeatures(parts), failures, cancelled: false };
}

/** The head's candidates as an extraction plan. */
function headPlan(candidates: readonly Candidate[], extractor: FeatureExtractor): CandidatePlan {
  const layer = (name: string) => {
    const found = extractor.layers.find((l) => l.name === name);
    if (!found) throw new StudioError('bad_file', `The head reads layer ${name}, which this teacher does not have`);
    return found;
  };
  return (['gap', 'spatial'] as const)
    .map((pooling) => [pooling, candidates.filter((c) => c.pooling === pooling).map((c) => layer(c.layer))] as CandidatePlan[number])
    .filter(([, layers]) => layers.length > 0);
}

/** A head runs only on the features it was trained on: each teacher's same weights and the same preprocessing, in its order. */
export function checkTeachers(head: StoredHead, teachers: readonly OpenTeacher[]): void {
  if (teachers.length !== head.teachers.length || teachers.some((t, i) => t.entry.id !== head.teachers[i].id)) {
    throw new StudioError('invalid_input', `Head ${head.summary.id} reads ${head.teachers.map((t) => t.id).join(', ')}; got ${teachers.map((t) => t.entry.id).join(', ')}`);
  }
  head.teachers.forEach((trained, i) => {
    const teacher = teachers[i];
    if (teacher.weightsSha256 !== trained.sha256) {
      throw new StudioError(
        'conflict',
        `Head ${head.summary.id} was trained on other weights of ${trained.name} (sha256 ${trained.sha256.slice(0, 12)}…, installed ${teacher.weightsSha256.slice(0, 12)}…): train it again`,
      );
    }
    if (teacher.key !== trained.key) {
      throw new StudioError('conflict', `Head ${head.summary.id} was trained with another preprocessing of ${trained.name}'s images: train it again`);
    }
  });
}
