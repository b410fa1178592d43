/**
 * Trained heads: a strategy fitted on every human label of the project, stored with what it needs
 * to predict later (the candidates it reads, their normalization means, its weights) and with
 * what tells the user how good it is (cross-validated accuracy on the labels) and where it came
 * from (teacher id, weights sha256, the strategy's every parameter, the studio's version).
 */
import { createHash } from 'node:crypto';
import type { HeadSummary, StrategyChoice, StrategyName } from '../../shared/contract';
import { defaultParams, strategyLabel } from '../../shared/strategies';
import { mixSeed, meanCi95, stratifiedSplits } from '../atl/episodes';
import type { Candidate } from '../atl/features';
import type { HeadParams } from '../atl/head-params';
import { resolveStrategy } from '../atl/strategies';
import { StudioError } from '../core/errors';
import { fitOffThread, runEpisodesOffThread } from './compute-thread';
import { loadLabeledFeaturesOfTeachers, type TeacherToLoad } from './labeled-features';
import type { Project } from './project';
import { nowIso } from './meta';
import { alignedCopy, blobOf, concatenated } from './typed-blobs';
import type { ProjectDb } from './project-db';
import { STUDIO_VERSION } from './studio-version';

/** Ten stratified splits holding out a quarter of each class: enough for a CI, quick for every strategy. */
export const HEAD_CV = { splits: 10, testFraction: 0.25, seed: 1 };

interface HeadRow {
  id: number;
  name: string;
  created_at: string;
  strategy: StrategyName;
  model_id: string;
  teacher_name: string;
  teacher_sha256: string;
  teacher_key: string;
  classes: string;
  candidates: string;
  weighting: HeadParams['weighting'];
  means: Buffer;
  kept: Buffer | null;
  coef: Buffer;
  intercept: Buffer;
  cv_accuracy: number | null;
  cv_ci95: number | null;
  cv_splits: number;
  cv_confusion: string | null;
  labels_fingerprint: string | null;
  /** JSON: every parameter; null for heads trained before migration 7 (their strategy's defaults). */
  params: string | null;
  studio_version: string | null;
  /** JSON HeadTeacher[] of a head on several teachers; null: the one teacher of model_id … teacher_key. */
  teachers: string | null;
}

/** A teacher a head reads: its features must come from the same weights and preprocessing (`key`). */
export interface HeadTeacher {
  id: string;
  name: string;
  key: string;
  sha256: string;
}

/** What training reports: the labeled images' features, then each cross-validation split, then the fit on all labels. */
export interface TrainingProgress {
  phase: 'features' | 'cross-validation' | 'final fit';
  done: number;
  total: number;
  message: string;
}

export interface StoredHead {
  summary: HeadSummary;
  /**
   * Every teacher it reads, in training order. With several, its candidates record their teacher
   * and their keys read `teacher/layer:pooling` (`mergeTeacherFeatures`); with one, `layer:pooling`.
   */
  teachers: HeadTeacher[];
  candidates: Candidate[];
  params: HeadParams;
}

export class HeadService {
  constructor(private readonly db: ProjectDb) {}

  async train(
    project: Project,
    teachers: readonly TeacherToLoad[],
    strategy: StrategyChoice,
    options: { name?: string; signal?: AbortSignal; onProgress?: (progress: TrainingProgress) => void } = {},
  ): Promise<HeadSummary | null> {
    // A bad parameter fails here, before any feature is extracted.
    const spec = resolveStrategy(strategy);
    // The labels as they are now: the head is stale once they differ.
    const fingerprint = labelsFingerprint(this.db);
    const loaded = await loadLabeledFeaturesOfTeachers(project, teachers, {
      signal: options.signal,
      onProgress: (teacher, _, p) =>
        options.onProgress?.({
          phase: 'features',
          done: p.cached + p.done,
          total: p.total,
          message: `Step 1 of 3, features of the labeled images${teachers.length > 1 ? ` (${teacher.entry.name})` : ''}: ${p.cached + p.done} of ${p.total}`,
        }),
    });
    if (loaded.cancelled || options.signal?.aborted) return null;
    // One teacher: its own keys (`layer:pooling`), as heads always had; several: the merged set.
    const labeled = teachers.length === 1 ? { ...loaded, features: loaded.teachers[0].features } : loaded;
    if (labeled.classes.length < 2) throw new StudioError('invalid_input', 'Training needs labeled images in at least 2 classes');
    const byClass = labeled.classes.map((c) => c.rows);

    let cv: { mean: number; ci95: number; confusion: number[][] } | null = null;
    if (byClass.filter((rows) => rows.length >= 2).length >= 2) {
      const splits = stratifiedSplits(byClass, HEAD_CV.testFraction, HEAD_CV.splits, mixSeed(HEAD_CV.seed));
      const [run] = await runEpisodesOffThread(labeled.features, splits, [spec], {
        signal: options.signal,
        onEpisode: (done) =>
          options.onProgress?.({
            phase: 'cross-validation',
            done,
            total: splits.length,
            message: `Step 2 of 3, cross-validation (how good it is): split ${done} of ${splits.length}`,
          }),
      });
      if (options.signal?.aborted) return null;
      // Splits keep only classes with ≥ 2 labels; their episode labels map back through `classes`.
      const confusion = byClass.map(() => new Array<number>(byClass.length).fill(0));
      run.predictions.forEach((predicted, e) => {
        const { classes, queryLabels } = splits[e];
        predicted.forEach((p, q) => confusion[classes[queryLabels[q]]][classes[p]]++);
      });
      cv = { ...meanCi95(run.accuracies), confusion };
    }
    options.onProgress?.({ phase: 'final fit', done: 0, total: 1, message: `Step 3 of 3, final fit on all ${labeled.imageIds.length} labels` });
    // A small fit runs on this thread without yielding: let the step's progress reach the fronts first.
    await new Promise((resolve) => setImmediate(resolve));
    const rows = byClass.flat();
    const labels = Int32Array.from(byClass.flatMap((r, c) => r.map(() => c)));
    const params = await fitOffThread(labeled.features.select(rows), labels, spec, options.signal);
    if (!params) return null;
    const candidates = params.blocks.map((b) => labeled.features.candidate(b.key));
    const classes = labeled.classes.map((c) => ({ id: c.id, name: c.name, labels: c.rows.length }));
    const headTeachers: HeadTeacher[] = teachers.map(({ teacher }) => ({ id: teacher.entry.id, name: teacher.entry.name, key: teacher.key, sha256: teacher.weightsSha256 }));
    const [first] = headTeachers;
    const result = this.db
      .prepare(
        `INSERT INTO heads (name, created_at, strategy, model_id, teacher_name, teacher_sha256, teacher_key, classes, candidates, weighting, means, kept, coef, intercept, cv_accuracy, cv_ci95, cv_splits, cv_confusion, labels_fingerprint, params, studio_version, teachers)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        options.name ?? `${strategyLabel(spec)} · ${headTeachers.map((t) => t.name).join(' + ')}`,
        nowIso(),
        spec.name,
        first.id,
        first.name,
        first.sha256,
        first.key,
        JSON.stringify(classes),
        JSON.stringify(candidates),
        params.weighting,
        blobOf(concatenated(params.blocks.map((b) => b.mean), (n) => new Float64Array(n))),
        params.kept ? blobOf(params.kept) : null,
        blobOf(params.coef),
        blobOf(params.intercept),
        cv?.mean ?? null,
        cv?.ci95 ?? null,
        cv ? HEAD_CV.splits : 0,
        cv ? JSON.stringify(cv.confusion) : null,
        fingerprint,
        JSON.stringify(spec.params),
        STUDIO_VERSION,
        headTeachers.length > 1 ? JSON.stringify(headTeachers) : null,
      );
    return this.get(Number(result.lastInsertRowid)).summary;
  }

  list(): HeadSummary[] {
    const labels = currentLabels(this.db);
    return (this.db.prepare('SELECT * FROM heads ORDER BY id DESC').all() as HeadRow[]).map((row) => toSummary(row, labels));
  }

  get(id: number): StoredHead {
    const row = this.db.prepare('SELECT * FROM heads WHERE id = ?').get(id) as HeadRow | undefined;
    if (!row) throw new StudioError('not_found', `No trained head ${id}`);
    const candidates = JSON.parse(row.candidates) as Candidate[];
    const means = new Float64Array(alignedCopy(row.means));
    let offset = 0;
    const blocks = candidates.map((c) => {
      const mean = means.slice(offset, offset + c.dim);
      offset += c.dim;
      return { key: c.key, mean };
    });
    const classes = (JSON.parse(row.classes) as unknown[]).length;
    return {
      summary: toSummary(row, currentLabels(this.db)),
      teachers: teachersOf(row),
      candidates,
      params: {
        blocks,
        weighting: row.weighting,
        kept: row.kept ? new Int32Array(alignedCopy(row.kept)) : null,
        classes,
        coef: new Float64Array(alignedCopy(row.coef)),
        intercept: new Float64Array(alignedCopy(row.intercept)),
      },
    };
  }

  delete(id: number): void {
    if (this.db.prepare('DELETE FROM heads WHERE id = ?').run(id).changes === 0) throw new StudioError('not_found', `No trained head ${id}`);
  }
}

/**
 * A digest of every human label (image, class id and class name): adding, removing or moving a
 * label, or renaming, merging or deleting a class, changes it; undoing back to the same labels
 * gives it back.
 */
export function labelsFingerprint(db: ProjectDb): string {
  const hash = createHash('sha256');
  const rows = db
    .prepare(`SELECT l.image_id, l.class_id, c.name FROM labels l JOIN classes c ON c.id = l.class_id WHERE l.source = 'human' ORDER BY l.image_id`)
    .raw()
    .iterate() as IterableIterator<[number, number, string]>;
  for (const [imageId, classId, name] of rows) hash.update(`${imageId}\t${classId}\t${name}\n`);
  return hash.digest('hex');
}

interface CurrentLabels {
  fingerprint: string;
  /** Per class id: its name and human labels now. */
  classes: Map<number, { name: string; labels: number }>;
}

function currentLabels(db: ProjectDb): CurrentLabels {
  const classes = db
    .prepare(`SELECT c.id, c.name, COUNT(l.image_id) AS labels FROM classes c LEFT JOIN labels l ON l.class_id = c.id AND l.source = 'human' GROUP BY c.id`)
    .all() as { id: number; name: string; labels: number }[];
  return { fingerprint: labelsFingerprint(db), classes: new Map(classes.map((c) => [c.id, c])) };
}

/** What changed in the labels since the head was trained, for people; null when nothing did (or it was not recorded). */
function staleReason(row: HeadRow, now: CurrentLabels): string | null {
  if (row.labels_fingerprint === null || row.labels_fingerprint === now.fingerprint) return null;
  const trained = JSON.parse(row.classes) as { id: number; name: string; labels: number }[];
  const changes = trained.flatMap(({ id, name, labels }) => {
    const current = now.classes.get(id);
    if (!current) return [`${name} was deleted or merged`];
    const renamed = current.name !== name ? [`${name} was renamed ${current.name}`] : [];
    const counted = current.labels !== labels ? [`${current.name}: ${labels} → ${current.labels} labels`] : [];
    return [...renamed, ...counted];
  });
  const known = new Set(trained.map((c) => c.id));
  for (const [id, c] of now.classes) if (!known.has(id) && c.labels > 0) changes.push(`${c.name} is new (${c.labels} labels)`);
  // Same classes and counts: labels moved between classes or to other images.
  if (changes.length === 0) return 'labels were changed since it was trained';
  return changes.length > 3 ? `${changes.slice(0, 3).join('; ')}; and ${changes.length - 3} more changes` : changes.join('; ');
}

function teachersOf(row: HeadRow): HeadTeacher[] {
  return row.teachers ? JSON.parse(row.teachers) : [{ id: row.model_id, name: row.teacher_name, key: row.teacher_key, sha256: row.teacher_sha256 }];
}

function toSummary(row: HeadRow, labels: CurrentLabels): HeadSummary {
  return {
    id: row.id,
    name: row.name,
    createdAt: row.created_at,
    strategy: row.strategy,
    params: row.params ? JSON.parse(row.params) : defaultParams(row.strategy),
    studioVersion: row.studio_version,
    modelId: row.model_id,
    teacherName: row.teacher_name,
    teacherSha256: row.teacher_sha256,
    teachers: teachersOf(row).map(({ id, name }) => ({ id, name })),
    candidates: (JSON.parse(row.candidates) as Candidate[]).map((c) => c.key),
    classes: JSON.parse(row.classes),
    cvAccuracy: row.cv_accuracy,
    cvCi95: row.cv_ci95,
    cvSplits: row.cv_splits,
    cvConfusion: row.cv_confusion ? JSON.parse(row.cv_confusion) : null,
    staleReason: staleReason(row, labels),
  };
}
