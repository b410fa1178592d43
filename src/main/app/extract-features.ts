/** Use-case: compute and cache a teacher's pooled features of the project's images (the studio's extraction job, `atl-studio extract`). */
import type { Pooling } from '../../shared/contract';
import type { EngineDescription, FeatureLayer } from '../engines/feature-extractor';
import type { ExtractionReport } from '../features/extraction';
import type { OpenTeacher, TeacherService } from '../models/teacher-service';
import type { Project } from '../services/project';
import { extractionReport, type JobHandle } from './job-runner';

export interface ExtractionInput {
  modelId: string;
  /** 'all': the teacher's layers in use. */
  layers: 'all' | string[];
  pooling: Pooling;
  /** Images per engine run (the extraction's default when left out). */
  batchSize?: number;
}

/** The teacher loaded and its layers resolved: what the extraction will run, known before it starts. */
export interface ExtractionPlan {
  teacher: OpenTeacher;
  layers: FeatureLayer[];
  engine: EngineDescription;
}

/** Loads the teacher and checks the layers asked for: fails here, before any job starts. */
export async function planExtraction(teachers: TeacherService, { modelId, layers }: ExtractionInput): Promise<ExtractionPlan> {
  const teacher = await teachers.get(modelId);
  return { teacher, layers: await teachers.resolveLayers(modelId, layers), engine: teacher.extractor.describe() };
}

/** Extracts what the cache lacks; images cached before count as done. */
export function extractFeatures(
  project: Project,
  plan: ExtractionPlan,
  input: ExtractionInput,
  { signal, report }: JobHandle,
): Promise<ExtractionReport> {
  const { teacher, layers, engine } = plan;
  const device = `${engine.engine} · ${engine.backend} · ${engine.device}`;
  return project.extractFeatures({
    extractor: teacher.extractor,
    teacherKey: teacher.key,
    layers,
    pooling: input.pooling,
    batchSize: input.batchSize,
    signal,
    onProgress: (p) => report(extractionReport(p, `Extracting ${teacher.entry.name} features on ${device}`)),
  });
}
