/**
 * Importing files and folders into a project. Bad files never stop an import: each goes into the
 * report with its reason. Results are written in small transactions as they come, so a crash
 * leaves a consistent project, and importing the same folders again completes it (images are
 * identified by the sha256 of their bytes, so nothing is imported twice).
 */
import { createHash } from 'node:crypto';
import { constants, type Dirent, type Stats } from 'node:fs';
import { open, opendir, readlink, realpath, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, dirname, extname, join, relative, resolve, sep } from 'node:path';
import type { ImportFailure, ImportReport } from '../../shared/contract';
import type { ClassService } from './class-service';
import { errorMessage } from '../core/errors';
import { isInside } from '../core/paths';
import { decodeForImport, IMAGE_EXTENSIONS, ImageRejected, MAX_FILE_BYTES, type DecodedImage } from './image-decoding';
import type { JobLeases } from './job-leases';
import type { LabelService } from './label-service';
import { nowIso, type ProjectDb } from './project-db';

export interface ImportOptions {
  roots: string[];
  labelsFromFolders: boolean;
  signal?: AbortSignal;
  onProgress?: (progress: ImportProgress) => void;
}

interface ImportCounts {
  found: number;
  done: number;
  imported: number;
  duplicates: number;
  failed: number;
  skipped: number;
}

export interface ImportProgress extends ImportCounts {
  importId: number;
  elapsedSeconds: number;
}


interface Candidate {
  path: string;
  /** Class from the folder structure (`Greek/character01`), or null. */
  folderClass: string | null;
}

type Outcome =
  | { kind: 'image'; candidate: Candidate; sha256: string; bytes: number; decoded: DecodedImage }
  | { kind: 'duplicate'; candidate: Candidate; sha256: string }
  | { kind: 'failed'; candidate: Candidate; reason: string };

const WRITE_BATCH = 64;
const PROGRESS_INTERVAL_MS = 200;

export class ImportService {
  constructor(
    private readonly db: ProjectDb,
    private readonly classes: ClassService,
    private readonly labels: LabelService,
    private readonly leases: JobLeases,
  ) {}

  /**
   * Imports left 'running' by a process that stopped (a crash, a kill) are marked so that their
   * report says what happened; those another live process runs are left alone.
   */
  markInterrupted(): void {
    this.db
      .transaction(() => {
        const running = (this.db.prepare("SELECT id FROM imports WHERE status = 'running'").all() as { id: number }[]).map((r) => r.id);
        const mark = this.db.prepare("UPDATE imports SET status = 'interrupted', finished_at = ? WHERE id = ?");
        for (const id of this.leases.abandoned('import', running)) mark.run(nowIso(), id);
      })
      .immediate();
  }

  async run(options: ImportOptions): Promise<ImportReport> {
    const started = Date.now();
    const roots = options.roots.map((root) => resolve(root));
    const importId = this.db.transaction(() => {
      const id = Number(
        this.db
          .prepare('INSERT INTO imports (started_at, roots, labels_from_folders, status) VALUES (?, ?, ?, ?)')
          .run(nowIso(), JSON.stringify(roots), options.labelsFromFolders ? 1 : 0, 'running').lastInsertRowid,
      );
      this.leases.hold('import', id);
      return id;
    })();
    const counts: ImportCounts = { found: 0, done: 0, imported: 0, duplicates: 0, failed: 0, skipped: 0 };
    const report = (): ImportProgress => ({ importId, ...counts, elapsedSeconds: (Date.now() - started) / 1000 });

    try {
      const candidates: Candidate[] = [];
      const scanFailures: ImportFailure[] = [];
      let unusableRoots = 0;
      for (const root of roots) {
        const usable = await scan(root, options.labelsFromFolders, candidates, scanFailures, () => counts.skipped++, options.signal);
        if (!usable) unusableRoots++;
      }
      // A path that cannot be imported at all is not a file found; what failed inside folders is.
      counts.found = candidates.length + scanFailures.length - unusableRoots;
      counts.failed = scanFailures.length;
      counts.done = scanFailures.length - unusableRoots;
      this.writeBatch(importId, [], scanFailures, counts);

      let lastProgress = 0;
      const pending: Outcome[] = [];
      // Files finish out of order; they are written in scan order, so "import order" means
      // the order of the folder, and the same sha256 twice is decided by the first file.
      const finished = new Map<number, Outcome>();
      let nextToWrite = 0;
      const flush = () => {
        const batch = pending.splice(0);
        this.writeBatch(importId, batch, [], counts);
        if (Date.now() - lastProgress >= PROGRESS_INTERVAL_MS) {
          lastProgress = Date.now();
          options.onProgress?.(report());
        }
      };

      await forEachConcurrently(candidates, availableParallelism() * 2, options.signal, async (candidate, index) => {
        const outcome = await this.examine(candidate);
        counts.done++;
        if (outcome.kind === 'failed') counts.failed++;
        finished.set(index, outcome);
        for (let next = finished.get(nextToWrite); next; next = finished.get(nextToWrite)) {
          pending.push(next);
          finished.delete(nextToWrite++);
        }
        if (pending.length >= WRITE_BATCH || Date.now() - lastProgress >= PROGRESS_INTERVAL_MS) flush();
      });
      flush();
      // One path given that cannot be imported (missing, not a file or folder) fails the import:
      // the files of the other paths are imported all the same.
      const status = options.signal?.aborted ? 'cancelled' : unusableRoots > 0 ? 'failed' : 'completed';
      this.db.prepare('UPDATE imports SET status = ?, finished_at = ? WHERE id = ?').run(status, nowIso(), importId);
    } catch (error) {
      this.db
        .prepare("UPDATE imports SET status = 'failed', finished_at = ? WHERE id = ?")
        .run(nowIso(), importId);
      this.db
        .prepare('INSERT INTO import_failures (import_id, path, reason) VALUES (?, ?, ?)')
        .run(importId, roots.join(', '), `Import stopped: ${errorMessage(error)}`);
      throw error;
    } finally {
      this.leases.release('import', importId);
      options.onProgress?.(report());
    }
    return this.report(importId);
  }

  reports(): ImportReport[] {
    const rows = this.db.prepare('SELECT id FROM imports ORDER BY id DESC').all() as { id: number }[];
    return rows.map((row) => this.report(row.id));
  }

  report(importId: number): ImportReport {
    const row = this.db.prepare('SELECT * FROM imports WHERE id = ?').get(importId) as {
      id: number;
      started_at: string;
      finished_at: string | null;
      roots: string;
      labels_from_folders: number;
      status: ImportReport['status'];
      found: number;
      imported: number;
      duplicates: number;
      skipped: number;
    };
    const failed = this.db
      .prepare('SELECT path, reason FROM import_failures WHERE import_id = ? ORDER BY id')
      .all(importId) as ImportFailure[];
    return {
      id: row.id,
      startedAt: row.started_at,
      finishedAt: row.finished_at,
      roots: JSON.parse(row.roots) as string[],
      labelsFromFolders: row.labels_from_folders === 1,
      status: row.status,
      found: row.found,
      imported: row.imported,
      duplicates: row.duplicates,
      failed,
      skipped: row.skipped,
    };
  }

  /** Reads, hashes and decodes one file; never throws. */
  private async examine(candidate: Candidate): Promise<Outcome> {
    try {
      const bytes = await readRegularFile(candidate.path);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      if (this.db.prepare('SELECT 1 FROM images WHERE sha256 = ?').get(sha256)) {
        return { kind: 'duplicate', candidate, sha256 }; // a re-import skips decoding
      }
      const decoded = await decodeForImport(bytes);
      return { kind: 'image', candidate, sha256, bytes: bytes.length, decoded };
    } catch (error) {
      return { kind: 'failed', candidate, reason: failureReason(error) };
    }
  }

  private writeBatch(importId: number, outcomes: Outcome[], scanFailures: ImportFailure[], counts: ImportCounts): void {
    const insertImage = this.db.prepare(
      `INSERT INTO images (sha256, original_path, file_name, width, height, format, bytes, imported_at, import_id, thumbnail)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(sha256) DO NOTHING`,
    );
    const imageId = this.db.prepare('SELECT id FROM images WHERE sha256 = ?');
    const insertFailure = this.db.prepare('INSERT INTO import_failures (import_id, path, reason) VALUES (?, ?, ?)');
    this.db.transaction(() => {
      for (const failure of scanFailures) insertFailure.run(importId, failure.path, failure.reason);
      for (const outcome of outcomes) {
        if (outcome.kind === 'failed') {
          insertFailure.run(importId, outcome.candidate.path, outcome.reason);
          continue;
        }
        if (outcome.kind === 'image') {
          const { decoded, candidate } = outcome;
          const inserted = insertImage.run(
            outcome.sha256, candidate.path, basename(candidate.path), decoded.width, decoded.height,
            decoded.format, outcome.bytes, nowIso(), importId, decoded.thumbnail,
          );
          if (inserted.changes === 1) counts.imported++;
          else counts.duplicates++; // the same bytes earlier in this import
        } else {
          counts.duplicates++;
        }
        // A duplicate that is still unlabeled gets its folder's class: this is how a re-import
        // completes an interrupted one.
        if (outcome.candidate.folderClass) {
          const { id } = imageId.get(outcome.sha256) as { id: number };
          this.labels.labelFromImport(id, this.classes.ensure(outcome.candidate.folderClass));
        }
      }
      this.db
        .prepare('UPDATE imports SET found = ?, imported = ?, duplicates = ?, skipped = ? WHERE id = ?')
        .run(counts.found, counts.imported, counts.duplicates, counts.skipped, importId);
    })();
  }
}

/**
 * Walks a file or folder: image files become candidates, other regular files are counted as
 * skipped, and anything else (devices, FIFOs, sockets, broken links, link loops) is reported with
 * its reason, never opened. Symbolic links are followed after the real files and folders, so a
 * file reached both ways belongs to its own folder (the link counts as a duplicate); each folder
 * is read once, by its real path, and a link to a folder that holds it is a loop. Returns false
 * when the root itself cannot be imported.
 */
async function scan(
  root: string,
  labelsFromFolders: boolean,
  candidates: Candidate[],
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
    const folder = relative(root, dirname(path)).split(sep).join('/');
    candidates.push({ path, folderClass: labelsFromFolders && folder !== '' ? folder : null });
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


/**
 * A regular file's bytes, never more than MAX_FILE_BYTES. Anything else (a device, a FIFO, a
 * socket) is refused before it is opened, and a file that grows while it is read is refused
 * rather than read without bound.
 */
async function readRegularFile(path: string): Promise<Buffer> {
  const checked = (info: Stats): Stats => {
    if (!info.isFile()) throw new ImageRejected(notRegularReason(info));
    if (info.size > MAX_FILE_BYTES) {
      throw new ImageRejected(`File is ${(info.size / 2 ** 20).toFixed(0)} MB, over the ${MAX_FILE_BYTES / 2 ** 20} MB limit`);
    }
    return info;
  };
  checked(await stat(path));
  // O_NONBLOCK: should the path have become a FIFO since, opening it does not wait for a writer.
  const handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    const { size } = checked(await handle.stat());
    // One byte more than its size: reading that byte means the file grew after the check.
    const buffer = Buffer.allocUnsafe(size + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break; // end of file
      length += bytesRead;
    }
    if (length > size) {
      throw new ImageRejected('File grew while it was read (is it still being written?): import it again once it is complete');
    }
    return buffer.subarray(0, length);
  } finally {
    await handle.close();
  }
}

function notRegularReason(info: Stats | Dirent): string {
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

/** Runs `task` over `items` with at most `limit` at once; stops starting new ones when aborted. */
async function forEachConcurrently<T>(
  items: T[],
  limit: number,
  signal: AbortSignal | undefined,
  task: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length && !signal?.aborted) {
      const index = next++;
      await task(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

function failureReason(error: unknown): string {
  if (error instanceof ImageRejected) return error.message;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'File or folder not found';
  if (code === 'EACCES' || code === 'EPERM') return 'Permission denied: the studio cannot read this path';
  if (code === 'EISDIR') return 'Is a folder, not a file';
  return `Cannot read: ${errorMessage(error)}`;
}
