// `npm test`'s first step (pretest): what the tests need beyond the npm packages, checked before
// the long run. The end-to-end tests drive Debian's Chromium (tests/helpers/browser.ts): where it
// is missing, root on Debian installs it with apt; anyone else is told the one command to run.
// Root installs the Vulkan loader (libvulkan1) with it, which the WebGPU engine's tests need (Dawn
// finds Chromium's SwiftShader through it on a machine without a GPU; without it they skip).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export const CHROMIUM = '/usr/bin/chromium';
export const INSTALL_CHROMIUM = 'apt-get install -y chromium';

/** Whether the Vulkan loader is installed (Debian's libvulkan1, any architecture). */
export function hasVulkanLoader() {
  return ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib'].some((dir) => existsSync(`${dir}/libvulkan.so.1`));
}

/**
 * Makes sure Chromium is at `chromium`, installing it when `root` and `apt` allow. Returns null
 * when it is there, or the one line that says why not and what to run.
 */
export function ensureChromium({
  chromium = CHROMIUM,
  root = process.getuid?.() === 0,
  apt = existsSync('/usr/bin/apt-get'),
  install = aptInstallChromium,
  vulkan = hasVulkanLoader,
} = {}) {
  if (existsSync(chromium) && (vulkan() || !root || !apt)) return null;
  if (!root || !apt) {
    const command = apt ? `sudo ${INSTALL_CHROMIUM}` : `${INSTALL_CHROMIUM} (on Debian, as root)`;
    return `The end-to-end tests need Chromium at ${chromium}: run \`${command}\`, then \`npm test\` again.`;
  }
  console.log(`Installing Debian's Chromium for the end-to-end tests (${INSTALL_CHROMIUM})...`);
  const failure = install();
  if (failure || !existsSync(chromium)) {
    return `Chromium could not be installed (${failure ?? `${chromium} is still missing`}): run \`${INSTALL_CHROMIUM}\` by hand, then \`npm test\` again.`;
  }
  return null;
}

/** apt-get update, then install; null when both succeed, else what failed. */
function aptInstallChromium() {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', 'chromium', 'libvulkan1']]) {
    const result = spawnSync('apt-get', args, { env, stdio: ['ignore', 'ignore', 'inherit'] });
    if (result.status !== 0) return `apt-get ${args[0]} exited with code ${result.status ?? result.signal}`;
  }
  return null;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const problem = ensureChromium();
  if (problem) {
    console.error(problem);
    process.exit(1);
  }
}
