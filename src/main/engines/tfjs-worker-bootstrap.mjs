// Runs the TF.js pool's worker from source (vitest, tsx): registers tsx in this thread, then
// loads the TypeScript worker. The electron-vite bundle starts out/main/tfjs-worker.js instead.
import { register } from 'tsx/esm/api';

register();
await import('./tfjs-worker.ts');
