/**
 * Where a worker thread's entry is, from source or from the bundle. From source (vitest, tsx: the
 * calling module ends in .ts) the thread starts ts-worker-bootstrap.mjs, which registers tsx in the
 * thread and imports `<name>.ts` beside the caller; in the electron-vite bundle it is
 * out/main/<name>.js (the caller may sit in out/main/chunks/), an entry of electron.vite.config.ts.
 */
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface WorkerEntry {
  url: URL;
  /** Merge into the worker's `workerData`: from source, the TypeScript file the bootstrap imports. */
  workerData: { tsEntry?: string };
}

export function workerEntry(callerUrl: string, name: string): WorkerEntry {
  const caller = fileURLToPath(callerUrl);
  let dir = dirname(caller);
  if (caller.endsWith('.ts')) {
    // Not `new URL(…, import.meta.url)`: the bundler would take that for an asset to ship.
    const bootstrap = join(dirname(fileURLToPath(import.meta.url)), 'ts-worker-bootstrap.mjs');
    return { url: pathToFileURL(bootstrap), workerData: { tsEntry: pathToFileURL(join(dir, `${name}.ts`)).href } };
  }
  if (basename(dir) === 'chunks') dir = dirname(dir);
  return { url: pathToFileURL(join(dir, `${name}.js`)), workerData: {} };
}
