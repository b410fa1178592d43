// Starts a worker thread from source (vitest, tsx): registers tsx in this thread, then loads the
// TypeScript entry that worker-entry.ts named. The electron-vite bundle starts out/main/<name>.js instead.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.tsEntry);
