/**
 * WebGPU in the service process, without any CUDA install: Dawn (Chromium's WebGPU) ships for Node
 * as the npm package `webgpu` (a prebuilt dawn.node). This module finds the adapters it offers and
 * gives TF.js a `webgpu` backend on the adapter the engine choice picked.
 *
 * TF.js's own registration of its WebGPU backend only happens when `navigator.gpu` exists at import;
 * the studio never sets that global (it would make WebGPU TF.js's default backend for everyone) and
 * registers the backend itself, with the adapter it chose. The backend is process-wide in TF.js, so
 * the extractor switches to it only for the synchronous part of a run (see `onWebgpu`).
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { StudioError, errorMessage } from '../core/errors';

/** An adapter as people and the engine choice see it. */
export interface AdapterDescription {
  vendor: string;
  architecture: string;
  description: string;
  /** A CPU implementation (SwiftShader, lavapipe/llvmpipe, a fallback adapter): slower than the CPU engines. */
  software: boolean;
}

/** The size limits a batch must respect (bytes). */
export interface AdapterLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

interface GpuAdapterLike {
  info: { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter?: boolean };
  limits: AdapterLimits & Record<string, number>;
  features: { has(name: string): boolean };
  requestDevice(descriptor?: unknown): Promise<GpuDeviceLike>;
}

interface GpuDeviceLike {
  lost: Promise<{ reason: string; message: string }>;
  destroy(): void;
}

interface GpuLike {
  requestAdapter(options?: { powerPreference?: 'high-performance' | 'low-power'; forceFallbackAdapter?: boolean }): Promise<GpuAdapterLike | null>;
}

/** What WebGPU offers on this machine: its adapters, or why there are none. */
export interface WebgpuOffer {
  adapters: AdapterDescription[];
  /** Set when no adapter could be found, with the reason. */
  unavailable?: string;
}

const execFileAsync = promisify(execFile);

const SOFTWARE_NAMES = /swiftshader|llvmpipe|lavapipe|software|microsoft basic render/i;

/** Whether an adapter computes on the CPU: a fallback adapter, or a known software driver by name. */
export function isSoftwareAdapter(info: { vendor: string; architecture: string; device?: string; description: string; isFallbackAdapter?: boolean }): boolean {
  if (info.isFallbackAdapter) return true;
  return SOFTWARE_NAMES.test([info.vendor, info.architecture, info.device ?? '', info.description].join(' '));
}

/** "google swiftshader (SwiftShader driver 5.0.0)": how the UI and the CLI name an adapter. */
export function adapterLabel(adapter: AdapterDescription): string {
  const name = [adapter.vendor, adapter.architecture].filter(Boolean).join(' ') || 'unknown adapter';
  return `${name}${adapter.description ? ` (${adapter.description})` : ''}${adapter.software ? ', software' : ''}`;
}

function describe(adapter: GpuAdapterLike): AdapterDescription {
  const { vendor, architecture, description } = adapter.info;
  return { vendor, architecture, description, software: isSoftwareAdapter(adapter.info) };
}

let gpu: GpuLike | undefined;

/** Dawn's entry point, loaded once; its globals (GPUBufferUsage…) are what TF.js's backend reads. */
async function dawn(): Promise<GpuLike> {
  if (!gpu) {
    const { create, globals } = (await import('webgpu')) as unknown as { create(flags: string[]): GpuLike; globals: object };
    Object.assign(globalThis, globals);
    gpu = create([]);
  }
  return gpu;
}

/** What Dawn is asked for: the fast adapter, the low-power one, and the fallback (in this process and in the probe). */
const ADAPTER_REQUESTS = [{ powerPreference: 'high-performance' }, { powerPreference: 'low-power' }, { forceFallbackAdapter: true }] as const;

/** Each distinct adapter Dawn offers. */
async function requestAdapters(): Promise<GpuAdapterLike[]> {
  const g = await dawn();
  const found: GpuAdapterLike[] = [];
  for (const options of ADAPTER_REQUESTS) {
    const adapter = await g.requestAdapter(options).catch(() => null);
    if (adapter && !found.some((a) => sameAdapter(a, adapter))) found.push(adapter);
  }
  return found;
}

function sameAdapter(a: GpuAdapterLike, b: GpuAdapterLike): boolean {
  return a === b || JSON.stringify(describe(a)) === JSON.stringify(describe(b)) && a.info.device === b.info.device;
}

let offer: Promise<WebgpuOffer> | undefined;

/**
 * The adapters, found once per process (~0.5 s; never throws). They are found in a child process:
 * Dawn and the Vulkan drivers write their warnings (an adapter they reject, XDG_RUNTIME_DIR…)
 * straight to the process's stderr, which would land in every CLI command's output, and a driver
 * that crashes while probed takes only the child down.
 */
export function webgpuOffer(): Promise<WebgpuOffer> {
  offer ??= probeAdapters();
  return offer;
}

/** Run by `node --input-type=module -e` with the `webgpu` package's URL: each adapter's info, as JSON on stdout. */
const PROBE = `
const { create, globals } = await import(process.argv[1]);
Object.assign(globalThis, globals);
const gpu = create([]);
const found = [];
for (const options of ${JSON.stringify(ADAPTER_REQUESTS)}) {
  const adapter = await gpu.requestAdapter(options).catch(() => null);
  if (adapter) found.push({ ...Object.fromEntries(['vendor', 'architecture', 'device', 'description'].map((k) => [k, adapter.info[k] ?? ''])), isFallbackAdapter: !!adapter.info.isFallbackAdapter });
}
process.stdout.write(JSON.stringify(found), () => process.exit(0));
`;

async function probeAdapters(): Promise<WebgpuOffer> {
  try {
    const url = pathToFileURL(createRequire(import.meta.url).resolve('webgpu')).href;
    // Electron's binary runs as Node with ELECTRON_RUN_AS_NODE; plain Node ignores it.
    const { stdout } = await execFileAsync(process.execPath, ['--input-type=module', '-e', PROBE, url], {
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      timeout: PROBE_TIMEOUT_MS,
      maxBuffer: 1 << 20,
    });
    const infos = JSON.parse(stdout) as GpuAdapterLike['info'][];
    const distinct = infos.filter((info, i) => infos.findIndex((other) => JSON.stringify(other) === JSON.stringify(info)) === i);
    const adapters = distinct.map((info) => ({ vendor: info.vendor, architecture: info.architecture, description: info.description, software: isSoftwareAdapter(info) }));
    if (adapters.length === 0) return { adapters, unavailable: noAdapterReason() };
    return { adapters };
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim().split('\n').at(-1);
    return { adapters: [], unavailable: `WebGPU (Dawn) did not start: ${stderr || errorMessage(error).split('\n')[0]}` };
  }
}

/** A probe that takes longer has a driver hanging: WebGPU is reported unavailable. */
const PROBE_TIMEOUT_MS = 30_000;

function noAdapterReason(): string {
  if (process.platform === 'linux') {
    return 'Dawn found no WebGPU adapter (on Linux it needs the Vulkan loader, libvulkan1, and a Vulkan driver for the GPU)';
  }
  return 'Dawn found no WebGPU adapter';
}

/** The adapter TF.js's backend runs on, its limits, and whether its device was lost. */
export interface WebgpuBackendState {
  adapter: AdapterDescription;
  limits: AdapterLimits;
  /** Set when the device is lost (driver reset, destroyed): every later run fails with it. */
  lost?: string;
  device: GpuDeviceLike;
}

let backend: Promise<WebgpuBackendState> | undefined;

/**
 * Registers and initializes TF.js's `webgpu` backend on a hardware adapter, or on a software one
 * when `allowSoftware` (a forced choice). Once per process, until its device is lost: then the next
 * call starts a new device.
 */
export async function webgpuBackend(allowSoftware: boolean): Promise<WebgpuBackendState> {
  const current = await backend?.catch(() => undefined);
  if (current && !current.lost) {
    if (current.adapter.software && !allowSoftware) {
      throw new StudioError('invalid_input', `WebGPU runs on a software adapter here (${adapterLabel(current.adapter)})`);
    }
    return current;
  }
  backend = startBackend(allowSoftware);
  return backend;
}

async function startBackend(allowSoftware: boolean): Promise<WebgpuBackendState> {
  const { WebGPUBackend } = (await import('@tensorflow/tfjs-backend-webgpu')) as unknown as {
    WebGPUBackend: new (device: GpuDeviceLike, info: unknown) => tf.KernelBackend & { device: GpuDeviceLike };
  };
  const adapters = await requestAdapters();
  const adapter = adapters.find((a) => !describe(a).software) ?? (allowSoftware ? adapters[0] : undefined);
  if (!adapter) {
    const why = adapters.length > 0 ? `only a software adapter (${adapterLabel(describe(adapters[0]))})` : 'no adapter';
    throw new StudioError('invalid_input', `WebGPU has ${why}`);
  }
  const { limits } = adapter;
  // The limits TF.js's own registration asks for: the adapter's, not WebGPU's small defaults.
  const device = await adapter.requestDevice({
    requiredFeatures: adapter.features.has('timestamp-query') ? ['timestamp-query'] : [],
    requiredLimits: {
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
    },
  });
  const state: WebgpuBackendState = {
    adapter: describe(adapter),
    limits: { maxBufferSize: limits.maxBufferSize, maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize },
    device,
  };
  void device.lost.then((info) => {
    state.lost = `the WebGPU device was lost (${info.reason}${info.message ? `: ${info.message}` : ''})`;
  });
  exposeNavigatorGpu(await dawn());
  // A backend of a lost device is replaced: TF.js keeps one instance per name.
  if (tf.engine().backendNames().includes('webgpu')) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => new WebGPUBackend(device, adapter.info), 0);
  const previous = tf.getBackend();
  if (!(await tf.setBackend('webgpu'))) throw new StudioError('internal', 'TF.js could not start its WebGPU backend');
  if (previous && previous !== 'webgpu') await tf.setBackend(previous);
  return state;
}

/**
 * TF.js's backend checks `navigator.gpu` when it is built: give it Dawn's, on Node's own navigator
 * (Node 21+) or on a plain one (Node 20). Only after TF.js's module loaded, so it never registered
 * its own backend.
 */
function exposeNavigatorGpu(g: GpuLike): void {
  const global = globalThis as { navigator?: object };
  if (global.navigator) Object.defineProperty(global.navigator, 'gpu', { value: g, configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu: g }, configurable: true, writable: true });
}

/**
 * Runs `work` (synchronous TF.js ops only) on the WebGPU backend and switches back to the backend
 * that was active: other TF.js engines in this process keep theirs, and no await can interleave.
 */
export function onWebgpu<T>(work: () => T): T {
  const previous = tf.getBackend();
  if (previous !== 'webgpu') void tf.setBackend('webgpu'); // initialized already: switches synchronously
  try {
    return work();
  } finally {
    if (previous && previous !== 'webgpu') void tf.setBackend(previous);
  }
}
