/**
 * The engine-choice rules (issue 12), with machines described as data: tfjs-node-gpu where it is
 * installed → WebGPU on a hardware adapter → ONNX Runtime → TF.js wasm; a software adapter only when
 * WebGPU is forced; the reasons for skipping a faster engine. Plus the WebGPU batch limit and the
 * fall back to the CPU engine when the device is lost.
 */
import { describe, expect, it } from 'vitest';
import { StudioError } from '../../src/main/core/errors';
import type { EngineDescription, FeatureExtractor, FeatureMap } from '../../src/main/engines/feature-extractor';
import { isSoftwareAdapter, type AdapterDescription } from '../../src/main/engines/webgpu-device';
import { imagesPerRun, WebgpuDeviceLost } from '../../src/main/engines/webgpu-extractor';
import { doctorReport } from '../../src/main/cli/doctor-command';
import { engineIdOf, FallbackOnDeviceLoss, planEngines, type MachineEngines } from '../../src/main/models/engine-choice';

const NVIDIA: AdapterDescription = { vendor: 'nvidia', architecture: 'ada', description: 'NVIDIA RTX 4090 (Vulkan)', software: false };
const SWIFTSHADER: AdapterDescription = { vendor: 'google', architecture: 'swiftshader', description: 'SwiftShader driver 5.0.0', software: true };

const machine = (adapters: AdapterDescription[], tfjsNodeGpu: string | null = 'not installed'): MachineEngines => ({
  tfjsNodeGpu,
  webgpu: adapters.length > 0 ? { adapters } : { adapters, unavailable: 'Dawn found no WebGPU adapter' },
});

describe('planEngines', () => {
  it('auto: WebGPU on a hardware adapter goes before ONNX Runtime, for ONNX and TF.js layers teachers', () => {
    expect(planEngines('auto', 'onnx', machine([NVIDIA]))).toEqual({ order: ['webgpu', 'onnxruntime'], skipped: [] });
    expect(planEngines('auto', 'tfjs-layers', machine([NVIDIA]))).toEqual({
      order: ['webgpu', 'onnxruntime', 'tfjs-wasm'],
      skipped: [{ id: 'tfjs-node-gpu', reason: 'not installed' }],
    });
  });

  it('auto: tfjs-node-gpu first where it is installed (TF.js teachers only)', () => {
    expect(planEngines('auto', 'tfjs-layers', machine([NVIDIA], null)).order).toEqual(['tfjs-node-gpu', 'webgpu', 'onnxruntime', 'tfjs-wasm']);
    expect(planEngines('auto', 'tfjs-graph', machine([NVIDIA], null)).order).toEqual(['tfjs-node-gpu', 'tfjs-wasm']);
  });

  it('auto: a software adapter is never chosen, and the reason says how to force it', () => {
    const plan = planEngines('auto', 'onnx', machine([SWIFTSHADER]));
    expect(plan.order).toEqual(['onnxruntime']);
    expect(plan.skipped).toEqual([
      {
        id: 'webgpu',
        reason:
          'only a software adapter (google swiftshader (SwiftShader driver 5.0.0), software), slower than the CPU engines; choose the WebGPU engine to use it anyway',
      },
    ]);
  });

  it('auto without any adapter: ONNX Runtime, with the reason WebGPU was not used', () => {
    expect(planEngines('auto', 'onnx', machine([]))).toEqual({ order: ['onnxruntime'], skipped: [{ id: 'webgpu', reason: 'Dawn found no WebGPU adapter' }] });
  });

  it('forced WebGPU runs on a software adapter, the other engines after it as fallbacks', () => {
    expect(planEngines('webgpu', 'onnx', machine([SWIFTSHADER]))).toEqual({ order: ['webgpu', 'onnxruntime'], skipped: [] });
    expect(planEngines('webgpu', 'onnx', machine([]))).toEqual({ order: ['onnxruntime'], skipped: [{ id: 'webgpu', reason: 'Dawn found no WebGPU adapter' }] });
  });

  it('a forced CPU engine goes first even where a GPU is there; one that cannot read the format is left out', () => {
    expect(planEngines('onnxruntime', 'onnx', machine([NVIDIA])).order).toEqual(['onnxruntime', 'webgpu']);
    expect(planEngines('tfjs-wasm', 'tfjs-layers', machine([NVIDIA])).order).toEqual(['tfjs-wasm', 'webgpu', 'onnxruntime']);
    expect(planEngines('tfjs-wasm', 'onnx', machine([NVIDIA])).order).toEqual(['webgpu', 'onnxruntime']);
    expect(planEngines('webgpu', 'tfjs-graph', machine([NVIDIA])).order).toEqual(['tfjs-wasm']);
  });
});

describe('adapters and engines as people see them', () => {
  it('software adapters: SwiftShader, llvmpipe/lavapipe, a fallback adapter; hardware ones are not', () => {
    expect(isSoftwareAdapter({ vendor: 'google', architecture: 'swiftshader', description: 'SwiftShader driver 5.0.0' })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'mesa', architecture: '', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'x', architecture: 'y', description: 'z', isFallbackAdapter: true })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'nvidia', architecture: 'ada', description: 'NVIDIA GeForce RTX 4090' })).toBe(false);
    expect(isSoftwareAdapter({ vendor: 'amd', architecture: 'rdna-3', description: 'AMD Radeon RX 7900 XTX (RADV NAVI31)' })).toBe(false);
  });

  it('engine ids from descriptions', () => {
    const d = (engine: EngineDescription['engine'], backend: string): EngineDescription => ({ engine, backend, device: '' });
    expect([d('onnxruntime', 'cpu'), d('onnxruntime', 'cuda'), d('tfjs', 'webgpu'), d('tfjs', 'tensorflow'), d('tfjs', 'wasm')].map(engineIdOf)).toEqual([
      'onnxruntime',
      'onnxruntime',
      'webgpu',
      'tfjs-node-gpu',
      'tfjs-wasm',
    ]);
  });
});

describe('imagesPerRun', () => {
  it('fits the largest tensor of a run (×1.25) in the smaller limit, at least 1 and at most 64', () => {
    // ResNet-20's largest map: 16×32×32 floats = 65,536 B per image, 81,920 B with the margin.
    expect(imagesPerRun({ maxBufferSize: 2 ** 30, maxStorageBufferBindingSize: 2 ** 30 }, [3072, 16384])).toBe(64);
    expect(imagesPerRun({ maxBufferSize: 2 ** 30, maxStorageBufferBindingSize: 819_200 }, [3072, 16384])).toBe(10);
    expect(imagesPerRun({ maxBufferSize: 409_600, maxStorageBufferBindingSize: 2 ** 30 }, [3072, 16384])).toBe(5);
    expect(imagesPerRun({ maxBufferSize: 1000, maxStorageBufferBindingSize: 1000 }, [3072, 16384])).toBe(1);
  });
});

/** An engine that answers with one value per image, or fails as told. */
function fakeEngine(name: string, fail?: Error): FeatureExtractor & { runs: number; disposed: boolean } {
  return {
    preprocess: { width: 1, height: 1, resize: 'stretch', normalization: { kind: 'scale', scale: 1, offset: 0 }, channelOrder: 'RGB', layout: 'NCHW' },
    layers: [],
    runs: 0,
    disposed: false,
    describe: () => ({ engine: 'onnxruntime', backend: name, device: name }),
    async run(batch: Float32Array, batchSize: number, layerNames: readonly string[]): Promise<Map<string, FeatureMap>> {
      this.runs++;
      if (fail) throw fail;
      return new Map(layerNames.map((l) => [l, { data: batch.slice(), shape: [batchSize, 1] }]));
    },
    async dispose() {
      this.disposed = true;
    },
  };
}

describe('FallbackOnDeviceLoss', () => {
  it('a lost device: the batch runs again on the next engine, which keeps the rest of the job and says why', async () => {
    const gpu = fakeEngine('webgpu', new WebgpuDeviceLost('the WebGPU device was lost (unknown: driver reset)'));
    const cpu = fakeEngine('cpu');
    const engine = new FallbackOnDeviceLoss(gpu, async () => cpu);
    const out = await engine.run(new Float32Array([1, 2]), 2, ['pooled']);
    expect([...out.get('pooled')!.data]).toEqual([1, 2]);
    await engine.run(new Float32Array([3]), 1, ['pooled']);
    expect({ gpu: gpu.runs, cpu: cpu.runs, gpuDisposed: gpu.disposed }).toEqual({ gpu: 1, cpu: 2, gpuDisposed: true });
    expect(engine.describe()).toMatchObject({
      backend: 'cpu',
      fallbackReason: 'WebGPU failed: the WebGPU device was lost (unknown: driver reset): the rest of the job ran here',
    });
  });

  it('any other error is the caller’s: no fallback', async () => {
    const engine = new FallbackOnDeviceLoss(fakeEngine('webgpu', new StudioError('invalid_input', 'No output named x')), async () => fakeEngine('cpu'));
    await expect(engine.run(new Float32Array([1]), 1, ['x'])).rejects.toThrow('No output named x');
    expect(engine.describe().backend).toBe('webgpu');
  });
});

describe('doctorReport', () => {
  it('names every engine in order, marks what auto uses, and lists the adapters', () => {
    const report = doctorReport(machine([SWIFTSHADER]), 'the CUDA provider is not installed', 2);
    expect(report.engines.map((e) => [e.id, e.available, e.chosen])).toEqual([
      ['tfjs-node-gpu', false, false],
      ['webgpu', true, false],
      ['onnxruntime', true, true],
      ['tfjs-wasm', true, false],
    ]);
    expect(report.engines[1].reason).toMatch(/^only a software adapter .*--engine webgpu/);
    expect(report.engines[2].reason).toBe('CPU, 2 threads; no CUDA: the CUDA provider is not installed');
    expect(report.adapters).toEqual([SWIFTSHADER]);
    expect(doctorReport(machine([NVIDIA, SWIFTSHADER]), undefined, 8).engines.find((e) => e.chosen)).toMatchObject({
      id: 'webgpu',
      reason: 'hardware adapter: nvidia ada (NVIDIA RTX 4090 (Vulkan))',
    });
  });
});
