/** Debian's Chromium driven by playwright-core, against the studio in web mode. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { Studio } from '../../src/main/services/studio';
import { startWebServer, type RunningWebServer } from '../../src/main/web/server';
import { REPO } from './fixtures';

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
