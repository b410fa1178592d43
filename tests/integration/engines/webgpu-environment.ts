/**
 * Where the WebGPU tests run: on a GPU the machine's adapter; on a machine without one (CI), Dawn is
 * pointed at Chromium's SwiftShader Vulkan driver before it starts (VK_ICD_FILENAMES is read once, by
 * the Vulkan loader). Without the Vulkan loader at all the tests skip, saying why, except in CI,
 * whose prerequisites install it.
 */
import { existsSync, readdirSync } from 'node:fs';
import { hasVulkanLoader } from '../../../scripts/test-prerequisites.mjs';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** A GPU's device node (Linux): then Dawn is left to find the hardware adapter. */
function hasGpuDevice(): boolean {
  const dri = existsSync('/dev/dri') && readdirSync('/dev/dri').some((f) => f.startsWith('renderD'));
  return dri || existsSync('/dev/nvidia0');
}

/** Sets VK_ICD_FILENAMES to SwiftShader where needed; returns why the tests cannot run, or null. */
export function prepareWebgpuEnvironment(): string | null {
  if (process.platform !== 'linux') return null;
  if (!hasVulkanLoader()) return 'no Vulkan loader (apt-get install -y libvulkan1)';
  if (!hasGpuDevice() && !process.env.VK_ICD_FILENAMES) {
    if (!existsSync(SWIFTSHADER_ICD)) return `no GPU and no SwiftShader at ${SWIFTSHADER_ICD} (apt-get install -y chromium)`;
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  }
  return null;
}

/** The reason to skip, printed; in CI a missing prerequisite fails instead. */
export function webgpuSkipReason(): string | null {
  const why = prepareWebgpuEnvironment();
  if (why && process.env.CI) throw new Error(`The WebGPU tests must run in CI: ${why}`);
  if (why) console.log(`Skipping the WebGPU tests: ${why}`);
  return why;
}
