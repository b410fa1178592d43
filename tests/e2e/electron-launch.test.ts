/**
 * Launches the real Electron app where its binary exists. Here (no binary can be downloaded)
 * it skips and says why.
 */
import { _electron as electron } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { electronBinary } from '../../scripts/electron-binary.mjs';
import { REPO, tempDir } from '../helpers/fixtures';

const binary = electronBinary();
if (!binary) {
  console.log('SKIP electron launch: the Electron binary is not installed (node_modules/electron has no dist/; it cannot be downloaded on this machine).');
}

describe('Electron app', () => {
  it.skipIf(!binary)('opens a sandboxed window that shows the studio', async () => {
    const home = tempDir('atl-electron-');
    const app = await electron.launch({
      executablePath: binary!,
      args: [REPO],
      env: { ...process.env, ATL_STUDIO_HOME: home.path, ATL_NODE: process.execPath },
    });
    try {
      const window = await app.firstWindow();
      await expect.poll(() => window.getByTestId('project-title').textContent(), { timeout: 60_000 }).toMatch(/Demo/);
      // contextIsolation + sandbox: no Node in the page, only the bridge.
      expect(await window.evaluate(() => typeof (globalThis as { require?: unknown }).require)).toBe('undefined');
      expect(await window.evaluate(() => typeof (window as unknown as { atl: unknown }).atl)).toBe('object');
    } finally {
      await app.close();
      home.remove();
    }
  });
});
