import { execFile, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeBadFolder } from '../helpers/bad-images';
import { CIFAR10_MINI, copyCifarClasses, REPO, tempDir } from '../helpers/fixtures';

const run = promisify(execFile);
const CLI = join(REPO, 'bin/atl-studio.mjs');

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return cliWithin(0, ...args);
}

/** The CLI, killed after `timeoutMs` (0: no limit), so that a check that does not hold cannot run away. */
async function cliWithin(timeoutMs: number, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: { ...process.env, ATL_STUDIO_HOME: dir.path }, timeout: timeoutMs });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

let dir: ReturnType<typeof tempDir>;
beforeAll(() => {
  dir = tempDir();
});
afterAll(() => dir.remove());

describe('atl-studio CLI', () => {
  it('creates, imports with labels from folders, and reports info as JSON', async () => {
    const project = join(dir.path, 'cli.atl');
    expect((await cli('create', project)).code).toBe(0);
    const imported = await cli('import', project, CIFAR10_MINI, '--labels-from-folders', '--json');
    expect(imported.code).toBe(0);
    expect(JSON.parse(imported.stdout)).toMatchObject({ imported: 500, duplicates: 0, failed: [] });
    const info = JSON.parse((await cli('info', project, '--json')).stdout);
    expect(info.images).toBe(500);
    expect(info.unlabeled).toBe(0);
    expect(info.classes).toHaveLength(10);
    expect(info.classes[0]).toEqual({ name: 'airplane', count: 50 });
  });

  it('lists each failed file with its reason in the JSON summary', async () => {
    const project = join(dir.path, 'bad.atl');
    await cli('create', project);
    const bad = writeBadFolder(join(dir.path, 'bad'));
    const summary = JSON.parse((await cli('import', project, bad.root, '--json')).stdout);
    expect(summary.imported).toBe(2);
    expect(summary.failed.map((f: { path: string }) => f.path).sort()).toEqual(Object.keys(bad.bad).sort());
    for (const failure of summary.failed) expect(failure.reason).toMatch(bad.bad[failure.path]);
  });

  it('lists teachers with their engine and layer inventory', async () => {
    const teachers = JSON.parse((await cli('models', '--json')).stdout) as Array<Record<string, any>>;
    const mobilenet = teachers.find((t) => t.id === 'mobilenet_v1_0.75_224')!;
    expect(mobilenet).toMatchObject({ format: 'tfjs-layers', installed: true, default: true, engine: { engine: 'onnxruntime', available: true } });
    expect(mobilenet.engine.device).toMatch(/CPU/);
    expect(mobilenet.layers.filter((l: { enabled: boolean }) => l.enabled)).toHaveLength(14);
    const resnet = teachers.find((t) => t.id === 'resnet56_cifar10')!;
    expect(resnet.layers.find((l: { penultimate: boolean }) => l.penultimate).name).toBe('pooled');
  });

  it('extracts features into the project, then finds them cached', async () => {
    const project = join(dir.path, 'cli.atl');
    const first = await cli('extract', project, '--model', 'resnet20_cifar10', '--layers', 'stage3_block2,pooled', '--json');
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ images: 500, computed: 500, cached: 0, failed: [], layers: ['stage3_block2', 'pooled'] });
    const again = JSON.parse((await cli('extract', project, '--model', 'resnet20_cifar10', '--layers', 'stage3_block2,pooled', '--json')).stdout);
    expect(again).toMatchObject({ computed: 0, cached: 500 });
    const unknown = await cli('extract', project, '--model', 'no_such_teacher');
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/No teacher 'no_such_teacher'/);
  });

  it('prints a clear error and exits non-zero on a missing or foreign project file', async () => {
    const missing = await cli('info', join(dir.path, 'nope.atl'), '--json');
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/No project at .*nope\.atl/);
    const exists = await cli('create', join(dir.path, 'cli.atl'));
    expect(exists.code).not.toBe(0);
    expect(exists.stderr).toMatch(/already exists/);
    const wrongExtension = await cli('create', join(dir.path, 'project.db'));
    expect(wrongExtension.stderr).toMatch(/end in \.atl/);
  });

  it('trains a head on the labels, stores it, and prints its id and cross-validated accuracy', async () => {
    const images = join(dir.path, 'three-classes');
    copyCifarClasses(images, ['cat', 'ship', 'truck'], 6);
    const project = join(dir.path, 'train.atl');
    await cli('create', project);
    await cli('import', project, images, '--labels-from-folders', '--json');
    const trained = await cli('train', project, '--strategy', 'atl', '--model', 'resnet20_cifar10', '--json');
    expect(trained.code).toBe(0);
    const head = JSON.parse(trained.stdout);
    expect(head).toMatchObject({ id: 1, strategy: 'atl', model: 'resnet20_cifar10', cv_splits: 10 });
    expect(head.cv_accuracy).toBeGreaterThan(1 / 3);
    expect(head.classes.map((c: { name: string; labels: number }) => [c.name, c.labels])).toEqual([['cat', 6], ['ship', 6], ['truck', 6]]);
    expect(JSON.parse((await cli('train', project, '--strategy', 'penultimate', '--model', 'resnet20_cifar10', '--json')).stdout).id).toBe(2);

    // predict: the project's images, then a folder that is not imported.
    const predicted = JSON.parse((await cli('predict', project, '--head', '1', '--json')).stdout);
    expect(predicted).toHaveLength(18);
    const right = predicted.filter((p: { path: string; class: string }) => p.path.includes(`/${p.class}/`)).length;
    expect(right).toBeGreaterThan(12);
    const outside = join(dir.path, 'outside');
    mkdirSync(outside);
    const catFiles = readdirSync(join(CIFAR10_MINI, 'cat')).sort().slice(40, 43);
    for (const f of catFiles) copyFileSync(join(CIFAR10_MINI, 'cat', f), join(outside, f));
    const folder = JSON.parse((await cli('predict', project, outside, '--head', '1', '--json')).stdout);
    expect(folder.map((p: { path: string }) => p.path)).toEqual(catFiles.map((f) => join(outside, f)));
    for (const p of folder) expect(p.confidence).toBeGreaterThan(1 / 3);
    expect(JSON.parse((await cli('info', project, '--json')).stdout).images).toBe(18);

    // suggest: among images imported without labels.
    await cli('import', project, outside, '--json');
    const suggested = JSON.parse((await cli('suggest', project, '--count', '5', '--json')).stdout);
    expect(suggested.map((s: { path: string }) => s.path).sort()).toEqual(catFiles.map((f) => join(outside, f)));

    // export
    const exported = await cli('export', project, '--head', '1', '--format', 'onnx', '--out', join(dir.path, 'exported'));
    expect(exported.code).toBe(0);
    expect(exported.stdout).toMatch(/model\.onnx\s+[\d.]+ KiB/);
    const badFormat = await cli('export', project, '--head', '1', '--format', 'pt', '--out', join(dir.path, 'x'));
    expect(badFormat.stderr).toMatch(/--format is onnx or tfjs/);

    const unknown = await cli('train', project, '--strategy', 'magic');
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/'magic' is invalid\. --strategy is penultimate, /);
  });
});

describe('atl-studio CLI on hostile input', () => {
  it('fails an import of a missing path or a device: exit code 1, the reason printed, nothing read', async () => {
    const project = join(dir.path, 'hostile.atl');
    await cli('create', project);
    const missing = join(dir.path, 'no-such-folder');
    const result = await cli('import', project, missing, '--json');
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ status: 'failed', found: 0, failed: [{ path: missing, reason: 'File or folder not found' }] });
    const device = await cli('import', project, '/dev/zero');
    expect(device.code).toBe(1);
    expect(device.stdout).toMatch(/^failed: 0 imported/);
    expect(device.stdout).toMatch(/\/dev\/zero: Not a regular file: a device/);
  });

  // A project path that does not exist: a flag not checked before the work starts ends with
  // "No project at …" and exit code 1 instead.
  const nowhere = '/nonexistent/p.atl';
  const badFlags: [string[], RegExp][] = [
    [['extract', nowhere, '--model', 'resnet20_cifar10', '--batch', '-1'], /--batch takes a whole number from 1 to 1,024/],
    [['extract', nowhere, '--model', 'resnet20_cifar10', '--batch', '0'], /--batch takes a whole number from 1 to 1,024/],
    [['extract', nowhere, '--model', 'resnet20_cifar10', '--batch', '2.5'], /--batch takes a whole number/],
    [['extract', nowhere, '--model', 'resnet20_cifar10', '--batch', 'many'], /--batch takes a whole number/],
    [['extract', nowhere, '--model', 'resnet20_cifar10', '--pooling', 'bogus'], /--pooling is gap, gmp or spatial/],
    [['bench', '--data', CIFAR10_MINI, '--model', 'resnet20_cifar10', '--ways', '1'], /--ways takes a whole number from 2 to /],
    [['bench', '--data', CIFAR10_MINI, '--model', 'resnet20_cifar10', '--episodes', '100000000'], /--episodes takes a whole number from 1 to 100,000/],
    [['bench', '--data', CIFAR10_MINI, '--model', 'resnet20_cifar10', '--queries', '0'], /--queries takes a whole number from 1 to /],
    [['bench', '--data', CIFAR10_MINI, '--model', 'resnet20_cifar10', '--shots', '1,x'], /--shots takes whole numbers from 1 to /],
    [['bench', '--data', CIFAR10_MINI, '--model', 'resnet20_cifar10', '--seed', '-3'], /--seed takes a whole number from 0 to /],
    [['bench', '--data', CIFAR10_MINI, '--model', 'resnet20_cifar10', '--strategies', 'magic'], /Unknown strategy magic/],
    [['serve', '--port', '70000'], /--port takes a whole number from 1 to 65,535/],
    [['suggest', nowhere, '--count', '0'], /--count takes a whole number from 1 to /],
    [['predict', nowhere, '--head', '-2'], /--head takes a head id/],
    [['export', nowhere, '--head', '1', '--format', 'pt', '--out', '/nonexistent/x'], /--format is onnx or tfjs/],
    [['train', nowhere, '--strategy', 'magic'], /--strategy is penultimate, /],
  ];
  it.each(badFlags)('refuses %j before any work: one plain line, exit code 2', async (args, message) => {
    const result = await cliWithin(30_000, ...args);
    expect(result.code).toBe(2);
    const [first, ...rest] = result.stderr.trim().split('\n');
    expect(first).toMatch(/^error: option '--\S+ <\w+>' argument '.*' is invalid\. /);
    expect(first).toMatch(message);
    expect(rest.join('\n')).not.toMatch(/\n?\s+at |"code"|Engine|Teacher/); // no stack, no zod JSON, no work done
    expect(rest.length).toBeLessThanOrEqual(1);
    expect(result.stdout).toBe('');
  });

  it('exits quietly with code 0 when whoever reads its output stops early (EPIPE)', async () => {
    for (const args of [['models'], ['info', join(dir.path, 'hostile.atl'), '--json']]) {
      const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ATL_STUDIO_HOME: dir.path } });
      child.stdout.destroy(); // as `| head -c 10` does once it has its bytes
      let stderr = '';
      child.stderr.on('data', (chunk) => (stderr += chunk));
      const code = await new Promise((done) => child.once('close', done));
      expect({ args, code, stderr }).toEqual({ args, code: 0, stderr: '' });
    }
  });
});
