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
const webMode = process.argv.includes('--web');
let binary = webMode ? null : electronBinary();
if (!binary && !webMode) {
  // Electron downloads its binary on first use (npm does not run its install script: allowScripts);
  // try once, and fall back to web mode where it cannot be fetched.
  console.log("Fetching Electron's binary (once)...");
  const fetched = spawnSync(process.execPath, [join(electronDir(), 'install.js')], {
    encoding: 'utf8',
    stdio: ['ignore', 'inherit', 'pipe'],
    timeout: 300_000,
  });
  binary = fetched.status === 0 ? electronBinary() : null;
  if (!binary) {
    console.error(`Electron's binary could not be downloaded (${downloadFailure(fetched)}; offline?): opening the studio in web mode in your browser instead.`);
  }
}
if (binary) {
  run(binary, ['.'], { ...process.env, ATL_NODE: process.execPath });
} else {
  run(process.execPath, [join(root, 'bin/atl-studio.mjs'), 'serve', '--open']);
}

/** Why Electron's installer failed, in its error's own words ("getaddrinfo ENOTFOUND github.com"), without its stack. */
function downloadFailure(result) {
  if (result.error) return result.error.code === 'ETIMEDOUT' ? 'no answer in 5 minutes' : result.error.message;
  const message = /^\w*Error: (.+)$/m.exec(result.stderr);
  return message ? message[1] : `its installer exited with code ${result.status}`;
}
