/**
 * Hostile or broken teacher files: a model.json naming weights outside its folder (`../`, absolute
 * paths, symlinks to /dev/zero or a FIFO), absurd shapes or sizes, a malformed atl-teacher.json, and
 * ONNX imports that must copy only the model's own files and never replace anything.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLayersModelFiles } from '../../src/main/engines/tfjs-layers-files';
import { ModelStore } from '../../src/main/models/model-store';
import { Studio } from '../../src/main/app/studio';
import { SHARED, tempDir } from '../helpers/fixtures';

const MODELS = join(SHARED, 'models');
const MOBILENET = join(MODELS, 'mobilenet_v1_0.75_224');
const RESNET20 = join(MODELS, 'resnet20_cifar10');
/** The first shard of MobileNet's manifest: conv1/kernel, 3×3×3×24 float32. */
const FIRST_SHARD = 'group1-shard1of1';
const FIRST_SHARD_BYTES = 2592;

let dir: ReturnType<typeof tempDir>;
beforeAll(() => {
  dir = tempDir('atl-teacher-files-');
});
afterAll(() => dir.remove());

type ModelJson = { modelTopology: unknown; weightsManifest: Array<{ paths: string[]; weights: Array<{ name: string; shape: unknown; dtype: string }> }> };

/** A copy of the real MobileNet v1 TF.js folder whose model.json is then edited. */
function mobilenetCopy(name: string, edit: (json: ModelJson, folder: string) => void = () => undefined): string {
  const folder = join(dir.path, name);
  cpSync(MOBILENET, folder, { recursive: true });
  const json = JSON.parse(readFileSync(join(folder, 'model.json'), 'utf8')) as ModelJson;
  edit(json, folder);
  writeFileSync(join(folder, 'model.json'), JSON.stringify(json));
  return folder;
}

/** Runs `read`, expecting a clean refusal within a second; returns its message. */
async function refusal(read: () => Promise<unknown>): Promise<string> {
  const started = performance.now();
  const error = await read().then(
    () => null,
    (e: unknown) => e,
  );
  expect(error, 'the hostile file was accepted').toBeInstanceOf(Error);
  expect(performance.now() - started).toBeLessThan(1000);
  expect((error as { code?: string }).code).toBe('bad_file');
  return (error as Error).message;
}

describe("a TF.js teacher's model.json", () => {
  it('cannot name a weight file outside its folder with ../ or an absolute path', async () => {
    // A file outside the folder with exactly the bytes the first weight needs: only the path can refuse it.
    const secret = join(dir.path, 'secret.bin');
    writeFileSync(secret, Buffer.alloc(FIRST_SHARD_BYTES, 7));
    const upward = mobilenetCopy('upward', (json) => (json.weightsManifest[0].paths = ['../secret.bin']));
    expect(await refusal(() => readLayersModelFiles(join(upward, 'model.json')))).toMatch(
      /upward\/model\.json: weightsManifest\[0\] names '\.\.\/secret\.bin', which is outside the model's folder/,
    );
    const absolute = mobilenetCopy('absolute', (json) => (json.weightsManifest[0].paths = [secret]));
    expect(await refusal(() => readLayersModelFiles(join(absolute, 'model.json')))).toMatch(/absolute\/model\.json.*outside the model's folder/);
    const devZero = mobilenetCopy('dev-zero', (json, folder) => (json.weightsManifest[0].paths = [relative(folder, '/dev/zero')]));
    expect(await refusal(() => readLayersModelFiles(join(devZero, 'model.json')))).toMatch(/dev-zero\/model\.json.*\.\.\/dev\/zero.*outside/);
  });

  it('cannot escape through a symlink (to /dev/zero, or to a FIFO that would block any read), but may link inside its folder', async () => {
    const toDevZero = mobilenetCopy('link-dev-zero', (_, folder) => {
      rmSync(join(folder, FIRST_SHARD));
      symlinkSync('/dev/zero', join(folder, FIRST_SHARD));
    });
    expect(await refusal(() => readLayersModelFiles(join(toDevZero, 'model.json')))).toMatch(
      new RegExp(`link-dev-zero/${FIRST_SHARD} .*resolves outside the model's folder`),
    );
    // Opening a FIFO with no writer blocks: reaching it at all would hang this test.
    const fifo = join(dir.path, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const toFifo = mobilenetCopy('link-fifo', (_, folder) => {
      rmSync(join(folder, FIRST_SHARD));
      symlinkSync(fifo, join(folder, FIRST_SHARD));
    });
    expect(await refusal(() => readLayersModelFiles(join(toFifo, 'model.json')))).toMatch(/link-fifo\/.*resolves outside/);
    // A FIFO inside the folder is not a regular file.
    const fifoInside = mobilenetCopy('fifo-inside', (_, folder) => {
      rmSync(join(folder, FIRST_SHARD));
      execFileSync('mkfifo', [join(folder, FIRST_SHARD)]);
    });
    expect(await refusal(() => readLayersModelFiles(join(fifoInside, 'model.json')))).toMatch(/fifo-inside\/group1-shard1of1 is not a regular file/);
    // model.json itself pointing at /dev/zero.
    const jsonLink = join(dir.path, 'json-link');
    mkdirSync(jsonLink);
    symlinkSync('/dev/zero', join(jsonLink, 'model.json'));
    expect(await refusal(() => readLayersModelFiles(join(jsonLink, 'model.json')))).toMatch(/json-link\/model\.json is not a regular file/);

    const inside = mobilenetCopy('link-inside', (_, folder) => {
      mkdirSync(join(folder, 'shards'));
      cpSync(join(folder, FIRST_SHARD), join(folder, 'shards/first'));
      rmSync(join(folder, FIRST_SHARD));
      symlinkSync('shards/first', join(folder, FIRST_SHARD));
    });
    const files = await readLayersModelFiles(join(inside, 'model.json'));
    expect(files.weightSpecs[0]).toMatchObject({ name: 'conv1/kernel', shape: [3, 3, 3, 24] });
  });

  it('refuses negative, fractional, huge or high-rank shapes and unknown dtypes before reading anything', async () => {
    const cases: Array<[string, unknown, string, RegExp]> = [
      ['negative', [-3, 3, 3, 24], 'float32', /weight 'conv1\/kernel' has shape \[-3,3,3,24\]: .*non-negative integers/],
      ['fractional', [2.5, 3, 3, 24], 'float32', /weight 'conv1\/kernel' has shape \[2\.5,3,3,24\]/],
      ['not-a-list', 'big', 'float32', /weight 'conv1\/kernel' has shape "big"/],
      ['high-rank', Array.from({ length: 40 }, () => 1), 'float32', /weight 'conv1\/kernel' has 40 dimensions/],
      ['huge', [1e6, 1e6, 1e6, 24], 'float32', /weights need .* bytes, more than the .* a teacher may hold/],
      ['float64', [3, 3, 3, 24], 'float64', /weight 'conv1\/kernel' is dtype float64; only float32 weights are supported/],
    ];
    for (const [name, shape, dtype, message] of cases) {
      const folder = mobilenetCopy(`shape-${name}`, (json) => {
        json.weightsManifest[0].weights[0].shape = shape;
        json.weightsManifest[0].weights[0].dtype = dtype;
      });
      const text = await refusal(() => readLayersModelFiles(join(folder, 'model.json')));
      expect(text).toMatch(new RegExp(`shape-${name}/model\\.json: weightsManifest\\[0\\]`));
      expect(text).toMatch(message);
    }
  });

  it('checks every shard size with stat before reading: a 1.5 GB sparse shard is refused at once', async () => {
    const folder = mobilenetCopy('sparse');
    truncateSync(join(folder, FIRST_SHARD), 1.5 * 1024 ** 3);
    const text = await refusal(() => readLayersModelFiles(join(folder, 'model.json')));
    expect(text).toMatch(/sparse\/group1-shard1of1 holds 1610612736 bytes but its weights \(conv1\/kernel\) need 2592/);
  });

  it('makes an import of such a folder fail cleanly, copying nothing into the studio home', async () => {
    writeFileSync(join(dir.path, 'secret-for-import.bin'), Buffer.alloc(FIRST_SHARD_BYTES, 7));
    const folder = mobilenetCopy('hostile_import', (json) => (json.weightsManifest[0].paths = ['../secret-for-import.bin']));
    const store = new ModelStore(join(dir.path, 'home-hostile'), [], 'http://127.0.0.1:9/');
    await expect(store.import(folder)).rejects.toThrow(/hostile_import\/model\.json: weightsManifest\[0\] names '\.\.\/secret-for-import\.bin', which is outside/);
    expect(readdirSync(store.modelsDir)).toEqual([]);
  });
});

describe('a malformed teacher file', () => {
  it('is listed as broken with its file and reason, and every other teacher is still listed', async () => {
    const store = new ModelStore(join(dir.path, 'home-broken'), [MODELS], 'http://127.0.0.1:9/');
    // A good imported teacher beside the broken ones.
    const good = join(dir.path, 'good-source');
    mkdirSync(good);
    cpSync(join(RESNET20, 'model.json'), join(good, 'model.json'));
    cpSync(join(RESNET20, 'resnet20_cifar10.onnx'), join(good, 'resnet20_cifar10.onnx'));
    const sidecar = JSON.parse(readFileSync(join(good, 'model.json'), 'utf8'));
    sidecar.onnx.file = 'good_resnet.onnx';
    writeFileSync(join(good, 'model.json'), JSON.stringify(sidecar));
    cpSync(join(good, 'resnet20_cifar10.onnx'), join(good, 'good_resnet.onnx'));
    await store.import(join(good, 'good_resnet.onnx'));

    const record = JSON.parse(readFileSync(join(store.modelsDir, 'good_resnet/atl-teacher.json'), 'utf8'));
    const broken = (id: string, files: Record<string, string>): void => {
      cpSync(join(store.modelsDir, 'good_resnet'), join(store.modelsDir, id), { recursive: true });
      for (const [file, text] of Object.entries(files)) writeFileSync(join(store.modelsDir, id, file), text);
    };
    broken('bad_json', { 'atl-teacher.json': '{"id": "bad_json", ' });
    broken('bad_shape', { 'atl-teacher.json': JSON.stringify({ ...record, id: 'bad_shape', format: 'caffe' }) });
    broken('bad_model_json', { 'atl-teacher.json': JSON.stringify({ ...record, id: 'bad_model_json' }), 'model.json': '{"name": ' });

    const list = store.list();
    expect(list.map((t) => t.id)).toEqual(
      expect.arrayContaining(['mobilenet_v1_0.75_224', 'resnet20_cifar10', 'resnet56_cifar10', 'good_resnet', 'bad_json', 'bad_shape', 'bad_model_json']),
    );
    expect(list.find((t) => t.id === 'good_resnet')?.problem).toBeNull();
    expect(list.find((t) => t.id === 'resnet20_cifar10')?.problem).toBeNull();
    const problem = (id: string): string | null | undefined => list.find((t) => t.id === id)?.problem;
    expect(problem('bad_json')).toMatch(/bad_json\/atl-teacher\.json is not valid JSON/);
    expect(problem('bad_shape')).toMatch(/bad_shape\/atl-teacher\.json: format: /);
    expect(problem('bad_model_json')).toMatch(/bad_model_json\/model\.json is not valid JSON/);
    await expect(store.load('bad_json')).rejects.toThrow(/Teacher 'bad_json' is broken: .*bad_json\/atl-teacher\.json is not valid JSON/);
    expect((await store.load('good_resnet')).spec.featureLayers.length).toBeGreaterThan(1);

    // The app's list says the same: a broken teacher is not offered as installed, and says why.
    const studio = new Studio({ home: join(dir.path, 'home-broken'), front: 'web' });
    const listed = await studio.call('models.list', {});
    expect(listed.ok).toBe(true);
    const teachers = (listed as { result: Array<{ id: string; installed: boolean; problem: string | null }> }).result;
    expect(teachers.find((t) => t.id === 'bad_json')).toMatchObject({ installed: false, problem: expect.stringMatching(/atl-teacher\.json is not valid JSON/) });
    expect(teachers.find((t) => t.id === 'good_resnet')).toMatchObject({ installed: true, problem: null });

    // The CLI lists every teacher too, the broken ones with their reason.
    const cli = execFileSync(process.execPath, [join(__dirname, '../../bin/atl-studio.mjs'), 'models', '--json'], {
      env: { ...process.env, ATL_STUDIO_HOME: join(dir.path, 'home-broken') },
      encoding: 'utf8',
    });
    const rows = JSON.parse(cli) as Array<{ id: string; installed: boolean; problem?: string }>;
    expect(rows.find((r) => r.id === 'bad_shape')).toMatchObject({ installed: false, problem: expect.stringMatching(/atl-teacher\.json: format/) });
    expect(rows.find((r) => r.id === 'good_resnet')).toMatchObject({ installed: true });
    expect(rows.find((r) => r.id === 'good_resnet')?.problem).toBeUndefined();
  });
});

/** resnet20 rewritten with its weights in an external data file, as large ONNX models ship. */
function writeExternalDataModel(folder: string, name: string): void {
  const { onnx } = onnxProto;
  const model = onnx.ModelProto.decode(readFileSync(join(RESNET20, 'resnet20_cifar10.onnx')));
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const tensor of model.graph!.initializer!) {
    const raw = Buffer.from(tensor.rawData ?? []);
    // Like onnx's convert_model_to_external_data: small tensors (shapes, axes) stay inline.
    if (raw.length < 1024) continue;
    chunks.push(raw);
    tensor.externalData = [
      { key: 'location', value: `${name}.onnx.data` },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(raw.length) },
    ];
    tensor.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    tensor.rawData = new Uint8Array(0);
    offset += raw.length;
  }
  writeFileSync(join(folder, `${name}.onnx`), onnx.ModelProto.encode(model).finish());
  writeFileSync(join(folder, `${name}.onnx.data`), Buffer.concat(chunks));
  const sidecar = JSON.parse(readFileSync(join(RESNET20, 'model.json'), 'utf8'));
  sidecar.onnx.file = `${name}.onnx`;
  writeFileSync(join(folder, 'model.json'), JSON.stringify(sidecar));
}

describe('models import <file.onnx>', () => {
  it('copies only the model, its sidecar and its external data, never the rest of its folder', async () => {
    const downloads = join(dir.path, 'Downloads');
    mkdirSync(join(downloads, 'photos'), { recursive: true });
    writeExternalDataModel(downloads, 'resnet_ext');
    writeFileSync(join(downloads, 'tax-return.pdf'), 'private');
    writeFileSync(join(downloads, 'photos/holiday.jpg'), 'private');
    writeFileSync(join(downloads, 'big-backup.tar'), '');
    truncateSync(join(downloads, 'big-backup.tar'), 300 * 1024 ** 2);
    cpSync(join(MODELS, 'third-party/mobilenetv2-12-int8.onnx'), join(downloads, 'other-model.onnx'));

    const store = new ModelStore(join(dir.path, 'home-onnx'), [], 'http://127.0.0.1:9/');
    const entry = await store.import(join(downloads, 'resnet_ext.onnx'));
    expect(entry).toMatchObject({ id: 'resnet_ext', source: 'imported', problem: null });
    expect(readdirSync(entry.dir!).sort()).toEqual(['atl-teacher.json', 'model.json', 'resnet_ext.onnx', 'resnet_ext.onnx.data']);
    const loaded = await store.load('resnet_ext');
    expect(loaded.spec.modelPath).toBe(join(entry.dir!, 'resnet_ext.onnx'));
    // The source folder is untouched.
    expect(readdirSync(downloads).sort()).toEqual(['big-backup.tar', 'model.json', 'other-model.onnx', 'photos', 'resnet_ext.onnx', 'resnet_ext.onnx.data', 'tax-return.pdf']);
  });

  it("refuses external data outside the model's folder, and an .onnx whose sidecar describes another file", async () => {
    const folder = join(dir.path, 'escaping');
    mkdirSync(folder);
    writeExternalDataModel(folder, 'escaping');
    const { onnx } = onnxProto;
    const model = onnx.ModelProto.decode(readFileSync(join(folder, 'escaping.onnx')));
    model.graph!.initializer![0].externalData![0].value = '../secret.bin';
    writeFileSync(join(folder, 'escaping.onnx'), onnx.ModelProto.encode(model).finish());
    const store = new ModelStore(join(dir.path, 'home-escaping'), [], 'http://127.0.0.1:9/');
    await expect(store.import(join(folder, 'escaping.onnx'))).rejects.toThrow(
      /escaping\.onnx: tensor '.*' names '\.\.\/secret\.bin', which is outside the model's folder/,
    );
    // Another .onnx in the folder of a sidecar that describes a different model.
    cpSync(join(MODELS, 'third-party/mobilenetv2-12-int8.onnx'), join(folder, 'mobilenetv2-12-int8.onnx'));
    await expect(store.import(join(folder, 'mobilenetv2-12-int8.onnx'))).rejects.toThrow(
      /model\.json beside .*mobilenetv2-12-int8\.onnx describes escaping\.onnx, not mobilenetv2-12-int8\.onnx/,
    );
    expect(readdirSync(store.modelsDir)).toEqual([]);
  });

  it('refuses a device, a FIFO or a missing path as the thing to import', async () => {
    const store = new ModelStore(join(dir.path, 'home-devices'), [], 'http://127.0.0.1:9/');
    const odd = join(dir.path, 'odd');
    mkdirSync(odd);
    symlinkSync('/dev/zero', join(odd, 'zero.onnx'));
    execFileSync('mkfifo', [join(odd, 'pipe.onnx')]);
    for (const path of ['/dev/zero', join(odd, 'zero.onnx'), join(odd, 'pipe.onnx')]) {
      await expect(store.import(path)).rejects.toThrow(/is neither a folder nor an \.onnx file/);
    }
    await expect(store.import(join(odd, 'missing.onnx'))).rejects.toThrow(/Nothing at .*missing\.onnx/);
    expect(readdirSync(store.modelsDir)).toEqual([]);
  });

  it("never replaces or deletes what is in the studio home under the new teacher's name", async () => {
    const store = new ModelStore(join(dir.path, 'home-conflict'), [], 'http://127.0.0.1:9/');
    const source = join(dir.path, 'conflict-source');
    mkdirSync(source);
    writeExternalDataModel(source, 'layers');
    // `models/layers` holds each teacher's chosen layers: a model named "layers" must not replace it.
    mkdirSync(join(store.modelsDir, 'layers'));
    writeFileSync(join(store.modelsDir, 'layers/mobilenet_v1_0.75_224.json'), '["conv_pw_13_relu"]');
    await expect(store.import(join(source, 'layers.onnx'))).rejects.toThrow(/models\/layers already holds files \(the studio keeps the layers each teacher uses there\)/);
    expect(readFileSync(join(store.modelsDir, 'layers/mobilenet_v1_0.75_224.json'), 'utf8')).toBe('["conv_pw_13_relu"]');

    // Any folder already there (a teacher, or something of the user's) is left as it is.
    writeExternalDataModel(source, 'mine');
    mkdirSync(join(store.modelsDir, 'mine'));
    writeFileSync(join(store.modelsDir, 'mine/notes.txt'), 'keep me');
    await expect(store.import(join(source, 'mine.onnx'))).rejects.toThrow(/models\/mine already holds files \(it is left as it is\)/);
    expect(readdirSync(join(store.modelsDir, 'mine'))).toEqual(['notes.txt']);

    writeExternalDataModel(source, 'twice');
    const first = await store.import(join(source, 'twice.onnx'));
    const before = statSync(join(first.dir!, 'twice.onnx')).mtimeMs;
    await expect(store.import(join(source, 'twice.onnx'))).rejects.toThrow(/installed already/);
    expect(statSync(join(first.dir!, 'twice.onnx')).mtimeMs).toBe(before);
    expect(readdirSync(store.modelsDir).filter((name) => name.includes('importing'))).toEqual([]);
    expect(existsSync(join(source, 'twice.onnx'))).toBe(true);
  });
});
