/** Teachers as the contract shows them to the fronts: their catalogue entry, engine, layers and preprocessing. */
import type { TeacherDetail, TeacherInfo } from '../../shared/contract';
import type { PreprocessSpec } from '../engines/preprocess';
import type { TeacherEntry } from '../models/model-store';
import type { TeacherService } from '../models/teacher-service';

export function teacherInfo(entry: TeacherEntry): TeacherInfo {
  const { id, name, format, description, license, source, isDefault, problem } = entry;
  return { id, name, format, description, license, source, isDefault, installed: entry.dir !== null && problem === null, problem };
}

/** The preprocessing in one line for people: size, channel order, resize, normalization, layout. */
export function describePreprocess(spec: PreprocessSpec): string {
  const normalization =
    spec.normalization.kind === 'scale'
      ? `x·${+spec.normalization.scale.toFixed(6)} ${spec.normalization.offset < 0 ? '−' : '+'} ${Math.abs(spec.normalization.offset)}`
      : `(x/255 − mean) / std`;
  return `${spec.width}×${spec.height} ${spec.channelOrder}, ${spec.resize}, ${normalization}, ${spec.layout}`;
}

/** Loads the teacher (its engine too) and describes it with its layer inventory. */
export async function teacherDetail(teachers: TeacherService, id: string): Promise<TeacherDetail> {
  const { teacher, layers } = await teachers.inventory(id);
  const engine = teacher.extractor.describe();
  return {
    teacher: teacherInfo(teacher.entry),
    engine: { engine: engine.engine, backend: engine.backend, device: engine.device, fallbackReason: engine.fallbackReason ?? null },
    layers: layers.map((l) => ({
      name: l.name,
      channels: l.channels,
      height: l.spatialSize[0],
      width: l.spatialSize[1],
      depth: l.depth,
      penultimate: l.penultimate,
      enabled: l.enabled,
    })),
    preprocess: describePreprocess(teacher.spec.preprocess),
    weightsSha256: teacher.weightsSha256,
  };
}
