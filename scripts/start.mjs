// `npm start`: the desktop app when Electron's binary is installed, otherwise the same studio in
// web mode in the default browser (the Electron binary cannot be downloaded everywhere).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { electronBinary, electronDir } from './electron-binary.mjs';

const root = join(dirname(new URL(import.meta.url).pathname), '..');

const run = (command, args, env = process.env) =>
  spawn(command, args, { cwd: root, stdio: 'inherit', env }).on('exit', (code) => process.exit(code ?? 0));

if (!existsSync(join(root, 'out/renderer/index.html'))) {
  console.error('The studio is not built yet: run `npm run setup` (or `npm run build`) first.');
  process.exit(1);
}
let binary = process.argv.includes('--web') ? null : electronBinary();
if (!binary && !process.argv.includes('--web')) {
  // Electron downloads its binary on first use; try once, and fall back to web mode offline.
  console.log('Fetching the Electron binary (once)...');
  const fetched = spawnSync(process.execPath, [join(electronDir(), 'install.js')], { stdio: 'inherit', timeout: 300_000 });
  binary = fetched.status === 0 ? electronBinary() : null;
}
if (binary) {
  run(binary, ['.'], { ...process.env, ATL_NODE: process.execPath });
} else {
  console.log('No Electron binary (offline, or --web): starting the studio in web mode in your browser instead.');
  run(process.execPath, [join(root, 'bin/atl-studio.mjs'), 'serve', '--open']);
}
