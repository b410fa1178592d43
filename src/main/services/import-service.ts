/**
 * Importing files and folders into a project. Bad files never stop an import: each goes into the
 * report with its reason. Results are written in small transactions as they come, so a crash
 * leaves a consistent project, and importing the same folders again completes it (images are
 * identified by the sha256 of their bytes, so nothing is imported twice).
 */
import { createHash } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, resolve } from 'node:path';
import type { ImportFailure, ImportReport } from '../../shared/contract';
import type { ClassService } from './class-service';
import { errorMessage } from '../core/errors';
import { ReorderBuffer } from '../core/reorder-buffer';
import { decodeForImport, ImageRejected, MAX_FILE_BYTES, type DecodedImage } from './image-decoding';
import { failureReason, notRegularReason, scanImageFiles, type ImageCandidate } from './image-files';
import type { JobLeases } from './job-leases';
import type { LabelService } from './label-service';
import { nowIso, type ProjectDb } from './project-db';

export interface ImportOptions {
  roots: string[];
  labelsFromFolders: boolean;
  signal?: AbortSignal;
  onProgress?: (progress: ImportProgress) => void;
  /** Files finished after a slow one that may wait for it (`IMPORT_REORDER_WINDOW` unless a test sets it). */
  reorderWindow?: number;
}

/**
 * Files finished after a slow one that wait for it, to be written in folder order: about half a
 * second of an import at the 400–560 files/s bench:scale measures here, each a thumbnail of a few
 * KB in memory. Past that, they are written without it. Chosen, not tuned on any data set.
 */
export const IMPORT_REORDER_WINDOW = 256;

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


type Candidate = ImageCandidate;

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
        const usable = await scanImageFiles(root, options.labelsFromFolders, candidates, scanFailures, () => counts.skipped++, options.signal);
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
      // the order of the folder, and the same sha256 twice is decided by the first file. A file
      // far slower than the rest (a huge image, a disk waking up) goes after the files that
      // finished meanwhile, so that memory stays bounded and the grid keeps filling.
      const inOrder = new ReorderBuffer<Outcome>(options.reorderWindow ?? IMPORT_REORDER_WINDOW);
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
        pending.push(...inOrder.add(index, outcome));
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
