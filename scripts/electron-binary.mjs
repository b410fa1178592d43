// Where Electron's binary is, or null when it is not installed (it is fetched on first use, and
// cannot be where the network is closed). Used by `npm start` and the Electron launch test.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

export function electronDir() {
  return dirname(require.resolve('electron/package.json'));
}

export function electronBinary() {
  try {
    const pathFile = join(electronDir(), 'path.txt');
    if (!existsSync(pathFile)) return null;
    const binary = join(electronDir(), 'dist', readFileSync(pathFile, 'utf8').trim());
    return existsSync(binary) ? binary : null;
  } catch {
    return null;
  }
}
