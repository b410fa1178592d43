/**
 * Use-case: compare strategies on the project's labels in repeated few-shot episodes (the studio's
 * comparison job), for one teacher or several side by side.
 */
import type { ComparisonConfig } from '../../shared/contract';
import { planComparison } from '../atl/comparison';
import { StudioError } from '../core/errors';
import type { TeacherService } from '../models/teacher-service';
import type { TeacherToLoad } from '../services/labeled-features';
import type { Project } from '../services/project';
import { phaseClock, type JobHandle } from './job-runner';

/** A comparison stored in the project (its run id) and ready to run. */
export interface ComparisonPlan {
  runId: number;
  /** The teachers compared, the baseline first, each with its layers in use. */
  teachers: TeacherToLoad[];
}

/** The teachers a comparison config names, the baseline first: `modelIds`, or `modelId` alone. */
export function comparisonTeacherIds(config: ComparisonConfig): string[] {
  const ids = config.modelIds ?? [config.modelId];
  if (ids[0] !== config.modelId) throw new StudioError('invalid_input', `The first of modelIds (${ids[0]}) must be modelId (${config.modelId}), the baseline`);
  if (new Set(ids).size !== ids.length) throw new StudioError('invalid_input', `A teacher is named twice in ${ids.join(', ')}`);
  return ids;
}

/**
 * Checks that the labels can support the comparison (before any extraction), loads every teacher
 * and stores the comparison as a new run: fails here, before any job starts.
 */
export async function planComparisonRun(
  project: Project,
  teachers: TeacherService,
  config: ComparisonConfig,
  name?: string,
): Promise<ComparisonPlan> {
  const counts = project.classes.list().map((c) => c.shots).filter((n) => n > 0);
  planComparison(counts.map((n) => Array.from({ length: n }, (_, i) => i)), { ...config, repeats: 1 });
  const toLoad: TeacherToLoad[] = [];
  for (const id of comparisonTeacherIds(config)) toLoad.push({ teacher: await teachers.get(id), inUse: await teachers.resolveLayers(id, 'all') });
  return { runId: project.comparisons.create(config, toLoad.map((t) => t.teacher), name), teachers: toLoad };
}

/** Runs the stored comparison; its results are saved in the project as they come. */
export function runComparison(project: Project, { runId, teachers }: ComparisonPlan, { signal, report }: JobHandle): Promise<void> {
  const elapsed = phaseClock();
  return project.comparisons.run(runId, project, teachers, signal, ({ phase, done, total, message }) =>
    report({ done, processed: done, total, elapsedSeconds: elapsed(phase), message, detail: { runId } }),
  );
}
