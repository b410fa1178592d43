/**
 * `atl-studio export-data`, `pack` and `unpack`: the labeled data set out of the studio, and the
 * whole project with its teachers to another machine or studio home.
 */
import type { Command } from 'commander';
import { DataExportFormat, DataExportSource } from '../../shared/contract';
import type { StudioServices } from '../app/composition-root';
import { exportData } from '../app/export-data';
import { packProject, unpackProject } from '../app/pack';
import { choiceFlag } from './flags';
import { runJob, withProject } from './with-project';

const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

export function registerPortableCommands(program: Command, { teachers, jobs }: StudioServices): void {
  program
    .command('export-data')
    .description('write the labeled images out: class folders of the original files with manifest.csv, or a labels.csv / labels.json')
    .argument('<project>', '.atl project file')
    .requiredOption('--out <dir>', 'folder to write (new, empty, or an untouched earlier export: nothing else is ever overwritten)')
    .option(
      '--format <format>',
      'folders: <class>/<file> copies, bytes unchanged, plus manifest.csv (path, class, source, sha256, original_path, predicted_class, confidence); ' +
        'csv | json: one labels file with the same columns, path = the original file',
      choiceFlag('--format', DataExportFormat.options),
      'folders',
    )
    .option(
      '--source <source>',
      "human: only the labels a person gave (by hand, or imported with --labels-from-folders); all: also the active head's predictions a person accepted (source 'prediction'). Unlabeled images are never exported",
      choiceFlag('--source', DataExportSource.options),
      'human',
    )
    .option('--json', 'print JSON')
    .action(async (projectPath: string, options: { out: string; format: DataExportFormat; source: DataExportSource; json?: boolean }) => {
      await withProject(projectPath, async (project) => {
        const input = { dir: options.out, format: options.format, source: options.source };
        const result = await runJob(jobs, 'export-data', (job) => exportData(project, input, job), { quiet: options.json });
        if (options.json) console.log(JSON.stringify(result, null, 2));
        else if (result.cancelled) console.error('Cancelled: nothing was changed.');
        else {
          console.log(`Exported ${result.images} images of ${result.classes} classes (${megabytes(result.bytes)}) into ${result.dir}`);
          for (const s of result.skipped) console.log(`  left out: ${s.path}: ${s.reason}`);
        }
        if (result.cancelled) process.exitCode = 130;
      });
    });

  program
    .command('pack')
    .description('write one portable file holding the project and the teachers its features and heads use (checked by sha256 on unpack)')
    .argument('<project>', '.atl project file')
    .requiredOption('--out <file>', 'the new .atlpack file (must not exist)')
    .option('--with-images', "add the original image files (the project refers to them by path: without them the copy predicts on every image whose features are cached, but cannot extract new features or export the data set)")
    .option('--json', 'print JSON')
    .action(async (projectPath: string, options: { out: string; withImages?: boolean; json?: boolean }) => {
      await withProject(projectPath, async (project) => {
        const input = { path: options.out, withImages: options.withImages === true };
        const result = await runJob(jobs, 'pack', (job) => packProject(project, teachers, input, job), { quiet: options.json });
        if (options.json) console.log(JSON.stringify(result, null, 2));
        else if (result.cancelled) console.error('Cancelled: no file was written.');
        else {
          console.log(`Packed ${project.name} into ${result.path} (${megabytes(result.bytes)})`);
          for (const t of result.teachers) console.log(`  teacher ${t.id}: ${megabytes(t.bytes)}`);
          if (input.withImages) console.log(`  images: ${result.images}`);
          for (const m of result.missingImages) console.log(`  image left out: ${m.path}: ${m.reason}`);
        }
        if (result.cancelled) process.exitCode = 130;
      });
    });

  program
    .command('unpack')
    .description("restore a portable project as a new project file, installing the teachers this studio home lacks (one of the same id with other weights is never replaced: it refuses)")
    .argument('<file>', 'the .atlpack file')
    .requiredOption('--out <project>', 'the new .atl file (must not exist); packed images go to a new folder <name>-images beside it')
    .option('--json', 'print JSON')
    .action(async (file: string, options: { out: string; json?: boolean }) => {
      const result = await runJob(jobs, 'unpack', (job) => unpackProject(teachers, { file, out: options.out }, job), { quiet: options.json });
      if (options.json) console.log(JSON.stringify(result, null, 2));
      else if (result.cancelled) console.error('Cancelled: nothing was unpacked.');
      else {
        console.log(`Unpacked into ${result.project}`);
        for (const t of result.teachers) console.log(`  teacher ${t.id}: ${t.status === 'installed' ? 'installed' : 'already installed (same weights)'}`);
        if (result.imagesDir) console.log(`  ${result.images} images in ${result.imagesDir}`);
      }
      if (result.cancelled) process.exitCode = 130;
    });
}
