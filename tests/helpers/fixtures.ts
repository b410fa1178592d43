/** Shared test helpers: temp folders, the ../shared data the team keeps beside the checkout. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO = resolve(__dirname, '../..');
export const SHARED = resolve(REPO, '../shared');
export const CIFAR10_MINI = join(SHARED, 'datasets/cifar10-mini');
export const OMNIGLOT_SMALL1 = join(SHARED, 'datasets/omniglot-small1');

export function tempDir(prefix = 'atl-test-'): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
