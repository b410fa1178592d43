/**
 * A bench data set's candidate features for one teacher (every layer in use plus the penultimate,
 * `gap` and `spatial`, as `atl-studio bench` compares them), read from the data set's feature cache
 * (`featureCachePath`) and extracted first where missing.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createTeacherService } from '../src/main/app/composition-root';
import type { FeatureSet } from '../src/main/atl/features';
import { candidatePlan, loadCandidateFeatures } from '../src/main/features/candidate-features';
import { FeatureCache } from '../src/main/features/feature-cache';
import { scanLabeledFolder } from '../src/main/services/dataset';

export interface BenchFeatures {
  features: FeatureSet;
  /** Per class (in folder order), the rows of `features` that belong to it. */
  itemsByClass: number[][];
  classNames: string[];
  /** The teacher's engine, in words. */
  engine: string;
}

export async function loadBenchFeatures(folder: string, teacherId: string, cachePath: string): Promise<BenchFeatures> {
  const { images } = await scanLabeledFolder(folder);
  const teachers = createTeacherService();
  mkdirSync(dirname(cachePath), { recursive: true });
  const cache = FeatureCache.openFile(cachePath);
  try {
    const teacher = await teachers.get(teacherId);
    const described = teacher.extractor.describe();
    const loaded = await loadCandidateFeatures({
      extractor: teacher.extractor,
      teacherKey: teacher.key,
      plan: candidatePlan(await teachers.resolveLayers(teacherId, 'all'), teacher.extractor.layers),
      cache,
      images: images.map((i) => ({ path: i.path, sha256: createHash('sha256').update(readFileSync(i.path)).digest('hex') })),
      onProgress: (pooling, p) => process.stderr.isTTY && process.stderr.write(`\r${teacherId}: extracting ${pooling} ${p.cached + p.done}/${p.total}   `),
    });
    if (loaded.failures.length > 0) throw new Error(`${folder}: ${loaded.failures.length} images failed, e.g. ${loaded.failures[0].path}: ${loaded.failures[0].reason}`);
    const classNames = [...new Set(images.map((i) => i.className))];
    const itemsByClass = classNames.map(() => [] as number[]);
    loaded.rows.forEach((image, row) => itemsByClass[classNames.indexOf(images[image].className)].push(row));
    return { features: loaded.features, itemsByClass, classNames, engine: `${described.engine} · ${described.backend} · ${described.device}` };
  } finally {
    cache.close();
    await teachers.dispose();
  }
}
