export const CHROMIUM: string;
export const INSTALL_CHROMIUM: string;
export function ensureChromium(options?: {
  chromium?: string;
  root?: boolean;
  apt?: boolean;
  /** Installs Chromium; null on success, else what failed. */
  install?: () => string | null;
}): string | null;
