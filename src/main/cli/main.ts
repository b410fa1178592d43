/**
 * atl-studio: the command-line front. Scripts and checks use it; every command prints a clear
 * error and exits non-zero when it fails.
 */
import { Command, CommanderError } from 'commander';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { errorMessage, StudioError } from '../core/errors';
import { Pooling } from '../../shared/contract';
import { Project } from '../services/project';
import { createServices } from '../app/composition-root';
import { extractFeatures, planExtraction } from '../app/extract-features';
import { importImages } from '../app/import-images';
import { Studio } from '../app/studio';
import { checkAccessToken, startWebServer } from '../web/server';
import { registerBenchCommand } from './bench-command';
import { registerModelsCommand } from './models-command';
import { registerTrainCommand } from './train-command';
import { registerPredictCommands } from './predict-commands';
import { registerRecoverCommand } from './recover-command';
import { registerDoctorCommand } from './doctor-command';
import { engineIdOf, setEnginePreference, webgpuAdapterOf, type EnginePreference } from '../models/engine-choice';
import { registerPortableCommands } from './portable-commands';
import { openInBrowser } from './open-browser';
import { choiceFlag, integerFlag, USAGE_ERROR } from './flags';
import { runJob, withProject } from './with-project';

const ENGINE_PREFERENCES: readonly EnginePreference[] = ['auto', 'webgpu', 'onnxruntime', 'tfjs-wasm'];

const program = new Command()
  .name('atl-studio')
  .description('ATL Studio: label a few images per class, train by adaptive transfer learning')
  .showHelpAfterError('(add --help for usage)')
  .exitOverride(); // usage errors end in the catch at the bottom, with USAGE_ERROR

/** This process's services (the composition root), handed to every command. */
const services = createServices();

program
  .command('create')
  .description('create an empty project file')
  .argument('<project>', 'path of the new .atl file')
  .action((projectPath: string) => {
    Project.create(resolve(projectPath)).close();
    console.log(`Created ${resolve(projectPath)}`);
  });

program
  .command('import')
  .description('import image files and folders (recursively) into a project')
  .argument('<project>', '.atl project file')
  .argument('<paths...>', 'folders and files')
  .option('--labels-from-folders', "label each image with its parent folder's path relative to the imported folder")
  .option('--json', 'print a JSON summary')
  .action(async (projectPath: string, paths: string[], options: { labelsFromFolders?: boolean; json?: boolean }) => {
    const started = Date.now();
    const input = { paths, labelsFromFolders: Boolean(options.labelsFromFolders) };
    const report = await withProject(projectPath, (project) =>
      runJob(services.jobs, 'import', (job) => importImages(project, input, job), { quiet: options.json }),
    );
    const seconds = (Date.now() - started) / 1000;
    const summary = {
      status: report.status,
      found: report.found,
      imported: report.imported,
      duplicates: report.duplicates,
      skipped: report.skipped,
      failed: report.failed,
      seconds,
      imagesPerSecond: report.found > 0 ? report.found / seconds : 0,
    };
    if (options.json) {
      console.log(JSON.stringify(summary, null, 2));
    } else {
      console.log(
        `${report.status}: ${report.imported} imported, ${report.duplicates} duplicates skipped, ` +
          `${report.failed.length} failed, ${report.skipped} non-image files skipped (${seconds.toFixed(1)} s)`,
      );
      for (const failure of report.failed) console.log(`  failed: ${failure.path}: ${failure.reason}`);
    }
    if (report.status === 'cancelled') process.exitCode = 130;
    else if (report.status === 'failed') process.exitCode = 1; // a path given could not be imported
  });

program
  .command('info')
  .description('show what a project holds')
  .argument('<project>', '.atl project file')
  .option('--json', 'print JSON')
  .action((projectPath: string, options: { json?: boolean }) =>
    withProject(projectPath, async (project) => {
      const { images, labeled } = project.images.count();
      const info = {
        name: project.name,
        images,
        classes: project.classes.list().map((c) => ({ name: c.name, count: c.count })),
        unlabeled: images - labeled,
      };
      if (options.json) console.log(JSON.stringify(info, null, 2));
      else {
        console.log(`${info.name}: ${images} images, ${info.classes.length} classes, ${info.unlabeled} unlabeled`);
        for (const c of info.classes) console.log(`  ${c.name}: ${c.count}`);
      }
    }),
  );

program
  .command('extract')
  .description("compute and cache the pooled features of a project's images")
  .argument('<project>', '.atl project file')
  .requiredOption('--model <id>', 'teacher id (see `atl-studio models`)')
  .option('--layers <layers>', "'all' (the teacher's layers in use) or a comma-separated list", 'all')
  .option('--pooling <pooling>', 'gap | gmp | spatial', choiceFlag('--pooling', Pooling.options), 'gap')
  .option('--batch <n>', 'images per engine run', integerFlag('--batch', 1, 1024), 8)
  .option('--engine <engine>', 'auto | webgpu | onnxruntime | tfjs-wasm (see `atl-studio doctor`)', choiceFlag('--engine', ENGINE_PREFERENCES), 'auto')
  .option('--json', 'print a JSON summary')
  .action(async (projectPath: string, options: { model: string; layers: string; pooling: Pooling; batch: number; engine: EnginePreference; json?: boolean }) => {
    const { pooling } = options;
    setEnginePreference(options.engine);
    const input = { modelId: options.model, layers: options.layers === 'all' ? ('all' as const) : options.layers.split(','), pooling, batchSize: options.batch };
    await withProject(projectPath, async (project) => {
      const plan = await planExtraction(services.teachers, input);
      const { engine, layers } = plan;
      if (!options.json) {
        console.error(`Engine: ${engine.engine} · ${engine.backend} · ${engine.device}${engine.fallbackReason ? ` (fallback: ${engine.fallbackReason})` : ''}`);
      }
      const report = await runJob(services.jobs, 'extract', (job) => extractFeatures(project, plan, input, job), { quiet: options.json });
      // After the job: a lost WebGPU device may have moved it to another engine.
      const { extractor } = await services.teachers.get(options.model);
      const summary = {
        model: options.model,
        engine: { id: engineIdOf(extractor.describe()), ...extractor.describe(), adapter: webgpuAdapterOf(extractor) },
        layers: layers.map((l) => l.name),
        pooling,
        images: report.total,
        cached: report.cached,
        computed: report.computed,
        failed: report.failures,
        seconds: report.elapsedSeconds,
        imagesPerSecond: report.imagesPerSecond,
        cancelled: report.cancelled,
      };
      if (options.json) console.log(JSON.stringify(summary, null, 2));
      else {
        console.log(
          `${report.computed} computed, ${report.cached} already cached, ${report.failures.length} failed ` +
            `(${report.elapsedSeconds.toFixed(1)} s, ${report.imagesPerSecond.toFixed(1)} images/s)`,
        );
        for (const failure of report.failures) console.log(`  failed: ${failure.path}: ${failure.reason}`);
      }
      if (report.cancelled) process.exitCode = 130;
    });
  });

program
  .command('serve')
  .description('run the studio in web mode on 127.0.0.1 (open the printed URL in a browser)')
  .option('--port <port>', 'port (default: a free one)', integerFlag('--port', 1, 65_535))
  .option('--token <token>', 'fixed access token, 22+ characters of A-Z a-z 0-9 - _ (default: a random one per launch)', checkAccessToken)
  .option('--open', 'open the URL in the default browser')
  .action(async (options: { port?: number; token?: string; open?: boolean }) => {
    const rendererDir = fileURLToPath(new URL('../../../out/renderer', import.meta.url));
    if (!existsSync(rendererDir)) throw new StudioError('not_found', 'The renderer is not built yet: run `npm run build` first.');
    const studio = new Studio({ front: 'web', services });
    await studio.start();
    const web = await startWebServer({ studio, rendererDir, port: options.port, token: options.token });
    console.log(`ATL Studio (web mode) is running. Open:\n  ${web.url}\nStudio home: ${studio.settings.home}\nPress Ctrl+C to stop.`);
    if (options.open) openInBrowser(web.url);
    await new Promise((stop) => {
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await web.close();
    await studio.dispose();
    process.exit(0);
  });

registerBenchCommand(program);
registerModelsCommand(program, services.teachers);
registerTrainCommand(program, services);
registerPredictCommands(program, services);
registerRecoverCommand(program);
registerDoctorCommand(program);
registerPortableCommands(program, services);

// A reader that stops early (`atl-studio models | head -1`) is no error: stop quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
}

program
  .parseAsync(process.argv)
  // Engines keep threads and sessions open: the command is over, let them go.
  .then(() => services.teachers.dispose())
  .catch((error: unknown) => {
    // Commander has printed its message already (a bad flag, an unknown command, --help).
    if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : USAGE_ERROR);
    console.error(`atl-studio: ${errorMessage(error)}`);
    process.exit(1);
  });
