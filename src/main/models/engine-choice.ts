/**
 * Engine choice, in one place: which engine runs a teacher (never silently slow: the choice and
 * the reason for any fallback travel with it), and which one checks a teacher's files on import.
 * The rules are a pure function of what the machine offers (`planEngines`), tested with adapters
 * described as data.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import type { Pooling } from '../core/pooling-spec';
import { runPooled, type EngineDescription, type FeatureExtractor, type FeatureLayer, type FeatureMap } from '../engines/feature-extractor';
import { createOnnxExtractor } from '../engines/onnx-extractor';
import type { PreprocessSpec } from '../engines/preprocess';
import type { TeacherSpec } from '../engines/teachers';
import { adapterLabel, webgpuOffer, type AdapterDescription, type WebgpuOffer } from '../engines/webgpu-device';
import { WebgpuDeviceLost, WebgpuExtractor } from '../engines/webgpu-extractor';
import { errorMessage, StudioError } from '../core/errors';

/** The engines the studio can run a teacher on, fastest first (the order `auto` tries them in). */
export const ENGINE_IDS = ['tfjs-node-gpu', 'webgpu', 'onnxruntime', 'tfjs-wasm'] as const;
export type EngineId = (typeof ENGINE_IDS)[number];
/** `auto`, or an engine tried first (a software WebGPU adapter is used only when forced). */
export type EnginePreference = 'auto' | 'webgpu' | 'onnxruntime' | 'tfjs-wasm';

/** What this machine offers, as the plan reads it. */
export interface MachineEngines {
  /** Why tfjs-node-gpu cannot run here; null when it is installed. */
  tfjsNodeGpu: string | null;
  webgpu: WebgpuOffer;
}

export interface EnginePlan {
  /** The engines to try for the teacher, in order. */
  order: EngineId[];
  /** The engines left out ahead of the ones tried, each with why (what a fallback reason says). */
  skipped: Array<{ id: EngineId; reason: string }>;
}

const RUNS: Record<EngineId, ReadonlyArray<TeacherSpec['format']>> = {
  'tfjs-node-gpu': ['tfjs-layers', 'tfjs-graph'],
  webgpu: ['tfjs-layers', 'onnx'],
  onnxruntime: ['tfjs-layers', 'onnx'],
  'tfjs-wasm': ['tfjs-layers', 'tfjs-graph'],
};

/**
 * Which engines to try for a teacher of `format`, pure: tfjs-node-gpu where it is installed →
 * WebGPU on a hardware adapter → ONNX Runtime (CPU, or CUDA where its provider is installed) →
 * TF.js on WebAssembly. A preference goes first; a software adapter counts only when WebGPU is
 * the preference. Engines that cannot read the format are left out silently.
 */
export function planEngines(preference: EnginePreference, format: TeacherSpec['format'], machine: MachineEngines): EnginePlan {
  const wanted: EngineId[] = preference === 'auto' ? [...ENGINE_IDS] : [preference, ...ENGINE_IDS.filter((id) => id !== preference)];
  const order: EngineId[] = [];
  const skipped: EnginePlan['skipped'] = [];
  for (const id of wanted.filter((e) => RUNS[e].includes(format))) {
    const reason = unavailable(id, preference, machine);
    if (reason) {
      if (order.length === 0) skipped.push({ id, reason });
    } else {
      order.push(id);
    }
  }
  return { order, skipped };
}

function unavailable(id: EngineId, preference: EnginePreference, machine: MachineEngines): string | null {
  if (id === 'tfjs-node-gpu') return machine.tfjsNodeGpu;
  if (id !== 'webgpu') return null;
  const { adapters, unavailable: none } = machine.webgpu;
  if (adapters.some((a) => !a.software)) return null;
  if (adapters.length > 0) {
    if (preference === 'webgpu') return null;
    return `only a software adapter (${adapterLabel(adapters[0])}), slower than the CPU engines; choose the WebGPU engine to use it anyway`;
  }
  return none ?? 'no adapter';
}

/** What this machine offers (WebGPU's adapters found once per process). */
export async function machineEngines(): Promise<MachineEngines> {
  return {
    tfjsNodeGpu: installed('@tensorflow/tfjs-node-gpu') ? null : `not installed (${TFJS_NODE_GPU_INSTALL})`,
    webgpu: await webgpuOffer(),
  };
}

/** What a user runs for tfjs-node-gpu (Linux, NVIDIA): its install downloads libtensorflow 2.x for CUDA 11.2 + cuDNN 8.1. */
export const TFJS_NODE_GPU_INSTALL = 'npm install @tensorflow/tfjs-node-gpu, with CUDA 11.2 and cuDNN 8.1 installed';

let processPreference: EnginePreference = 'auto';

/**
 * The engine this process opens teachers on unless told otherwise: `extract --engine`, or the
 * studio's setting. Teachers already open keep theirs (the caller forgets them to reopen).
 */
export function setEnginePreference(preference: EnginePreference): void {
  processPreference = preference;
}

export interface ExtractorOptions {
  /** Default: the process's preference (`setEnginePreference`), `auto` unless set. */
  engine?: EnginePreference;
  /** Tests only: what the machine offers, instead of asking it. */
  machine?: MachineEngines;
}

/**
 * Opens the teacher on the first engine of the plan that opens; the reasons the faster ones were
 * not used travel in `describe().fallbackReason`. On WebGPU, a lost device moves the rest of the
 * job to the next engine (`FallbackOnDeviceLoss`).
 */
export async function createExtractor(spec: TeacherSpec, options: ExtractorOptions = {}): Promise<FeatureExtractor> {
  const preference = options.engine ?? processPreference;
  const plan = planEngines(preference, spec.format, options.machine ?? (await machineEngines()));
  const reasons = plan.skipped.map(({ id, reason }) => `${id}: ${reason}`);
  for (const [i, id] of plan.order.entries()) {
    const last = i === plan.order.length - 1;
    try {
      const extractor = await openEngine(id, spec, preference === 'webgpu');
      const opened = withReasons(extractor, reasons);
      if (id !== 'webgpu') return opened;
      const rest = plan.order.slice(i + 1);
      return new FallbackOnDeviceLoss(opened, () => openFirst(rest, spec));
    } catch (error) {
      // A teacher's bad file is the file's fault, whatever the engine: say so rather than try on.
      if (last || (error instanceof StudioError && error.code === 'bad_file' && id !== 'webgpu')) throw error;
      reasons.push(`${id} failed: ${errorMessage(error).split('\n')[0]}`);
    }
  }
  throw new StudioError('internal', `No engine can run ${spec.name}: ${reasons.join('; ')}`);
}

async function openFirst(order: readonly EngineId[], spec: TeacherSpec): Promise<FeatureExtractor> {
  let failure: unknown = new StudioError('internal', `No other engine can run ${spec.name}`);
  for (const id of order) {
    try {
      return await openEngine(id, spec, false);
    } catch (error) {
      failure = error;
    }
  }
  throw failure;
}

async function openEngine(id: EngineId, spec: TeacherSpec, allowSoftware: boolean): Promise<FeatureExtractor> {
  switch (id) {
    case 'webgpu': {
      const { createWebgpuExtractor } = await import('../engines/webgpu-extractor');
      return createWebgpuExtractor(spec, { allowSoftware });
    }
    case 'onnxruntime':
      return createOnnxExtractor(spec);
    case 'tfjs-node-gpu': {
      const extractor = await createTfjsEngine(spec);
      // Installed but not loading (no CUDA libraries): TF.js fell back to another backend.
      if (extractor.describe().backend !== 'tensorflow') {
        await extractor.dispose();
        throw new StudioError('internal', `@tensorflow/tfjs-node-gpu did not load (${extractor.describe().fallbackReason ?? 'no reason given'})`);
      }
      return extractor;
    }
    case 'tfjs-wasm':
      return createTfjsEngine(spec);
  }
}

/** The extractor, its description carrying why faster engines were not used (before its own reason). */
function withReasons(extractor: FeatureExtractor, reasons: readonly string[]): FeatureExtractor {
  if (reasons.length === 0) return extractor;
  const describe = extractor.describe.bind(extractor);
  extractor.describe = (): EngineDescription => {
    const description = describe();
    return { ...description, fallbackReason: [...reasons, ...(description.fallbackReason ? [description.fallbackReason] : [])].join('; ') };
  };
  return extractor;
}

/** The WebGPU adapter an extractor computes on, if it runs on WebGPU (after a device loss, none). */
export function webgpuAdapterOf(extractor: FeatureExtractor): AdapterDescription | null {
  const active = extractor instanceof FallbackOnDeviceLoss ? extractor.active : extractor;
  return active instanceof WebgpuExtractor ? active.adapter : null;
}

/** The id of the engine a description names (what `extract --json` and `doctor` report). */
export function engineIdOf(description: EngineDescription): EngineId {
  if (description.engine === 'onnxruntime') return 'onnxruntime';
  if (description.backend === 'webgpu') return 'webgpu';
  return description.backend === 'tensorflow' ? 'tfjs-node-gpu' : 'tfjs-wasm';
}

/**
 * A WebGPU extractor that, when its device is lost (driver reset), fails nothing more: the batch
 * runs again on the next engine, which keeps the rest of the job. Work already cached stays.
 */
export class FallbackOnDeviceLoss implements FeatureExtractor {
  private current: FeatureExtractor;
  private lostReason?: string;

  constructor(
    primary: FeatureExtractor,
    private readonly openNext: () => Promise<FeatureExtractor>,
  ) {
    this.current = primary;
  }

  get preprocess(): PreprocessSpec {
    return this.current.preprocess;
  }

  get layers(): readonly FeatureLayer[] {
    return this.current.layers;
  }

  /** The engine in use: WebGPU, or after a device loss the engine that took over. */
  get active(): FeatureExtractor {
    return this.current;
  }

  describe(): EngineDescription {
    const description = this.current.describe();
    if (!this.lostReason) return description;
    const own = description.fallbackReason ? `; ${description.fallbackReason}` : '';
    return { ...description, fallbackReason: `${this.lostReason}: the rest of the job ran here${own}` };
  }

  run(batch: Float32Array, batchSize: number, layerNames: readonly string[], signal?: AbortSignal): Promise<Map<string, FeatureMap>> {
    return this.withFallback((e) => e.run(batch, batchSize, layerNames, signal));
  }

  runPooled(batch: Float32Array, batchSize: number, layers: readonly FeatureLayer[], pooling: Pooling, signal?: AbortSignal): Promise<Map<string, FeatureMap>> {
    return this.withFallback((e) => runPooled(e, batch, batchSize, layers, pooling, signal));
  }

  dispose(): Promise<void> {
    return this.current.dispose();
  }

  private async withFallback(work: (extractor: FeatureExtractor) => Promise<Map<string, FeatureMap>>): Promise<Map<string, FeatureMap>> {
    try {
      return await work(this.current);
    } catch (error) {
      if (!(error instanceof WebgpuDeviceLost) || this.lostReason) throw error;
      this.lostReason = error.message;
      const lost = this.current;
      this.current = await this.openNext();
      await lost.dispose().catch(() => undefined);
      return work(this.current);
    }
  }
}

/**
 * A TF.js engine for a layers or graph model. libtensorflow computes on every core by itself; the
 * WebAssembly backend uses one thread, so there a pool of worker threads (one per core) runs it.
 */
async function createTfjsEngine(spec: TeacherSpec): Promise<FeatureExtractor> {
  const { tfjsBackend, createTfjsExtractor } = await import('../engines/tfjs-extractor');
  const backend = await tfjsBackend();
  if (backend.backend === 'wasm' && availableParallelism() > 1) {
    const { createTfjsWorkerPool } = await import('../engines/tfjs-worker-pool');
    return createTfjsWorkerPool(spec);
  }
  if (spec.format === 'tfjs-graph') {
    const { createTfjsGraphExtractor } = await import('../engines/tfjs-graph-extractor');
    return createTfjsGraphExtractor(spec);
  }
  return createTfjsExtractor(spec);
}

function installed(pkg: string): boolean {
  try {
    createRequire(import.meta.url).resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

/**
 * Opens the teacher in the engine that will run it and closes it again: reads every weight and
 * checks every declared layer, so errors name the file. A small session (CPU, one thread) is enough.
 */
export async function checkTeacherLoads(spec: TeacherSpec): Promise<void> {
  if (spec.format === 'tfjs-graph') {
    const { createTfjsGraphExtractor } = await import('../engines/tfjs-graph-extractor');
    await (await createTfjsGraphExtractor(spec)).dispose();
  } else {
    await (await createOnnxExtractor(spec, { cuda: false, threads: 1 })).dispose();
  }
}
