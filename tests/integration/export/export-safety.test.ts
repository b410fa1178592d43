/**
 * Export never harms files it did not write: a folder is replaced only when it holds an earlier
 * export, untouched (its .atl-export.json marker lists every file with its sha256, and nothing else
 * is there), and the swap is atomic under kill -9. Real project, real teacher, real processes.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Studio } from '../../../src/main/app/studio';
import type { HeadSummary } from '../../../src/shared/contract';
import { copyCifarClasses, REPO, tempDir } from '../../helpers/fixtures';

const run = promisify(execFile);
const CLASSES = ['airplane', 'cat', 'ship'];
const PER_CLASS = 6;

let dir: ReturnType<typeof tempDir>;
let studio: Studio;
let head: HeadSummary;
let projectPath: string;

/** Every file under `root` (links and folders included, by kind) with its bytes: a folder's exact state. */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      const name = relative(root, path);
      if (entry.isDirectory()) {
        out[`${name}/`] = 'folder';
        walk(path);
      } else out[name] = entry.isFile() ? createHash('sha256').update(readFileSync(path)).digest('hex') : 'other';
    }
  };
  walk(root);
  return out;
}

/** An export is whole when its marker lists exactly the files present, with their sizes and hashes. */
function expectWholeExport(folder: string, format: 'onnx' | 'tfjs' = 'onnx'): void {
  const marker = JSON.parse(readFileSync(join(folder, '.atl-export.json'), 'utf8')) as { files: { name: string; bytes: number; sha256: string }[] };
  const present = snapshot(folder);
  delete present['.atl-export.json'];
  const files = Object.fromEntries(Object.entries(present).filter(([, v]) => v !== 'folder'));
  expect(Object.keys(files).sort()).toEqual(marker.files.map((f) => f.name).sort());
  for (const f of marker.files) {
    expect(files[f.name]).toBe(f.sha256);
    expect(statSync(join(folder, f.name)).size).toBe(f.bytes);
  }
  expect(marker.files.map((f) => f.name)).toEqual(expect.arrayContaining([format === 'onnx' ? 'model.onnx' : 'model.json', 'labels.json', 'predict.mjs']));
}

/** Our staging, backup and lock entries beside `target`. */
function leftoversBeside(target: string): string[] {
  return readdirSync(dirname(target)).filter((name) => name.startsWith(`.${target.split('/').pop()}.atl-`));
}

const exportTo = (out: string, includeRuntime = false) => studio.invoke('export.head', { headId: head.id, format: 'onnx', dir: out, includeRuntime });

beforeAll(async () => {
  dir = tempDir('atl-export-safety-');
  const images = join(dir.path, 'images');
  copyCifarClasses(images, CLASSES, PER_CLASS);
  studio = new Studio({ home: join(dir.path, 'home'), front: 'web' });
  projectPath = (await studio.invoke('project.create', { name: 'export-safety' })).path;
  await studio.invoke('import.start', { paths: [images], labelsFromFolders: true });
  await studio.idle();
  await studio.invoke('heads.train', { modelId: 'resnet20_cifar10', strategy: 'penultimate' });
  await studio.idle();
  head = (await studio.invoke('heads.list', {}))[0];
  await studio.invoke('predictions.run', { headId: head.id });
  await studio.idle();
}, 120_000);
afterAll(async () => {
  await studio.dispose();
  dir.remove();
});

describe('export into a folder that holds other files', () => {
  it("refuses a folder with the user's own package.json, package-lock.json, labels.json, model-card.md and node_modules, and leaves every byte as it was", async () => {
    const out = join(dir.path, 'users-own');
    mkdirSync(join(out, 'node_modules/left-pad'), { recursive: true });
    writeFileSync(join(out, 'package.json'), '{ "name": "my-app", "dependencies": { "left-pad": "1.3.0" } }\n');
    writeFileSync(join(out, 'package-lock.json'), '{ "lockfileVersion": 3 }\n');
    writeFileSync(join(out, 'labels.json'), '["my", "own", "labels"]\n');
    writeFileSync(join(out, 'model-card.md'), '# My notes\n');
    writeFileSync(join(out, 'node_modules/left-pad/index.js'), 'module.exports = (s) => s;\n');
    const before = snapshot(out);
    const refused = exportTo(out);
    await expect(refused).rejects.toMatchObject({ code: 'conflict' });
    await expect(refused).rejects.toThrow(/package\.json.*(new|empty) folder/s);
    for (const name of ['package-lock.json', 'labels.json', 'model-card.md', 'node_modules/']) await expect(refused).rejects.toThrow(name);
    expect(snapshot(out)).toEqual(before);
    expect(leftoversBeside(out)).toEqual([]);
  });

  it('refuses an earlier export after npm install added node_modules, after a file was edited, or with its marker gone; leaves each as it was', async () => {
    const cases: [string, (out: string) => void, RegExp][] = [
      ['installed', (out) => {
        mkdirSync(join(out, 'node_modules/sharp'), { recursive: true });
        writeFileSync(join(out, 'node_modules/sharp/package.json'), '{}');
        writeFileSync(join(out, 'package-lock.json'), '{}');
      }, /node_modules\/.*package-lock\.json|package-lock\.json.*node_modules\//s],
      ['edited', (out) => writeFileSync(join(out, 'labels.json'), '{ "classes": [] }\n'), /labels\.json \(changed/],
      ['unmarked', (out) => unlinkSync(join(out, '.atl-export.json')), /model\.onnx/],
    ];
    for (const [name, change, message] of cases) {
      const out = join(dir.path, `earlier-${name}`);
      await exportTo(out);
      expectWholeExport(out);
      change(out);
      const before = snapshot(out);
      await expect(exportTo(out)).rejects.toThrow(message);
      expect(snapshot(out)).toEqual(before);
      expect(leftoversBeside(out)).toEqual([]);
    }
  }, 60_000);

  it('replaces an untouched earlier export and fills an empty folder', async () => {
    const out = join(dir.path, 'again');
    await exportTo(out);
    const first = JSON.parse(readFileSync(join(out, '.atl-export.json'), 'utf8'));
    await exportTo(out);
    expectWholeExport(out);
    expect(JSON.parse(readFileSync(join(out, '.atl-export.json'), 'utf8')).exportedAt >= first.exportedAt).toBe(true);
    const empty = join(dir.path, 'empty');
    mkdirSync(empty);
    await exportTo(empty);
    expectWholeExport(empty);
    expect(leftoversBeside(out)).toEqual([]);
  }, 60_000);

  it('atl-studio export refuses the same with exit code 1 and the reason, and writes node_modules/ with --include-runtime', async () => {
    const cli = (...args: string[]) =>
      run(process.execPath, [join(REPO, 'bin/atl-studio.mjs'), 'export', projectPath, '--head', String(head.id), ...args], {
        env: { ...process.env, ATL_STUDIO_HOME: join(dir.path, 'home') },
      });
    const out = join(dir.path, 'cli-users-own');
    mkdirSync(out);
    writeFileSync(join(out, 'package.json'), '{ "name": "mine" }\n');
    await expect(cli('--out', out)).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/package\.json.*new or empty folder/s) });
    expect(readdirSync(out)).toEqual(['package.json']);
    const offline = join(dir.path, 'cli-runtime');
    expect((await cli('--out', offline, '--include-runtime')).stdout).toMatch(/node_modules\//);
    expect(existsSync(join(offline, 'node_modules/onnxruntime-node/package.json'))).toBe(true);
    expectWholeExport(offline);
  }, 60_000);

  it('refuses a file, a missing parent folder and a link in place of the folder', async () => {
    writeFileSync(join(dir.path, 'a-file'), 'mine');
    await expect(exportTo(join(dir.path, 'a-file'))).rejects.toThrow(/is a file/);
    await expect(exportTo(join(dir.path, 'no/such/parent'))).rejects.toThrow(/does not exist/);
    expect(readFileSync(join(dir.path, 'a-file'), 'utf8')).toBe('mine');
  });
});

describe('an export killed at any moment', () => {
  it('leaves the old export or the new one whole (kill -9 of a real process, several times); the next run puts a lone backup back and cleans up', async () => {
    const out = join(dir.path, 'killed');
    await exportTo(out);
    // Where the kills landed: while writing the staging folder, while removing the backup after the swap, or between the renames.
    const seen = { whole: 0, backupOnly: 0, stagingLeft: 0, backupBesideTarget: 0 };
    for (let round = 0; round < 6; round++) {
      const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'export-loop.ts'), projectPath, String(head.id), out], {
        cwd: REPO,
        env: { ...process.env, ATL_STUDIO_HOME: join(dir.path, 'home') },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const exited = new Promise((done) => child.once('exit', done));
      // After the first export of this process (so its teacher is loaded), at a random moment of the next ones.
      await new Promise<void>((ready) => child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('exported') && ready()));
      await new Promise((wait) => setTimeout(wait, Math.random() * 2500));
      child.kill('SIGKILL');
      await exited;

      const left = leftoversBeside(out);
      if (left.some((name) => name.includes('.atl-staging-'))) seen.stagingLeft++;
      if (existsSync(out)) {
        seen.whole++;
        if (left.some((name) => name.includes('.atl-backup-'))) seen.backupBesideTarget++;
        expectWholeExport(out);
      } else {
        seen.backupOnly++;
        const backups = left.filter((name) => name.includes('.atl-backup-'));
        expect(backups).toHaveLength(1);
        expectWholeExport(join(dirname(out), backups[0]));
      }
      // The next run finishes what the killed one left, then exports.
      await exportTo(out);
      expectWholeExport(out);
      expect(leftoversBeside(out)).toEqual([]);
    }
    console.log(`kill -9 rounds: ${JSON.stringify(seen)}`);
  }, 240_000);

  it('puts back an earlier export left as a lone backup (killed between its two renames), and removes the staging folder', async () => {
    const out = join(dir.path, 'between-renames');
    await exportTo(out);
    const before = snapshot(out);
    // The state a kill leaves between "old → backup" and "staging → target": named in the lock file of a dead process.
    const dead = spawn(process.execPath, ['-e', '']);
    await new Promise((done) => dead.once('exit', done));
    const backup = join(dir.path, `.between-renames.atl-backup-${dead.pid}-k1ll3d`);
    const staging = join(dir.path, `.between-renames.atl-staging-${dead.pid}-k1ll3d`);
    renameSync(out, backup);
    mkdirSync(staging);
    writeFileSync(join(staging, 'model.onnx'), 'half written');
    writeFileSync(join(dir.path, '.between-renames.atl-export.lock'), JSON.stringify({ pid: dead.pid, staging, backup }));
    // A refused export still finishes the killed one first: the old export is back, whole.
    writeFileSync(join(dir.path, 'elsewhere'), 'x');
    await exportTo(out);
    expectWholeExport(out);
    expect(leftoversBeside(out)).toEqual([]);
    expect(Object.keys(snapshot(out)).sort()).toEqual(Object.keys(before).sort());
  });

  it('removes a backup whose removal was cut short (killed after the swap), but keeps one that holds a file it did not write', async () => {
    const out = join(dir.path, 'after-swap');
    await exportTo(out);
    const dead = spawn(process.execPath, ['-e', '']);
    await new Promise((done) => dead.once('exit', done));
    for (const [name, change, kept] of [
      ['half-removed', (backup: string) => ['model.onnx', 'labels.json'].forEach((f) => unlinkSync(join(backup, f))), false],
      ['with-users-file', (backup: string) => writeFileSync(join(backup, 'notes.txt'), 'mine'), true],
    ] as const) {
      const earlier = join(dir.path, `earlier-${name}`);
      await exportTo(earlier);
      const backup = join(dir.path, `.after-swap.atl-backup-${dead.pid}-${name.replace(/-/g, '')}`);
      renameSync(earlier, backup);
      change(backup);
      const staging = join(dir.path, `.after-swap.atl-staging-${dead.pid}-${name.replace(/-/g, '')}`);
      writeFileSync(join(dir.path, '.after-swap.atl-export.lock'), JSON.stringify({ pid: dead.pid, staging, backup }));
      await exportTo(out);
      expectWholeExport(out);
      expect(existsSync(backup)).toBe(kept);
      if (kept) expect(readFileSync(join(backup, 'notes.txt'), 'utf8')).toBe('mine');
    }
  });

  it('refuses to export into a folder while another live process exports into it, and goes ahead once that process is gone', async () => {
    const out = join(dir.path, 'busy');
    await exportTo(out);
    const before = snapshot(out);
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)']);
    const suffix = `${other.pid}-0th3r`;
    const lock = join(dir.path, '.busy.atl-export.lock');
    writeFileSync(lock, JSON.stringify({ pid: other.pid, staging: join(dir.path, `.busy.atl-staging-${suffix}`), backup: join(dir.path, `.busy.atl-backup-${suffix}`) }));
    await expect(exportTo(out)).rejects.toThrow(new RegExp(`Another export into .*busy is running \\(process ${other.pid}\\)`));
    expect(snapshot(out)).toEqual(before);
    other.kill('SIGKILL');
    await new Promise((done) => other.once('exit', done));
    await exportTo(out);
    expectWholeExport(out);
    expect(leftoversBeside(out)).toEqual([]);
  });
});

/** Runs the exported predict.mjs on the first images the studio predicted, and checks it gives the studio's classes and confidences. */
async function expectStudioAnswers(folder: string, offline = false): Promise<void> {
  const project = studio.requireProject();
  const names = new Map(project.classes.list().map((c) => [c.id, c.name]));
  const predictions = project.predictions.list().slice(0, 6);
  const predict = [process.execPath, join(folder, 'predict.mjs'), ...predictions.map((p) => p.path)];
  const [command, ...args] = offline ? [...withoutNetwork(), ...predict] : predict;
  // Offline: an empty HOME (no npm cache or config) and only node on PATH (no npm).
  const env = offline ? { PATH: dirname(process.execPath), HOME: join(folder, '..', `home-of-${folder.split('/').pop()}`) } : process.env;
  if (offline) mkdirSync(env.HOME!, { recursive: true });
  const { stdout } = await run(command, args, { cwd: folder, env });
  const printed = JSON.parse(stdout) as { path: string; class: string; confidence: number }[];
  expect(printed.map((r) => r.path)).toEqual(predictions.map((p) => p.path));
  printed.forEach((r, i) => {
    expect(r.class).toBe(names.get(predictions[i].classId));
    expect(Math.abs(r.confidence - predictions[i].confidence)).toBeLessThanOrEqual(1e-4);
  });
}

/** A command prefix that runs with no network at all (a new network namespace), where the machine allows it. */
function withoutNetwork(): string[] {
  try {
    execFileSync('unshare', ['-rn', 'true']);
    return ['unshare', '-rn'];
  } catch {
    return []; // no namespaces here (some CI containers): predict.mjs still runs with no npm, cache or HOME
  }
}

/** The commands of the model card's "Use" section (its first code block), as written there. */
function documentedCommands(folder: string): string[] {
  const use = readFileSync(join(folder, 'model-card.md'), 'utf8').split('## Use')[1].split('\n## ')[0];
  return /```\n([^`]*)```/.exec(use)![1].trim().split('\n');
}

describe('the exported predict.mjs as its model card says to run it', () => {
  for (const format of ['onnx', 'tfjs'] as const) {
    it(`installs with exactly the documented command, reaching only the npm registry, and gives the studio's answers (${format})`, async () => {
      const out = join(dir.path, `installed-${format}`);
      await studio.invoke('export.head', { headId: head.id, format, dir: out });
      const [install, predict] = documentedCommands(out);
      expect([install, predict]).toEqual(['npm install', 'node predict.mjs <image>...']);
      await run('sh', ['-c', install], { cwd: out });
      await expectStudioAnswers(out);
    }, 180_000);

    it(`runs with no install, no network and an empty HOME when exported with the runtime (${format})`, async () => {
      const out = join(dir.path, `offline-${format}`);
      const result = await studio.invoke('export.head', { headId: head.id, format, dir: out, includeRuntime: true });
      const modules = result.files.find((f) => f.name === 'node_modules/')!;
      console.log(`--include-runtime (${format}): node_modules/ ${(modules.bytes / 2 ** 20).toFixed(1)} MiB`);
      expect(readFileSync(join(out, 'model-card.md'), 'utf8')).toMatch(/no install and no network/);
      expect(documentedCommands(out)).toEqual(['node predict.mjs <image>...']);
      // Only the export's own node_modules: the temp folder has none above it.
      await expectStudioAnswers(out, true);
      expectWholeExport(out, format);
      // Its files are the export's own: exporting again replaces them.
      await studio.invoke('export.head', { headId: head.id, format, dir: out, includeRuntime: true });
      expect(leftoversBeside(out)).toEqual([]);
    }, 180_000);
  }
});

