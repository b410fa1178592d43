/**
 * `atl-studio doctor [--json]`: what this machine offers the teachers' engines, which one `auto`
 * picks, why the others are not used, and the exact commands that add more (issue 12).
 */
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { cudaProviderMissing } from '../engines/onnx-extractor';
import { adapterLabel } from '../engines/webgpu-device';
import { ENGINE_IDS, machineEngines, planEngines, TFJS_NODE_GPU_INSTALL, type EngineId, type MachineEngines } from '../models/engine-choice';

/** What a user runs for more, with internet (onnxruntime-node's own install script, which `npm ci` skips here). */
export const MORE_ENGINES = [
  'ONNX Runtime on an NVIDIA GPU (Linux x64; needs the CUDA 12 runtime and cuDNN 9 installed): ' +
    'node node_modules/onnxruntime-node/script/install.js --onnxruntime-node-install=cuda12',
  `TF.js on libtensorflow's GPU build (Linux x64, NVIDIA): ${TFJS_NODE_GPU_INSTALL}`,
  'WebGPU on any GPU with a Vulkan driver (Linux): apt-get install -y libvulkan1 and the GPU vendor\'s Vulkan driver (mesa-vulkan-drivers for AMD/Intel)',
];

export interface DoctorReport {
  engines: Array<{ id: EngineId; available: boolean; chosen: boolean; reason: string }>;
  adapters: Array<{ vendor: string; architecture: string; description: string; software: boolean }>;
}

/** The report for `machine`, pure: `chosen` is the engine `auto` opens a TF.js layers teacher (the default teacher) on. */
export function doctorReport(machine: MachineEngines, cudaMissing: string | undefined, threads: number): DoctorReport {
  const chosen = planEngines('auto', 'tfjs-layers', machine).order[0];
  const { adapters, unavailable } = machine.webgpu;
  const hardware = adapters.find((a) => !a.software);
  const reasons: Record<EngineId, [boolean, string]> = {
    'tfjs-node-gpu': machine.tfjsNodeGpu === null ? [true, 'installed (CUDA when libtensorflow finds a GPU)'] : [false, machine.tfjsNodeGpu],
    webgpu: hardware
      ? [true, `hardware adapter: ${adapterLabel(hardware)}`]
      : adapters.length > 0
        ? [true, `only a software adapter (${adapterLabel(adapters[0])}): used only when chosen (--engine webgpu), slower than the CPU engines`]
        : [false, unavailable ?? 'no adapter'],
    onnxruntime: [true, `CPU, ${threads} thread${threads === 1 ? '' : 's'}; ${cudaMissing ? `no CUDA: ${cudaMissing}` : 'CUDA provider installed'}`],
    'tfjs-wasm': [true, 'CPU, WebAssembly, one worker thread per core (the last resort)'],
  };
  return {
    engines: ENGINE_IDS.map((id) => ({ id, available: reasons[id][0], chosen: id === chosen, reason: reasons[id][1] })),
    adapters: adapters.map(({ vendor, architecture, description, software }) => ({ vendor, architecture, description, software })),
  };
}

export function registerDoctorCommand(program: Command): Command {
  return program
    .command('doctor')
    .description('what this machine offers the engines, which one is used, and what to install for more')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const report = doctorReport(await machineEngines(), cudaProviderMissing(), availableParallelism());
      if (options.json) {
        console.log(JSON.stringify(report, null, 2));
        return;
      }
      console.log('Engines (fastest first; * = what auto uses):');
      for (const e of report.engines) {
        console.log(`${e.chosen ? '*' : ' '} ${e.id.padEnd(14)} ${e.available ? 'available  ' : 'unavailable'}  ${e.reason}`);
      }
      console.log(`WebGPU adapters: ${report.adapters.length === 0 ? 'none' : ''}`);
      for (const a of report.adapters) console.log(`  ${adapterLabel(a)}`);
      console.log('For more:');
      for (const line of MORE_ENGINES) console.log(`  ${line}`);
    });
}
