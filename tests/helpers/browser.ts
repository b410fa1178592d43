/** Debian's Chromium driven by playwright-core, against the studio in web mode. */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Studio } from '../../src/main/app/studio';
import { startWebServer, type RunningWebServer } from '../../src/main/web/server';
import { REPO, tempDir } from './fixtures';

export const CHROMIUM = '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** A studio with its own home folder, started as `atl-studio serve` starts it, on a free port. */
export async function startStudioWeb(home: string): Promise<{ studio: Studio; web: RunningWebServer }> {
  const rendererDir = join(REPO, 'out/renderer');
  if (!existsSync(join(rendererDir, 'index.html'))) throw new Error('Build the renderer first: npm run build');
  const studio = new Studio({ home, front: 'web' });
  await studio.start();
  const web = await startWebServer({ studio, rendererDir });
  return { studio, web };
}

/** Where end-to-end tests save their screenshots (created by `openStudioSession`). */
export const SCREENSHOTS = join(REPO, 'test-results');

export interface StudioSession {
  studio: Studio;
  web: RunningWebServer;
  page: Page;
  close(): Promise<void>;
}

/**
 * A studio in web mode with a fresh home folder and a Chromium page (not yet navigated), for one
 * end-to-end test file. `prepare` runs against the studio before the browser starts.
 */
export async function openStudioSession(prefix: string, prepare?: (studio: Studio) => Promise<void>): Promise<StudioSession> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const dir = tempDir(prefix);
  const { studio, web } = await startStudioWeb(join(dir.path, 'home'));
  await prepare?.(studio);
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  return {
    studio,
    web,
    page,
    close: async () => {
      await browser.close();
      await web.close();
      await studio.dispose();
      dir.remove();
    },
  };
}
