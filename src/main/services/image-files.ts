/**
 * Finding image files under what the user points at: the one folder walker, used by import and by
 * the bench's labeled folders, with the one rule for classes from folders: an image's class is
 * its parent folder's path relative to the root (`Greek/character01/x.png` → `Greek/character01`).
 */
import type { Dirent, Stats } from 'node:fs';
import { opendir, readlink, realpath, stat } from 'node:fs/promises';
import { dirname, extname, join, relative, sep } from 'node:path';
import type { ImportFailure } from '../../shared/contract';
import { errorMessage } from '../core/errors';
import { isInside } from '../core/paths';
import { IMAGE_EXTENSIONS, ImageRejected } from './image-decoding';

export interface ImageCandidate {
  path: string;
  /** Class from the folder structure (`Greek/character01`), or null. */
  folderClass: string | null;
}

/** The class an image's folders give it: its parent folder relative to `root`, with `/`; null directly in the root. */
export function folderClass(root: string, path: string): string | null {
  const folder = relative(root, dirname(path)).split(sep).join('/');
  return folder === '' ? null : folder;
}

/**
 * Walks a file or folder: image files become candidates, other regular files are counted as
 * skipped, and anything else (devices, FIFOs, sockets, broken links, link loops) is reported with
 * its reason, never opened. Symbolic links are followed after the real files and folders, so a
 * file reached both ways belongs to its own folder (the link counts as a duplicate); each folder
 * is read once, by its real path, and a link to a folder that holds it is a loop. Returns false
 * when the root itself cannot be imported.
 */
export async function scanImageFiles(
  root: string,
  labelsFromFolders: boolean,
  candidates: ImageCandidate[],
  failures: ImportFailure[],
  onSkipped: () => void,
  signal?: AbortSignal,
): Promise<boolean> {
  let rootInfo;
  try {
    rootInfo = await stat(root);
  } catch (error) {
    failures.push({ path: root, reason: failureReason(error) });
    return false;
  }
  if (rootInfo.isFile()) {
    // A file named explicitly is always tried, whatever its extension.
    candidates.push({ path: root, folderClass: null });
    return true;
  }
  if (!rootInfo.isDirectory()) {
    failures.push({ path: root, reason: notRegularReason(rootInfo) });
    return false;
  }
  const visited = new Set<string>(); // real paths of the folders read
  const links: string[] = []; // grows while linked folders are read
  const addFile = (path: string) => {
    if (!IMAGE_EXTENSIONS.has(extname(path).toLowerCase())) {
      onSkipped();
      return;
    }
    candidates.push({ path, folderClass: labelsFromFolders ? folderClass(root, path) : null });
  };
  const walk = async (dir: string): Promise<boolean> => {
    if (signal?.aborted) return true;
    let entries;
    try {
      visited.add(await realpath(dir));
      entries = await opendir(dir);
    } catch (error) {
      failures.push({ path: dir, reason: failureReason(error) });
      return false;
    }
    const files: string[] = [];
    const dirs: string[] = [];
    for await (const entry of entries) {
      if (entry.name.startsWith('.')) continue; // .DS_Store, .git, editor files
      const path = join(dir, entry.name);
      if (entry.isDirectory()) dirs.push(path);
      else if (entry.isFile()) files.push(path);
      else if (entry.isSymbolicLink()) links.push(path);
      else failures.push({ path, reason: notRegularReason(entry) });
    }
    files.sort();
    dirs.sort();
    for (const path of files) addFile(path);
    for (const path of dirs) await walk(path);
    return true;
  };
  if (!(await walk(root))) return false;
  links.sort();
  for (let i = 0; i < links.length && !signal?.aborted; i++) {
    const link = links[i];
    let target: Stats;
    try {
      target = await stat(link);
    } catch (error) {
      failures.push({ path: link, reason: await linkFailureReason(link, error) });
      continue;
    }
    if (target.isFile()) addFile(link);
    else if (!target.isDirectory()) failures.push({ path: link, reason: notRegularReason(target) });
    else {
      const real = await realpath(link);
      if (isInside(real, await realpath(dirname(link)))) {
        failures.push({ path: link, reason: `Link loop: leads to ${real}, a folder that holds the link; not followed` });
      } else if (visited.has(real)) {
        failures.push({ path: link, reason: `Link to a folder already read in this import (${real}); not read twice` });
      } else {
        await walk(link);
      }
    }
  }
  return true;
}

export function notRegularReason(info: Stats | Dirent): string {
  const kind =
    info.isCharacterDevice() || info.isBlockDevice()
      ? 'a device'
      : info.isFIFO()
        ? 'a named pipe (FIFO)'
        : info.isSocket()
          ? 'a socket'
          : 'an unknown kind of file';
  return `Not a regular file: ${kind}; only image files and folders are imported, and this is not read`;
}

async function linkFailureReason(link: string, error: unknown): Promise<string> {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ELOOP') return 'Link loop: the link leads back to itself; not followed';
  if (code === 'ENOENT') return `Broken link: its target ${await readlink(link).catch(() => '?')} does not exist`;
  return failureReason(error);
}

export function failureReason(error: unknown): string {
  if (error instanceof ImageRejected) return error.message;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'File or folder not found';
  if (code === 'EACCES' || code === 'EPERM') return 'Permission denied: the studio cannot read this path';
  if (code === 'EISDIR') return 'Is a folder, not a file';
  return `Cannot read: ${errorMessage(error)}`;
}
