/** Use-case: compare strategies on the project's labels in repeated few-shot episodes (the studio's comparison job). */
import type { ComparisonConfig } from '../../shared/contract';
import { planComparison } from '../atl/comparison';
import type { FeatureLayer } from '../engines/feature-extractor';
import type { OpenTeacher, TeacherService } from '../models/teacher-service';
import type { Project } from '../services/project';
import { phaseClock, type JobHandle } from './job-runner';

/** A comparison stored in the project (its run id) and ready to run. */
export interface ComparisonPlan {
  runId: number;
  teacher: OpenTeacher;
  layers: FeatureLayer[];
}

/**
 * Checks that the labels can support the comparison (before any extraction), loads the teacher
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
  const teacher = await teachers.get(config.modelId);
  const layers = await teachers.resolveLayers(config.modelId, 'all');
  return { runId: project.comparisons.create(config, teacher, name), teacher, layers };
}

/** Runs the stored comparison; its results are saved in the project as they come. */
export function runComparison(project: Project, { runId, teacher, layers }: ComparisonPlan, { signal, report }: JobHandle): Promise<void> {
  const elapsed = phaseClock();
  return project.comparisons.run(runId, project, teacher, layers, signal, ({ phase, done, total, message }) =>
    report({ done, processed: done, total, elapsedSeconds: elapsed(phase), message, detail: { runId } }),
  );
}
