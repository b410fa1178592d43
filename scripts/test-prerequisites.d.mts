export const CHROMIUM: string;
export const INSTALL_CHROMIUM: string;
export function hasVulkanLoader(): boolean;
export function ensureChromium(options?: {
  chromium?: string;
  root?: boolean;
  apt?: boolean;
  /** Installs Chromium; null on success, else what failed. */
  install?: () => string | null;
  /** Whether the Vulkan loader is there (root installs it with Chromium when it is not). */
  vulkan?: () => boolean;
}): string | null;
