import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// Three builds: the thin Electron main (+ the Node service host it forks, and its worker threads:
// the TF.js pool's, out/main/tfjs-worker.js, the large fits', out/main/compute-worker.js, and
// extraction's image preparation, out/main/image-preparer-worker.js), the
// preload, and the Svelte renderer, which the web mode serves too (out/renderer).
export default defineConfig({
  main: {
    build: {
      externalizeDeps: true,
      rollupOptions: {
        input: {
          index: resolve(__dirname, 'src/main/electron-main/index.ts'),
          'service-host': resolve(__dirname, 'src/main/electron-main/service-host.ts'),
          // The TF.js worker pool starts this file beside the service host (tfjs-worker-pool.ts).
          'tfjs-worker': resolve(__dirname, 'src/main/engines/tfjs-worker.ts'),
          // compute-thread.ts starts this one for fits on large feature sets.
          'compute-worker': resolve(__dirname, 'src/main/services/compute-worker.ts'),
          // Extraction prepares many images on threads of this file (features/image-preparer.ts).
          'image-preparer-worker': resolve(__dirname, 'src/main/features/image-preparer-worker.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      externalizeDeps: true,
      rollupOptions: {
        input: { index: resolve(__dirname, 'src/preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve(__dirname, 'src/renderer'),
    plugins: [svelte({ configFile: resolve(__dirname, 'svelte.config.js') })],
    build: {
      rollupOptions: { input: resolve(__dirname, 'src/renderer/index.html') },
    },
  },
});
