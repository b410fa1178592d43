/**
 * atl-studio: the command-line front. Scripts and checks use it; every command prints a clear
 * error and exits non-zero when it fails.
 */
import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { errorMessage, StudioError } from '../services/errors';
import type { ImportProgress } from '../services/import-service';
import { Project } from '../services/project';
import { defaultHome } from '../services/settings-service';
import { Studio } from '../services/studio';
import { startWebServer } from '../web/server';
import { openInBrowser } from './open-browser';

const program = new Command()
  .name('atl-studio')
  .description('ATL Studio: label a few images per class, train by adaptive transfer learning')
  .showHelpAfterError();

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
    const project = Project.open(resolve(projectPath));
    const controller = new AbortController();
    process.once('SIGINT', () => controller.abort());
    const started = Date.now();
    try {
      const report = await project.imports.run({
        roots: paths,
        labelsFromFolders: Boolean(options.labelsFromFolders),
        signal: controller.signal,
        onProgress: options.json || !process.stderr.isTTY ? undefined : printProgress,
      });
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
        if (process.stderr.isTTY) process.stderr.write('\n');
        console.log(
          `${report.status}: ${report.imported} imported, ${report.duplicates} duplicates skipped, ` +
            `${report.failed.length} failed, ${report.skipped} non-image files skipped (${seconds.toFixed(1)} s)`,
        );
        for (const failure of report.failed) console.log(`  failed: ${failure.path}: ${failure.reason}`);
      }
      if (report.status === 'cancelled') process.exitCode = 130;
    } finally {
      project.close();
    }
  });

program
  .command('info')
  .description('show what a project holds')
  .argument('<project>', '.atl project file')
  .option('--json', 'print JSON')
  .action((projectPath: string, options: { json?: boolean }) => {
    const project = Project.open(resolve(projectPath));
    try {
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
    } finally {
      project.close();
    }
  });

program
  .command('serve')
  .description('run the studio in web mode on 127.0.0.1 (open the printed URL in a browser)')
  .option('--port <port>', 'port (default: a free one)', (value) => Number.parseInt(value, 10))
  .option('--token <token>', 'fixed access token (default: a random one per launch)')
  .option('--open', 'open the URL in the default browser')
  .action(async (options: { port?: number; token?: string; open?: boolean }) => {
    const rendererDir = fileURLToPath(new URL('../../../out/renderer', import.meta.url));
    if (!existsSync(rendererDir)) throw new StudioError('not_found', 'The renderer is not built yet: run `npm run build` first.');
    const studio = new Studio({ home: defaultHome(), front: 'web' });
    await studio.start();
    const web = await startWebServer({ studio, rendererDir, port: options.port, token: options.token });
    console.log(`ATL Studio (web mode) is running. Open:\n  ${web.url}\nStudio home: ${studio.settings.home}\nPress Ctrl+C to stop.`);
    if (options.open) openInBrowser(web.url);
    const stop = async () => {
      await web.close();
      await studio.dispose();
      process.exit(0);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });

function printProgress(p: ImportProgress): void {
  const rate = p.elapsedSeconds > 0 ? p.done / p.elapsedSeconds : 0;
  const eta = rate > 0 ? Math.round((p.found - p.done) / rate) : 0;
  process.stderr.write(
    `\r${p.done}/${p.found} files · ${rate.toFixed(0)} img/s · ETA ${eta}s · ${p.imported} new, ${p.duplicates} dup, ${p.failed} failed   `,
  );
}

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(`atl-studio: ${errorMessage(error)}`);
  process.exit(1);
});
