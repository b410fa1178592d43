/**
 * For an export run on a machine with no network: copies the packages predict.mjs imports, and
 * everything they depend on, from the studio's own node_modules into the export's node_modules,
 * in the same layout (so Node resolves them, and native libraries find each other, as they do in
 * the studio). Native binaries for other platforms and source maps are left out.
 */
import { cpSync, existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { StudioError } from '../core/errors';

/** onnxruntime-node ships its native libraries per platform, in bin/napi-v6/<platform>/<arch>. */
const NATIVE_BINARIES = /^bin[\\/]napi-v\d+[\\/]([^\\/]+)(?:[\\/]([^\\/]+))?/;

/** Source maps only serve debuggers: they are 40 % of the TF.js packages. */
const SOURCE_MAP = /\.[cm]?js\.map$/;

/** Whether a path inside a package is needed to run it on this platform. */
function neededHere(pathInPackage: string): boolean {
  if (SOURCE_MAP.test(pathInPackage)) return false;
  const match = NATIVE_BINARIES.exec(pathInPackage);
  if (!match) return true;
  const [, platform, arch] = match;
  return platform === process.platform && (arch === undefined || arch === process.arch);
}

/** The folder of package `name` as Node would resolve it from `from`, looking no higher than `root`. */
function findPackage(name: string, from: string, root: string): string | null {
  for (let folder = from; ; folder = dirname(folder)) {
    const candidate = join(folder, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (folder === root || !folder.startsWith(root)) return null;
  }
}

/** Copies `names` and their dependencies (optional ones where installed) from `root`/node_modules into `exportDir`/node_modules. */
export function copyRuntimePackages(names: string[], root: string, exportDir: string): void {
  const copied = new Set<string>();
  const visit = (name: string, from: string, optional: boolean) => {
    const folder = findPackage(name, from, root);
    if (!folder) {
      if (optional) return; // another platform's binary package, not installed here
      throw new StudioError('not_found', `${name} is not installed beside the studio (${join(root, 'node_modules')}): export without the runtime, and run npm install where the export is used`);
    }
    if (copied.has(folder)) return;
    copied.add(folder);
    // A package's own node_modules holds its nested dependencies: those are copied when visited as dependencies.
    cpSync(folder, join(exportDir, relative(root, folder)), {
      recursive: true,
      dereference: true,
      filter: (source) => {
        const inside = relative(folder, source);
        return !inside.split(sep).includes('node_modules') && neededHere(inside);
      },
    });
    const manifest = JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
    for (const dependency of Object.keys(manifest.dependencies ?? {})) visit(dependency, folder, false);
    for (const dependency of Object.keys(manifest.optionalDependencies ?? {})) visit(dependency, folder, true);
  };
  for (const name of names) visit(name, root, false);
}
