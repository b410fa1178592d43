/**
 * The folder an export is written to, kept safe: an export never deletes or replaces a file it
 * did not write. Each export carries a marker (.atl-export.json) listing every file it wrote with
 * its size and sha256; only a folder that is empty, or holds exactly what its marker lists, may be
 * replaced. The new export is written into a staging folder beside the target and swapped in with
 * renames (target → backup, staging → target, then the backup removed), under a lock file beside
 * the target that names the staging and backup folders first: a run killed at any moment leaves the
 * old export or the new one whole, and the next run puts a lone backup back and removes the rest.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, lstatSync, openSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';
import { z } from 'zod';
import { StudioError } from '../core/errors';

const MARKER = '.atl-export.json';

const MarkedFile = z.object({ name: z.string(), bytes: z.number(), sha256: z.string() });
type MarkedFile = z.infer<typeof MarkedFile>;
const Marker = z.object({ writer: z.literal('ATL Studio'), version: z.string(), exportedAt: z.string(), files: z.array(MarkedFile) });

/** Where the lock, staging and backup of an export into `dir` live: beside it, hidden, named after it. */
function sideNames(dir: string) {
  const prefix = join(dirname(dir), `.${basename(dir)}.atl-`);
  return { lock: `${prefix}export.lock`, stagingPrefix: `${prefix}staging-`, backupPrefix: `${prefix}backup-` };
}

/** The files under `dir` (relative, '/'-separated), its empty folders, and what else is there (links, devices). */
function walk(dir: string): { files: string[]; emptyFolders: string[]; others: string[] } {
  const files: string[] = [];
  const emptyFolders: string[] = [];
  const others: string[] = [];
  const visit = (folder: string) => {
    const entries = readdirSync(folder, { withFileTypes: true });
    if (entries.length === 0 && folder !== dir) emptyFolders.push(`${relativeName(dir, folder)}/`);
    for (const entry of entries) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) visit(path);
      else if (entry.isFile()) files.push(relativeName(dir, path));
      else others.push(relativeName(dir, path));
    }
  };
  visit(dir);
  return { files: files.sort(), emptyFolders, others };
}

function relativeName(root: string, path: string): string {
  return relative(root, path).split(sep).join('/');
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function readMarker(dir: string): MarkedFile[] | null {
  try {
    return Marker.parse(JSON.parse(readFileSync(join(dir, MARKER), 'utf8'))).files;
  } catch {
    return null;
  }
}

/**
 * What in `dir` an export did not write, or changed since: nothing for an empty folder or an
 * untouched export. `allowMissing` accepts an export with some of its files (and folders) already
 * removed: a backup whose removal was cut short.
 */
function foreignEntries(dir: string, allowMissing = false): string[] {
  const marked = readMarker(dir);
  // No marker: nothing here is ours, and the folder is not walked (it may be large: a home folder).
  if (!marked) return readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? `${e.name}/` : e.name));
  const { files, emptyFolders, others } = walk(dir);
  const byName = new Map(marked.map((f) => [f.name, f]));
  const foreign = allowMissing ? [...others] : [...others, ...emptyFolders];
  for (const name of files) {
    if (name === MARKER) continue;
    const mark = byName.get(name);
    if (!mark) foreign.push(name);
    else if (statSync(join(dir, name)).size !== mark.bytes || sha256(join(dir, name)) !== mark.sha256) foreign.push(`${name} (changed since the export)`);
  }
  if (!allowMissing) {
    const present = new Set(files);
    for (const f of marked) if (!present.has(f.name)) foreign.push(`${f.name} (missing)`);
  }
  return foreign;
}

/** Names a few entries, folding a folder's contents into the folder (node_modules/, not its thousand files). */
function describeEntries(entries: string[]): string {
  const folded = [...new Set(entries.map((e) => (e.includes('/') && !e.includes(' (') ? `${e.split('/')[0]}/` : e)))];
  return folded.slice(0, 8).join(', ') + (folded.length > 8 ? ` and ${folded.length - 8} more` : '');
}

/** Refuses a target the export may not replace (before any work, and again under the lock). */
export function checkExportTarget(dir: string): void {
  if (!existsSync(dirname(dir))) throw new StudioError('invalid_input', `The folder ${dirname(dir)} does not exist: create it or choose another`);
  let stats;
  try {
    stats = lstatSync(dir);
  } catch {
    return; // a new folder
  }
  if (stats.isSymbolicLink()) throw new StudioError('invalid_input', `${dir} is a link: choose the folder it points to, or a new folder`);
  if (!stats.isDirectory()) throw new StudioError('invalid_input', `${dir} is a file: choose a folder`);
  const foreign = foreignEntries(dir);
  if (foreign.length > 0) {
    throw new StudioError(
      'conflict',
      `${dir} holds files that ATL Studio did not write or that changed since: ${describeEntries(foreign)}. Nothing was changed. ` +
        'Export into a new or empty folder, or move those files out first.',
    );
  }
}

/** The marker for the files in `staging` (all written by this export). */
function writeMarker(staging: string, version: string): void {
  const files = walk(staging).files.map((name) => ({ name, bytes: statSync(join(staging, name)).size, sha256: sha256(join(staging, name)) }));
  writeFileSync(join(staging, MARKER), `${JSON.stringify({ writer: 'ATL Studio', version, exportedAt: new Date().toISOString(), files }, null, 2)}\n`);
}

/**
 * Removes an export folder the studio wrote (or an empty one): its files, all listed in its
 * marker, then its emptied folders, and the marker last, so that a removal cut short still leaves
 * a folder recognized as ours. A folder holding anything else is kept whole; returns false then.
 */
function removeExport(folder: string): boolean {
  if (foreignEntries(folder, true).length > 0) return false;
  try {
    for (const name of walk(folder).files) if (name !== MARKER) rmSync(join(folder, name));
    for (const entry of readdirSync(folder, { withFileTypes: true })) if (entry.isDirectory()) removeEmptyFolders(join(folder, entry.name));
    rmSync(join(folder, MARKER), { force: true });
    rmdirSync(folder);
    return true;
  } catch {
    return false; // something appeared in it meanwhile: it stays
  }
}

/** rmdir from the leaves up (the folders emptied by removeExport). */
function removeEmptyFolders(folder: string): void {
  for (const entry of readdirSync(folder, { withFileTypes: true })) if (entry.isDirectory()) removeEmptyFolders(join(folder, entry.name));
  rmdirSync(folder);
}

const Journal = z.object({ pid: z.number(), staging: z.string(), backup: z.string() });
type Journal = z.infer<typeof Journal>;

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Finishes what a killed export into `dir` left: a backup with no target is put back, a backup
 * beside a target removed (if it is still an export), the staging folder removed. Only folders
 * named like ours and named in our own lock file are touched.
 */
function recover(dir: string, journal: Journal | null): void {
  if (!journal) return;
  const names = sideNames(dir);
  const { backup, staging } = journal;
  if (isNamed(backup, names.backupPrefix) && existsSync(backup)) {
    if (!existsSync(dir)) renameSync(backup, dir);
    else removeExport(backup);
  }
  if (isNamed(staging, names.stagingPrefix) && existsSync(staging)) rmSync(staging, { recursive: true, force: true });
}

/** Whether `path` is `prefix` followed by a suffix of ours (so a tampered lock file cannot point elsewhere). */
function isNamed(path: string, prefix: string): boolean {
  return path.startsWith(prefix) && /^\d+-[a-z0-9]+$/.test(path.slice(prefix.length));
}

/**
 * Writes a new export into `dir` with `write(staging)`, then swaps it in. One export into a
 * folder at a time, across processes: the lock beside it names the live process that holds it.
 */
export async function replaceAtomically(dir: string, version: string, write: (staging: string) => Promise<void>): Promise<void> {
  const names = sideNames(dir);
  const suffix = `${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  const journal: Journal = { pid: process.pid, staging: `${names.stagingPrefix}${suffix}`, backup: `${names.backupPrefix}${suffix}` };
  takeLock(dir, names.lock, journal);
  try {
    checkExportTarget(dir);
    await write(journal.staging);
    writeMarker(journal.staging, version);
    if (!existsSync(dir)) renameSync(journal.staging, dir);
    else {
      renameSync(dir, journal.backup);
      renameSync(journal.staging, dir);
      if (!removeExport(journal.backup)) {
        throw new StudioError('conflict', `The export is in ${dir}; the folder it replaced changed while exporting and was kept as ${journal.backup}`);
      }
    }
  } finally {
    try {
      // After a failure: the old folder back in place if it was moved aside, and no staging left.
      recover(dir, journal);
    } finally {
      unlinkSync(names.lock);
    }
  }
}

/** Creates the lock file (exclusively) holding `journal`; a lock left by a killed process is recovered first. */
function takeLock(dir: string, lock: string, journal: Journal): void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lock, 'wx');
      try {
        writeFileSync(fd, JSON.stringify(journal));
      } finally {
        closeSync(fd);
      }
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new StudioError('io', `Cannot write beside ${dir} (${(error as Error).message}): choose a folder in a place you can write to`);
      }
    }
    let held: Journal | null = null;
    try {
      held = Journal.parse(JSON.parse(readFileSync(lock, 'utf8')));
    } catch {
      // Empty or torn: its writer died between creating and writing it, before making any folder.
    }
    if (held && isRunning(held.pid)) {
      throw new StudioError('conflict', `Another export into ${dir} is running (process ${held.pid}): wait for it to finish`);
    }
    recover(dir, held);
    rmSync(lock, { force: true });
  }
  throw new StudioError('conflict', `Another export into ${dir} started at the same time: try again`);
}
