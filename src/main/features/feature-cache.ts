/**
 * Pooled feature vectors, computed once and kept: one float32 blob per image × teacher × layer ×
 * pooling. The key holds the image's sha256 and a teacher key made of the teacher's id, the
 * sha256 of its weights and a hash of its preprocessing, so new weights or a changed
 * preprocessing never serve stale vectors. The same tables live in a project file (migration 2)
 * or in a standalone cache file (benchmarks).
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { PREPROCESSING_VERSION, type PreprocessSpec } from '../engines/preprocess';
import { migration } from '../services/migrations';
import { alignedCopy, blobOf } from '../services/typed-blobs';
import type { Pooling } from '../core/pooling-spec';

/** Bumped when decoding, preprocessing or pooling code changes what a vector holds. */
export const FEATURE_PIPELINE_VERSION = 1;

/**
 * `quantized`: the teacher has int8 kernels, now computed with their exact integers on every engine
 * (engines/exact-integers.ts); its key differs from the one its vectors had when ONNX Runtime's
 * saturating kernels computed them, so those are never mixed with the exact ones. Other keys are unchanged.
 */
export function teacherKey(id: string, weightsSha256: string, preprocess: PreprocessSpec, quantized = false): string {
  const recipe = createHash('sha256')
    .update(JSON.stringify({ preprocess, version: FEATURE_PIPELINE_VERSION, preprocessing: PREPROCESSING_VERSION, ...(quantized ? { integers: 'exact' } : {}) }))
    .digest('hex');
  return `${id}@${weightsSha256.slice(0, 16)}.${recipe.slice(0, 12)}`;
}

/** The teacher id and the start of its weights' sha256 in a key made by `teacherKey`. */
export function teacherOfKey(key: string): { id: string; weightsSha256Prefix: string } {
  const at = key.lastIndexOf('@');
  return { id: key.slice(0, at), weightsSha256Prefix: key.slice(at + 1, at + 17) };
}

export interface CachedVector {
  imageSha256: string;
  layer: string;
  vector: Float32Array;
}

export class FeatureCache {
  constructor(private readonly db: Database.Database) {}

  /** A cache in its own file, for work without a project (benchmarks, `atl-studio bench`). */
  static openFile(path: string): FeatureCache {
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.exec(migration(2).sql); // a project's feature-cache tables (IF NOT EXISTS)
    return new FeatureCache(db);
  }

  close(): void {
    this.db.close();
  }

  /** Images (by sha256) that lack at least one of `layers` for this teacher and pooling. */
  missing(imageShas: string[], key: string, layers: string[], pooling: Pooling): string[] {
    const rows = this.db
      .prepare(
        `SELECT image_sha256 AS sha, COUNT(*) AS n FROM feature_cache
          WHERE teacher_key = ? AND pooling = ? AND layer IN (SELECT value FROM json_each(?))
            AND image_sha256 IN (SELECT value FROM json_each(?))
          GROUP BY image_sha256`,
      )
      .all(key, pooling, JSON.stringify(layers), JSON.stringify(imageShas)) as { sha: string; n: number }[];
    const complete = new Set(rows.filter((row) => row.n === layers.length).map((row) => row.sha));
    return imageShas.filter((sha) => !complete.has(sha));
  }

  /** Writes a batch's vectors in one transaction: a crash keeps whole batches only. */
  put(key: string, pooling: Pooling, rows: CachedVector[]): void {
    this.writeBatch ??= this.prepareWriteBatch();
    this.writeBatch(key, pooling, rows);
  }

  /** `put`'s statements and transaction, prepared at the first put and kept: extraction puts once per batch. */
  private writeBatch?: (key: string, pooling: Pooling, rows: CachedVector[]) => void;

  private prepareWriteBatch() {
    const insert = this.db.prepare(
      `INSERT OR REPLACE INTO feature_cache (image_sha256, teacher_key, layer, pooling, dim, vector) VALUES (?, ?, ?, ?, ?, ?)`,
    );
    const clearFailure = this.db.prepare('DELETE FROM feature_failures WHERE image_sha256 = ? AND teacher_key = ?');
    return this.db.transaction((key: string, pooling: Pooling, rows: CachedVector[]) => {
      for (const row of rows) insert.run(row.imageSha256, key, row.layer, pooling, row.vector.length, blobOf(row.vector));
      for (const image of new Set(rows.map((row) => row.imageSha256))) clearFailure.run(image, key);
    });
  }

  /** Vectors of one layer for these images, in order; undefined where not cached. One query per layer. */
  get(imageShas: string[], key: string, layer: string, pooling: Pooling): (Float32Array | undefined)[] {
    const rows = this.db
      .prepare(
        `SELECT image_sha256 AS sha, vector FROM feature_cache
          WHERE teacher_key = ? AND layer = ? AND pooling = ? AND image_sha256 IN (SELECT value FROM json_each(?))`,
      )
      .all(key, layer, pooling, JSON.stringify(imageShas)) as { sha: string; vector: Buffer }[];
    const bySha = new Map(rows.map((row) => [row.sha, row.vector]));
    return imageShas.map((sha) => {
      const vector = bySha.get(sha);
      return vector ? new Float32Array(alignedCopy(vector)) : undefined;
    });
  }

  markFailed(imageSha256: string, key: string, reason: string): void {
    this.db
      .prepare('INSERT OR REPLACE INTO feature_failures (image_sha256, teacher_key, reason) VALUES (?, ?, ?)')
      .run(imageSha256, key, reason);
  }

  failures(key: string): { imageSha256: string; reason: string }[] {
    return this.db
      .prepare('SELECT image_sha256 AS imageSha256, reason FROM feature_failures WHERE teacher_key = ?')
      .all(key) as { imageSha256: string; reason: string }[];
  }

  /** The teacher keys anything is cached for. */
  teacherKeys(): string[] {
    return (this.db.prepare('SELECT DISTINCT teacher_key AS key FROM feature_cache').all() as { key: string }[]).map((r) => r.key);
  }

  /** How many images have every one of `layers` cached. */
  completeCount(key: string, layers: string[], pooling: Pooling): number {
    const row = this.db
      .prepare(
        `SELECT COUNT(*) AS n FROM (SELECT image_sha256 FROM feature_cache
           WHERE teacher_key = ? AND pooling = ? AND layer IN (SELECT value FROM json_each(?))
           GROUP BY image_sha256 HAVING COUNT(*) = ?)`,
      )
      .get(key, pooling, JSON.stringify(layers), layers.length) as { n: number };
    return row.n;
  }
}
