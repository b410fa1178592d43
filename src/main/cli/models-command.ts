/**
 * `atl-studio models`: the teachers (list, fetch, import, remove), through the same use-case the
 * Models view calls (app/teachers.ts).
 */
import type { Command } from 'commander';
import { fetchTeacher, importTeacher, removeTeacher, surveyTeachers } from '../app/teachers';
import { TeacherPreprocessing } from '../../shared/contract';
import { ONNX_PREPROCESSING } from '../engines/onnx-import';
import type { TeacherService } from '../models/teacher-service';
import { choiceFlag, integerFlag } from './flags';

/** `teachers`: the process's teacher service (the composition root's), disposed of by each command when it ends. */
export function registerModelsCommand(program: Command, teachers: TeacherService): Command {
  const models = program.command('models').description('teachers: list, fetch, import, remove').option('--json', 'print JSON');

  models.action(async (options: { json?: boolean }) => {
    try {
      const surveyed = await surveyTeachers(teachers);
      if (options.json) {
        const listed = surveyed.map((t) => ({
          id: t.id,
          name: t.name,
          format: t.format,
          installed: t.installed,
          default: t.isDefault,
          engine: t.engine ? { ...t.engine, available: true } : null,
          preprocess: t.preprocess,
          layers: t.layers.map((l) => ({ name: l.name, shape: l.shape, depth: l.depth, penultimate: l.penultimate, enabled: l.enabled })),
          ...(t.problem ? { problem: t.problem } : {}),
        }));
        console.log(JSON.stringify(listed, null, 2));
        return;
      }
      for (const t of surveyed) {
        const engine = t.engine ? `${t.engine.engine} · ${t.engine.backend} · ${t.engine.device}` : t.problem;
        console.log(`${t.isDefault ? '*' : ' '} ${t.id} (${t.format}): ${engine}`);
        if (t.engine?.fallbackReason) console.log(`    fallback: ${t.engine.fallbackReason}`);
        if (t.preprocess) console.log(`    input: ${t.preprocess}`);
        const enabled = t.layers.filter((l) => l.enabled);
        if (t.layers.length > 0) console.log(`    ${enabled.length} of ${t.layers.length} layers in use: ${enabled.map((l) => l.name).join(', ')}`);
      }
    } finally {
      await teachers.dispose();
    }
  });

  models
    .command('fetch')
    .description('install a teacher into the studio home: download (sha256-checked), or copy a local copy when offline')
    .argument('[id]', 'teacher id (default: the default teacher)')
    .action(async (id: string | undefined) => {
      const { id: fetched, how, dir } = await fetchTeacher(teachers, id, (line) => console.log(`  ${line}`));
      console.log(`${fetched}: ${how === 'present' ? 'already installed and verified' : how} → ${dir}`);
    });

  const kinds = TeacherPreprocessing.options.map((k) => `${k} (${ONNX_PREPROCESSING[k].text}; ${ONNX_PREPROCESSING[k].resize})`).join(', ');
  models
    .command('import')
    .description(
      'import a teacher: a TF.js layers- or graph-model folder, an .onnx file with its model.json sidecar, or any ONNX image backbone ' +
        '(its layers and penultimate are found from the graph; the source is only read)',
    )
    .argument('<path>', 'folder or .onnx file')
    .option('--id <id>', "the teacher's id (default: the file's or folder's name)")
    .option('--name <name>', "the teacher's name for people")
    .option('--preprocess <kind>', `an .onnx without sidecar: ${kinds} (default: imagenet for NCHW, inception for NHWC)`, choiceFlag('--preprocess', TeacherPreprocessing.options))
    .option('--size <n>', "an .onnx without sidecar: input size in pixels (default: the graph's)", integerFlag('--size', 8, 4096))
    .action(async (path: string, options: { id?: string; name?: string; preprocess?: TeacherPreprocessing; size?: number }) => {
      try {
        const info = await importTeacher(teachers, path, options);
        const { teacher, layers } = await teachers.inventory(info.id);
        const penultimate = layers.find((l) => l.penultimate)!;
        console.log(`Imported teacher '${info.id}' into ${teacher.entry.dir}`);
        console.log(`  ${layers.length - 1} block layers (${layers[0].name} … ${layers[layers.length - 2]?.name ?? '-'}), penultimate ${penultimate.name} (${penultimate.channels}-d)`);
      } finally {
        await teachers.dispose();
      }
    });

  models
    .command('remove')
    .description('remove a teacher the studio installed in its home (its own files only; never one loading from another folder)')
    .argument('<id>')
    .action(async (id: string) => {
      const left = await removeTeacher(teachers, id);
      console.log(`Removed teacher '${id}'${left.length > 0 ? `; its folder keeps files that are not its own: ${left.join(', ')}` : ''}`);
    });
  return models;
}
