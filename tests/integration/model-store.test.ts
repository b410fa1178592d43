/**
 * Getting teachers: sha256-checked, resumable, atomic downloads (from a mirror served here on
 * 127.0.0.1), the offline copy from a local folder, and clear errors for damaged files.
 */
import { createReadStream, existsSync, mkdirSync, readFileSync, statSync, writeFileSync, cpSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadVerified, sha256OfFile } from '../../src/main/models/download';
import { ModelStore } from '../../src/main/models/model-store';
import { SHARED, tempDir } from '../helpers/fixtures';

const MODELS = join(SHARED, 'models');
let dir: ReturnType<typeof tempDir>;
let server: Server;
let mirror: string;
const ranges: string[] = [];

beforeAll(async () => {
  dir = tempDir();
  // A static file server with Range support, like the official bucket.
  server = createServer((req, res) => {
    const file = join(MODELS, decodeURIComponent(new URL(req.url!, 'http://x').pathname));
    if (!file.startsWith(MODELS) || !existsSync(file)) return void res.writeHead(404).end();
    const size = statSync(file).size;
    const range = /bytes=(\d+)-/.exec(req.headers.range ?? '');
    if (range) {
      ranges.push(req.url!);
      res.writeHead(206, { 'Content-Range': `bytes ${range[1]}-${size - 1}/${size}` });
      createReadStream(file, { start: Number(range[1]) }).pipe(res);
    } else {
      res.writeHead(200);
      createReadStream(file).pipe(res);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  mirror = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(() => {
  server.close();
  dir.remove();
});

describe('teacher downloads', () => {
  it('downloads the default teacher from a mirror, checks every file, and loads it', async () => {
    const store = new ModelStore(join(dir.path, 'home-download'), [], mirror);
    expect(store.get('mobilenet_v1_0.75_224').dir).toBeNull();
    expect(await store.fetch('mobilenet_v1_0.75_224')).toBe('downloaded');
    expect(store.get('mobilenet_v1_0.75_224').dir).toBe(join(store.modelsDir, 'mobilenet_v1_0.75_224'));
    expect(await store.fetch('mobilenet_v1_0.75_224')).toBe('present');
    const loaded = await store.load('mobilenet_v1_0.75_224');
    expect(loaded.spec.featureLayers).toContain('conv_pw_13_relu');
  });

  it('resumes a partial download with a Range request', async () => {
    const source = join(MODELS, 'resnet20_cifar10/resnet20_cifar10.onnx');
    const target = join(dir.path, 'resumed.onnx');
    writeFileSync(`${target}.part`, readFileSync(source).subarray(0, 100_000));
    await downloadVerified(`${mirror}resnet20_cifar10/resnet20_cifar10.onnx`, target, await sha256OfFile(source));
    expect(ranges).toContain('/resnet20_cifar10/resnet20_cifar10.onnx');
    expect(readFileSync(target).equals(readFileSync(source))).toBe(true);
    expect(existsSync(`${target}.part`)).toBe(false);
  });

  it('refuses a file whose sha256 does not match, naming it, and keeps nothing', async () => {
    const target = join(dir.path, 'wrong.json');
    await expect(downloadVerified(`${mirror}resnet20_cifar10/model.json`, target, '0'.repeat(64))).rejects.toThrow(
      /Checksum mismatch for .*resnet20_cifar10\/model.json/,
    );
    expect(existsSync(target) || existsSync(`${target}.part`)).toBe(false);
  });

  it('offline, copies a verified local copy instead', async () => {
    const store = new ModelStore(join(dir.path, 'home-offline'), [MODELS], 'http://127.0.0.1:9/');
    const lines: string[] = [];
    expect(await store.fetch('resnet56_cifar10', (line) => lines.push(line))).toBe('copied');
    expect(lines.join('\n')).toMatch(/copied from/);
    await expect(new ModelStore(join(dir.path, 'home-nothing'), [], 'http://127.0.0.1:9/').fetch('resnet20_cifar10')).rejects.toThrow(
      /Could not get teacher 'resnet20_cifar10'.*atl-studio models import/,
    );
  });

  it('names the damaged file when a teacher does not match its pinned checksums', async () => {
    const root = join(dir.path, 'damaged');
    mkdirSync(root);
    cpSync(join(MODELS, 'resnet20_cifar10'), join(root, 'resnet20_cifar10'), { recursive: true });
    const onnx = join(root, 'resnet20_cifar10/resnet20_cifar10.onnx');
    const bytes = readFileSync(onnx);
    bytes[bytes.length - 10] ^= 0xff;
    writeFileSync(onnx, bytes);
    const store = new ModelStore(join(dir.path, 'home-damaged'), [root], mirror);
    await expect(store.load('resnet20_cifar10')).rejects.toThrow(/Checksum mismatch for .*resnet20_cifar10\.onnx/);
  });

  it('imports the files of a known teacher as that teacher, and refuses files that do not load', async () => {
    const store = new ModelStore(join(dir.path, 'home-import'), [], 'http://127.0.0.1:9/');
    const copy = join(dir.path, 'to-import', 'resnet20_cifar10');
    mkdirSync(join(dir.path, 'to-import'));
    cpSync(join(MODELS, 'resnet20_cifar10'), copy, { recursive: true });
    const entry = await store.import(join(copy, 'resnet20_cifar10.onnx'));
    expect(entry).toMatchObject({ id: 'resnet20_cifar10', source: 'manifest', dir: join(store.modelsDir, 'resnet20_cifar10') });
    await expect(store.import(join(copy, 'resnet20_cifar10.onnx'))).rejects.toThrow(/installed already/);

    const renamed = join(dir.path, 'renamed');
    mkdirSync(renamed);
    cpSync(join(MODELS, 'resnet20_cifar10/model.json'), join(renamed, 'model.json'));
    cpSync(join(MODELS, 'resnet20_cifar10/resnet20_cifar10.onnx'), join(renamed, 'my_resnet.onnx'));
    await expect(store.import(join(renamed, 'my_resnet.onnx'))).rejects.toThrow(/onnx\.file names 'resnet20_cifar10\.onnx', but .* cannot be found/);
    expect(store.list().map((t) => t.id)).not.toContain('my_resnet');
  });
});
