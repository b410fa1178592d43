/**
 * `atl-studio predict`, `suggest` and `export`: a trained head's predictions, what to label next,
 * and the exported classifier, from the command line (the same services the studio calls).
 */
import { InvalidArgumentError, type Command } from 'commander';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ExportFormat } from '../../shared/contract';
import { scanLabeledFolder } from '../services/dataset';
import { exportHead } from '../export/export-service';
import { FeatureCache } from '../features/feature-cache';
import { predictImages } from '../services/prediction-service';
import { STUDIO_VERSION } from '../services/studio-version';
import { choiceFlag, integerFlag } from './flags';
import { withProject } from './with-project';

function headId(value: string): number {
  const id = Number(value);
  if (!Number.isSafeInteger(id) || id < 1) throw new InvalidArgumentError('--head takes a head id (see the Heads panel or `atl-studio train`)');
  return id;
}

export function registerPredictCommands(program: Command): void {
  program
    .command('predict')
    .description("a trained head's class and confidence for the project's images, or for the images in a folder")
    .argument('<project>', '.atl project file')
    .argument('[folder]', 'images to classify instead of the project’s (not imported)')
    .requiredOption('--head <id>', 'trained head id', headId)
    .option('--json', 'print JSON')
    .action(async (projectPath: string, folder: string | undefined, options: { head: number; json?: boolean }) => {
      await withProject(projectPath, async (project, teachers) => {
        const head = project.heads.get(options.head);
        const teacher = await teachers.get(head.summary.modelId);
        let images: { path: string; sha256: string }[];
        let cache: FeatureCache;
        let temporary: FeatureCache | null = null;
        let temporaryPath = '';
        if (folder) {
          const { images: labeled, unlabeled } = scanLabeledFolder(resolve(folder));
          images = [...unlabeled, ...labeled.map((i) => i.path)].sort().map((path) => ({ path, sha256: createHash('sha256').update(readFileSync(path)).digest('hex') }));
          // Outside images must not grow the project: their features go to a cache in the temp folder.
          temporaryPath = join(tmpdir(), `atl-studio-predict-${process.pid}.sqlite`);
          temporary = cache = FeatureCache.openFile(temporaryPath);
        } else {
          images = project.images.sources();
          cache = project.features;
        }
        try {
          const { rows, probabilities, failures } = await predictImages(head, teacher, cache, images);
          const k = head.params.classes;
          const results: { path: string; class?: string; confidence?: number; error?: string }[] = rows.map((item, row) => {
            const p = probabilities.subarray(row * k, (row + 1) * k);
            let best = 0;
            for (let c = 1; c < k; c++) if (p[c] > p[best]) best = c;
            return { path: images[item].path, class: head.summary.classes[best].name, confidence: p[best] };
          });
          results.push(...failures.map((f) => ({ path: f.path, error: f.reason })));
          if (options.json) console.log(JSON.stringify(results, null, 2));
          else for (const r of results) console.log(r.error ? `${r.path}\terror: ${r.error}` : `${r.path}\t${r.class}\t${r.confidence!.toFixed(3)}`);
        } finally {
          temporary?.close();
          for (const suffix of ['', '-wal', '-shm']) if (temporaryPath) rmSync(`${temporaryPath}${suffix}`, { force: true });
        }
      });
    });

  program
    .command('suggest')
    .description('unlabeled images in the order that labeling them would teach the most')
    .argument('<project>', '.atl project file')
    .option('--count <n>', 'how many', integerFlag('--count', 1, 100_000), 20)
    .option('--json', 'print JSON')
    .action(async (projectPath: string, options: { count: number; json?: boolean }) => {
      await withProject(projectPath, async (project, teachers) => {
        const suggestions = await project.predictions.suggest(project, teachers, options.count);
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
      await withProject(projectPath, async (project, teachers) => {
        const head = project.heads.get(options.head);
        const result = await exportHead(head, await teachers.get(head.summary.modelId), options.format, options.out, STUDIO_VERSION, {
          includeRuntime: options.includeRuntime === true,
        });
        console.log(`Exported head ${head.summary.id} (${head.summary.name}) to ${result.dir}:`);
        for (const f of result.files) console.log(`  ${f.name}\t${(f.bytes / 1024).toFixed(1)} KiB`);
      });
    });
}
