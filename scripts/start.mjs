// `npm start`: the desktop app when Electron's binary is installed, otherwise the same studio in
// web mode in the default browser (the Electron binary cannot be downloaded everywhere).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const root = join(dirname(new URL(import.meta.url).pathname), '..');

function electronBinary() {
  try {
    const electronDir = dirname(require.resolve('electron/package.json'));
    const pathFile = join(electronDir, 'path.txt');
    if (!existsSync(pathFile)) return null;
    const binary = join(electronDir, 'dist', readFileSync(pathFile, 'utf8').trim());
    return existsSync(binary) ? binary : null;
  } catch {
    return null;
  }
}

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
  const electronDir = dirname(require.resolve('electron/package.json'));
  const fetched = spawnSync(process.execPath, [join(electronDir, 'install.js')], { stdio: 'inherit', timeout: 300_000 });
  binary = fetched.status === 0 ? electronBinary() : null;
}
if (binary) {
  run(binary, ['.'], { ...process.env, ATL_NODE: process.execPath });
} else {
  console.log('No Electron binary (offline, or --web): starting the studio in web mode in your browser instead.');
  run(process.execPath, [join(root, 'bin/atl-studio.mjs'), 'serve', '--open']);
}
