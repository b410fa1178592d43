/**
 * `atl-studio predict`, `suggest` and `export`: a trained head's predictions, what to label next,
 * and the exported classifier, from the command line (the same services the studio calls).
 */
import { InvalidArgumentError, type Command } from 'commander';
import { ExportFormat } from '../../shared/contract';
import type { StudioServices } from '../app/composition-root';
import { exportTrainedHead } from '../app/export';
import { classifyImages, planPrediction } from '../app/predict';
import { suggestNext } from '../app/suggest';
import { choiceFlag, integerFlag } from './flags';
import { runJob, withProject } from './with-project';

function headId(value: string): number {
  const id = Number(value);
  if (!Number.isSafeInteger(id) || id < 1) throw new InvalidArgumentError('--head takes a head id (see the Heads panel or `atl-studio train`)');
  return id;
}

export function registerPredictCommands(program: Command, { teachers, jobs }: StudioServices): void {
  program
    .command('predict')
    .description("a trained head's class and confidence for the project's images, or for the images in a folder")
    .argument('<project>', '.atl project file')
    .argument('[folder]', 'images to classify instead of the project’s (not imported)')
    .requiredOption('--head <id>', 'trained head id', headId)
    .option('--json', 'print JSON')
    .action(async (projectPath: string, folder: string | undefined, options: { head: number; json?: boolean }) => {
      await withProject(projectPath, async (project) => {
        const plan = await planPrediction(project, teachers, options.head);
        const { results, cancelled } = await runJob(jobs, 'predict', (job) => classifyImages(project, plan, folder, job), { quiet: options.json });
        if (cancelled) {
          console.error('Cancelled.');
          process.exitCode = 130;
          return;
        }
        if (options.json) console.log(JSON.stringify(results, null, 2));
        else for (const r of results) console.log(r.error ? `${r.path}\terror: ${r.error}` : `${r.path}\t${r.class}\t${r.confidence!.toFixed(3)}`);
      });
    });

  program
    .command('suggest')
    .description('unlabeled images in the order that labeling them would teach the most')
    .argument('<project>', '.atl project file')
    .option('--count <n>', 'how many', integerFlag('--count', 1, 100_000), 20)
    .option('--json', 'print JSON')
    .action(async (projectPath: string, options: { count: number; json?: boolean }) => {
      await withProject(projectPath, async (project) => {
        const suggestions = await runJob(jobs, 'suggest', (job) => suggestNext(project, teachers, options.count, job), { quiet: options.json });
        if (suggestions === null) {
          console.error('Cancelled.');
          process.exitCode = 130;
          return;
        }
        if (options.json) console.log(JSON.stringify(suggestions, null, 2));
        else for (const s of suggestions) console.log(`${s.imageId}\t${s.path}\t${s.score.toFixed(3)}\t${s.reason}`);
      });
    });

  program
    .command('export')
    .description('write a trained head as a classifier folder (model, labels.json, preprocessing, model card, predict.mjs)')
    .argument('<project>', '.atl project file')
    .requiredOption('--head <id>', 'trained head id', headId)
    .option('--format <format>', 'onnx | tfjs', choiceFlag('--format', ExportFormat.options), 'onnx')
    .requiredOption('--out <dir>', 'folder to write (new, empty, or an untouched earlier export)')
    .option('--include-runtime', 'copy the packages predict.mjs needs (this platform) into the export: runs with no npm install')
    .action(async (projectPath: string, options: { head: number; format: ExportFormat; out: string; includeRuntime?: boolean }) => {
      await withProject(projectPath, async (project) => {
        const input = { headId: options.head, format: options.format, dir: options.out, includeRuntime: options.includeRuntime === true };
        const result = await exportTrainedHead(project, teachers, input);
        const head = project.heads.get(options.head).summary;
        console.log(`Exported head ${head.id} (${head.name}) to ${result.dir}:`);
        for (const f of result.files) console.log(`  ${f.name}\t${(f.bytes / 1024).toFixed(1)} KiB`);
      });
    });
}
