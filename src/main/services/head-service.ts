/**
 * Trained heads: a strategy fitted on every human label of the project, stored with what it needs
 * to predict later (the candidates it reads, their normalization means, its weights) and with
 * what tells the user how good it is (cross-validated accuracy on the labels) and where it came
 * from (teacher id, weights sha256).
 */
import type { HeadSummary, StrategyName } from '../../shared/contract';
import { mixSeed, meanCi95, stratifiedSplits } from '../atl/episodes';
import { runEpisodesAsync } from '../atl/evaluate';
import type { Candidate } from '../atl/features';
import type { HeadParams } from '../atl/head-params';
import { createStrategy } from '../atl/strategies';
import type { FeatureLayer } from '../engines/feature-extractor';
import type { OpenTeacher } from '../models/teacher-service';
import { StudioError } from './errors';
import { loadLabeledFeatures } from './labeled-features';
import type { Project } from './project';
import { nowIso } from './meta';
import { alignedCopy, blobOf, concatenated } from './typed-blobs';
import type { ProjectDb } from './project-db';

export const HEADS_SCHEMA = `
  CREATE TABLE heads (
    id INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused: predictions and the active head name heads by id
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    strategy TEXT NOT NULL,
    model_id TEXT NOT NULL,
    teacher_name TEXT NOT NULL,
    teacher_sha256 TEXT NOT NULL,       -- of the weights: a head is only valid on these
    teacher_key TEXT NOT NULL,          -- the feature-cache key (weights + preprocessing)
    classes TEXT NOT NULL,              -- JSON [{id,name,labels}]: output index → class
    candidates TEXT NOT NULL,           -- JSON Candidate[] in concatenation order
    weighting TEXT NOT NULL,
    means BLOB NOT NULL,                -- float64, the blocks' means concatenated
    kept BLOB,                          -- int32 kept columns (head2toe), or NULL for all
    coef BLOB NOT NULL,                 -- float64 classes × features
    intercept BLOB NOT NULL,            -- float64 classes
    cv_accuracy REAL,
    cv_ci95 REAL,
    cv_splits INTEGER NOT NULL,
    cv_confusion TEXT                   -- JSON counts[true][predicted] over the splits' held-out images, head class order
  );
`;

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
}

export interface StoredHead {
  summary: HeadSummary;
  teacherKey: string;
  candidates: Candidate[];
  params: HeadParams;
}

export class HeadService {
  constructor(private readonly db: ProjectDb) {}

  async train(
    project: Project,
    teacher: OpenTeacher,
    inUse: readonly FeatureLayer[],
    strategy: StrategyName,
    options: { name?: string; signal?: AbortSignal; onProgress?: (message: string, done: number, total: number) => void } = {},
  ): Promise<HeadSummary | null> {
    const labeled = await loadLabeledFeatures(project, teacher, inUse, {
      signal: options.signal,
      onProgress: (_, p) => options.onProgress?.(`Extracting features: ${p.cached + p.done} of ${p.total} images`, p.cached + p.done, p.total),
    });
    if (labeled.cancelled || options.signal?.aborted) return null;
    if (labeled.classes.length < 2) throw new StudioError('invalid_input', 'Training needs labeled images in at least 2 classes');
    const byClass = labeled.classes.map((c) => c.rows);

    let cv: { mean: number; ci95: number; confusion: number[][] } | null = null;
    if (byClass.filter((rows) => rows.length >= 2).length >= 2) {
      const splits = stratifiedSplits(byClass, HEAD_CV.testFraction, HEAD_CV.splits, mixSeed(HEAD_CV.seed));
      const [run] = await runEpisodesAsync(labeled.features, splits, [strategy], {
        signal: options.signal,
        onEpisode: (done) => options.onProgress?.(`Cross-validating: split ${done} of ${splits.length}`, done, splits.length),
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
    options.onProgress?.('Training on all labels', 0, 1);
    const rows = byClass.flat();
    const labels = Int32Array.from(byClass.flatMap((r, c) => r.map(() => c)));
    const params = createStrategy(strategy).fit(labeled.features.select(rows), labels).toHead();
    const candidates = params.blocks.map((b) => labeled.features.candidate(b.key));
    const classes = labeled.classes.map((c) => ({ id: c.id, name: c.name, labels: c.rows.length }));
    const result = this.db
      .prepare(
        `INSERT INTO heads (name, created_at, strategy, model_id, teacher_name, teacher_sha256, teacher_key, classes, candidates, weighting, means, kept, coef, intercept, cv_accuracy, cv_ci95, cv_splits, cv_confusion)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        options.name ?? `${strategy} · ${teacher.entry.name}`,
        nowIso(),
        strategy,
        teacher.entry.id,
        teacher.entry.name,
        teacher.weightsSha256,
        teacher.key,
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
      );
    return this.get(Number(result.lastInsertRowid)).summary;
  }

  list(): HeadSummary[] {
    return (this.db.prepare('SELECT * FROM heads ORDER BY id DESC').all() as HeadRow[]).map((row) => toSummary(row));
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
      summary: toSummary(row),
      teacherKey: row.teacher_key,
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

function toSummary(row: HeadRow): HeadSummary {
  return {
    id: row.id,
    name: row.name,
    createdAt: row.created_at,
    strategy: row.strategy,
    modelId: row.model_id,
    teacherName: row.teacher_name,
    teacherSha256: row.teacher_sha256,
    candidates: (JSON.parse(row.candidates) as Candidate[]).map((c) => c.key),
    classes: JSON.parse(row.classes),
    cvAccuracy: row.cv_accuracy,
    cvCi95: row.cv_ci95,
    cvSplits: row.cv_splits,
    cvConfusion: row.cv_confusion ? JSON.parse(row.cv_confusion) : null,
  };
}
