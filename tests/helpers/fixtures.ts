/** Shared test helpers: temp folders, the ../shared data the team keeps beside the checkout. */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';

export const REPO = resolve(__dirname, '../..');
export const SHARED = resolve(REPO, '../shared');
export const CIFAR10_MINI = join(SHARED, 'datasets/cifar10-mini');
export const OMNIGLOT_SMALL1 = join(SHARED, 'datasets/omniglot-small1');

export function tempDir(prefix = 'atl-test-'): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** The demo project's true shapes by file name: the demo draws its images from a fixed seed, so drawing them again tells. */
export async function demoShapesByFileName(): Promise<Map<string, string>> {
  const { writeDemoImages } = await import('../../src/main/services/demo-images');
  const scratch = tempDir('atl-demo-truth-');
  try {
    const shapes = await writeDemoImages(scratch.path, 24);
    return new Map([...shapes].map(([path, shape]) => [basename(path), shape]));
  } finally {
    scratch.remove();
  }
}

/** The first `perClass` images (by name) of each of `classes` from cifar10-mini, copied into `target/<class>/`. */
export function copyCifarClasses(target: string, classes: readonly string[], perClass: number): void {
  for (const c of classes) {
    mkdirSync(join(target, c), { recursive: true });
    for (const f of readdirSync(join(CIFAR10_MINI, c)).sort().slice(0, perClass)) copyFileSync(join(CIFAR10_MINI, c, f), join(target, c, f));
  }
}
